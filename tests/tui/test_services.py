"""The console's data layer without Textual: deadlines, business time, the filter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import policies
from console.tui.model import countdown
from console.tui.services.queue import BusinessClock, parse_filter
from policies.calendars import add

from .conftest import EXAMPLES

PS = policies.load(EXAMPLES)
BASE = datetime(2026, 3, 1, tzinfo=UTC)


@settings(max_examples=150, deadline=None)
@given(calendar=st.sampled_from([None, "business-de", "business-us", "business-id"]),
       offsets=st.lists(st.integers(0, 90 * 86400), min_size=1, max_size=8),
       minutes=st.sampled_from([1, 15, 60, 240, 480, 4320, 14400]))
def test_business_clock_agrees_with_calendars_add(
        calendar: str | None, offsets: list[int], minutes: int) -> None:
    cal = PS.calendars.get(calendar) if calendar else None
    clock = BusinessClock(cal, BASE)
    goal = timedelta(minutes=minutes)
    for offset in offsets:  # in any order: the span list grows as needed
        start = BASE + timedelta(seconds=offset)
        assert clock.add(start, goal) == add(cal, start, goal, [])


def test_filter_language() -> None:
    f = parse_filter("s:1,sev2 p:p1 svc:pay* team:db st:ack me disk full")
    assert f.severities == {"sev1", "sev2"} and f.priorities == {"P1"}
    assert f.services == ("pay*",) and f.teams == ("db",) and f.statuses == ("ack",)
    assert f.mine and f.words == ("disk", "full")
    assert parse_filter("").empty


def test_countdown_formats() -> None:
    assert countdown(271) == "04:31"
    assert countdown(-130) == "-02:10"
    assert countdown(3 * 3600 + 300) == "3h05m"
    assert countdown(2 * 86400 + 4 * 3600) == "2d04h"
