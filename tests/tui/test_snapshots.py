"""The main screens at 80x24 and 160x48, frozen clock and fixed data."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

import policies
from console.store.store import Store

from .conftest import make_app, settle

SCREENS = {"queue": [], "incident": ["enter"], "oncall": ["3"], "handoff": ["4"], "peers": ["5"],
           "policies": ["6"], "reports": ["7"], "help": ["question_mark"]}


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
        assert snap_compare(make_app(store, shown), terminal_size=size, run_before=run_before)
    finally:
        store.close()
