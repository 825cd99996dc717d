"""A store with injected time and a two-region follow-the-sun group: Jakarta hands to Berlin at 09:00Z."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from console.domain.commands import Change
from console.domain.vocabulary import Kind
from console.engine.adapter import to_ms
from console.notify.dispatcher import recorded
from console.store.store import Store
from policies import PolicySet
from tests.engine.conftest import Clock as EngineClock
from tests.engine.conftest import load_policies as load
from tests.engine.conftest import receiver  # noqa: F401  (the same webhook receiver fixture)

# Before Berlin's DST change: Jakarta (UTC+7) is on duty 01:00Z-09:00Z, Berlin (UTC+1) 09:00Z-01:00Z.
T0 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def policy_text(webhook: str = "http://127.0.0.1:9/none") -> str:
    return textwrap.dedent(f"""
    [[people]]
    id = "ayu"
    name = "Ayu"
    time_zone = "Asia/Jakarta"

    [[people]]
    id = "anna"
    name = "Anna"
    time_zone = "Europe/Berlin"

    [[people]]
    id = "lena"
    name = "Lena"
    time_zone = "Europe/Berlin"
    contacts = {{ webhook = "{webhook}" }}
    [people.notify]
    high = [{{ channel = "console" }}, {{ channel = "webhook" }}]

    [[schedules]]
    id = "sre-jakarta"
    time_zone = "Asia/Jakarta"
    [[schedules.layers]]
    rotation = "daily"
    start = 2026-01-05
    members = ["ayu"]

    [[schedules]]
    id = "sre-berlin"
    time_zone = "Europe/Berlin"
    [[schedules.layers]]
    rotation = "daily"
    start = 2026-01-05
    members = ["anna"]

    [[follow_the_sun]]
    id = "sre"
    [[follow_the_sun.regions]]
    name = "jakarta"
    time_zone = "Asia/Jakarta"
    working_hours = {{ from = "08:00", to = "16:00" }}
    schedule = "sre-jakarta"
    [[follow_the_sun.regions]]
    name = "berlin"
    time_zone = "Europe/Berlin"
    working_hours = {{ from = "10:00", to = "02:00" }}
    schedule = "sre-berlin"

    [[handoffs]]
    group = "sre"
    draft_before = "30m"
    ack_timeout = "20m"
    leads = {{ berlin = "lena" }}

    [[sla]]
    priority = "P1"
    ack = "5m"
    resolve = "4h"
    update_interval = "30m"

    [[sla]]
    priority = "P3"
    ack = "12h"
    resolve = "3d"

    [[maintenance]]
    id = "db-upgrade"
    reason = "Postgres 17"
    services = ["postgres-*"]
    start = 2026-03-02T20:00:00Z
    end = 2026-03-02T22:00:00Z

    [[maintenance]]
    id = "later"
    services = ["postgres-*"]
    start = 2026-03-04T20:00:00Z
    end = 2026-03-04T22:00:00Z
    """)


@dataclass
class Clock(EngineClock):
    """The engine tests' clock, starting at midnight, that can also jump to a time of day."""

    now: datetime = T0

    def at(self, hour: int, minute: int = 0, second: int = 0) -> datetime:
        self.now = datetime(2026, 3, 2, hour, minute, second, tzinfo=UTC)
        return self.now


def page(store: Store, key: str, level: int, people: list[str], at: datetime) -> None:
    """An escalation step as the engine records it."""
    state = store.get(key)
    store.act(key, "engine", recorded([Change(Kind.ESCALATE, {
        "epoch": state.epoch, "loop": 0, "level": level, "reason": f"paged {', '.join(people)}",
        "at_ms": to_ms(at), "pages": [[p, "console"] for p in people]})]))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store.open(f"sqlite:///{tmp_path / 'jkt.db'}", site_name="JKT", physical=clock.ms) as s:
        yield s


@pytest.fixture
def ps(tmp_path: Path) -> PolicySet:
    return load(tmp_path / "policies", policy_text())


def fields(row: Any, *names: str) -> tuple[Any, ...]:
    return tuple(getattr(row, n) for n in names)
