"""The console in Bahasa Indonesia (`sunrelay --lang id console`): the queue, the key
hints, a confirmation and the header in Indonesian, and English again once the
language is put back; the queue at 80x24 in Indonesian, where the words run longer."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

import policies
from console import i18n
from console.store.store import Store
from console.tui.screens.modals import ConfirmScreen
from console.tui.services.status import Services, sync_text
from console.tui.widgets.key_hints import KeyHints

from .conftest import header, make_app, settle, texts
from .test_snapshots import services


@pytest.fixture
def lang() -> Iterator[None]:
    """The language is process-wide: put back the one the tests after this expect."""
    before = i18n.language()
    yield
    i18n.select(before)


def hints(app: Any) -> str:
    return str(app.screen.query_one(KeyHints).content)


def queue_text(app: Any) -> str:
    table = app.screen.table
    return "\n".join(table.render_line(y).text for y in range(4))


async def test_the_console_in_indonesian_then_english_again(
        store: Store, policy_set: policies.PolicySet, lang: None) -> None:
    i18n.select("id")
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = queue_text(app)
        assert "KUNCI" in shown and "JUDUL" in shown and "UMUR" in shown
        assert "PICU" in shown  # a triggered incident's status, four cells
        assert "Semua terbuka" in texts(app) and "ditampilkan" in texts(app)
        assert "Saring" in hints(app) and "Keluar" in hints(app)
        assert "SIAGA" in header(app)  # budi holds the Jakarta pager
        await pilot.press("space", "space")  # two marked: acting on both asks first
        await pilot.press("a")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.question == "Ack 2 insiden?"
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert "Tombol (esc menutup)" in texts(app) and "Saring" in texts(app)
        await pilot.press("escape", "enter")  # the incident screen
        await settle(pilot)
        assert "Linimasa" in texts(app) and "dipicu" in texts(app)


    i18n.select("en")
    app = make_app(store, policy_set)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        shown = queue_text(app)
        assert "KEY" in shown and "TITLE" in shown and "KUNCI" not in shown
        assert "Filter" in hints(app) and "Quit" in hints(app)
        assert "All open" in texts(app)


def test_sync_state_in_each_language(policy_set: policies.PolicySet, lang: None) -> None:
    peers = services(policy_set).peers
    i18n.select("id")
    assert sync_text(peers) == "NYC offline sejak 02.55Z, 3 op menunggu"
    assert Services().sync == "belum dikonfigurasi"
    i18n.select("en")
    assert sync_text(peers) == "NYC offline since 02:55Z, 3 ops waiting"


def test_queue_in_indonesian_at_80x24(snap_compare: Any, db_path: Path,
                                      policy_set: policies.PolicySet, lang: None) -> None:
    i18n.select("id")
    store = Store.open(f"sqlite:///{db_path}")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)

    shown = dataclasses.replace(policy_set, source_dir="policies/examples")
    try:
        assert snap_compare(make_app(store, shown, services=services(shown)), terminal_size=(80, 24),
                            run_before=run_before)
    finally:
        store.close()
