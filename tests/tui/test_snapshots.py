"""The main screens at 80x24 and 160x48, frozen clock and fixed data; the services
beside the console (engine, sync, peers) are injected, as a Node would report them."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

import policies
from console.replication import PeerView
from console.store.store import Store
from console.tui.services.status import Services, sync_text
from sync.service import PeerStatus

from .conftest import NOW, make_app, settle

SCREENS = {"queue": [], "incident": ["enter"], "oncall": ["3"], "handoff": ["4"], "peers": ["5"],
           "policies": ["6"], "reports": ["7"], "help": ["question_mark"]}


def services(ps: policies.PolicySet) -> Services:
    """Berlin online with the same policy set; New York offline for a quarter of an
    hour, on another policy set, with three of this console's ops waiting for it."""
    at = NOW.timestamp()
    peers = (
        PeerView(PeerStatus("BER", True, at - 600, last_ok=at - 4, lag=0, offset_ms=12.0),
                 "http://127.0.0.1:8766", ps.digest, 0),
        PeerView(PeerStatus("NYC", False, at - 900, last_ok=at - 905, failures=6,
                            error="http://127.0.0.1:8767: connection refused", lag=0, offset_ms=-830.0),
                 "http://127.0.0.1:8767", "9a1c77e0b5d2f4aa", 3),
    )
    return Services("running", sync_text(peers), sync_text(peers, short=True),
                    "serving on http://127.0.0.1:8765", peers, 12)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("screen", list(SCREENS))
def test_screen(snap_compare: Any, db_path: Path, policy_set: policies.PolicySet,
                screen: str, size: tuple[int, int]) -> None:
    store = Store.open(f"sqlite:///{db_path}")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in SCREENS[screen]:
            await pilot.press(key)
            await settle(pilot)
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False

    # The screen names the directory the set came from; where the checkout lives
    # must not change the picture.
    shown = dataclasses.replace(policy_set, source_dir="policies/examples")
    try:
        assert snap_compare(make_app(store, shown, services=services(shown)), terminal_size=size,
                            run_before=run_before)
    finally:
        store.close()
