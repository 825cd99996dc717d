"""SLA clocks across weekends, holidays, DST and pauses."""

from __future__ import annotations

from datetime import timedelta

from policies import PolicySet, sla_clock
from policies.timeutil import parse_instant


def b(text: str):
    return parse_instant(text + " Europe/Berlin")


def test_around_the_clock_with_warning_threshold() -> None:
    start = b("2026-12-05 03:00")
    c = sla_clock(timedelta(hours=4), None, start, (), start + timedelta(hours=3), 0.8)
    assert not c.warning and not c.breached
    assert c.warn_at == start + timedelta(minutes=192)
    assert c.due_at == start + timedelta(hours=4)
    c = sla_clock(timedelta(hours=4), None, start, (), start + timedelta(minutes=200), 0.8)
    assert c.warning and not c.breached and c.remaining == timedelta(minutes=40)
    c = sla_clock(timedelta(hours=4), None, start, (), start + timedelta(hours=5), 0.8)
    assert c.breached and c.remaining == timedelta(hours=-1)


def test_business_hours_skip_the_weekend(examples: PolicySet) -> None:
    cal = examples.calendars["business-de"]
    start = b("2026-12-18 16:00")  # Friday, one business hour left
    c = sla_clock(timedelta(hours=2), cal, start, (), b("2026-12-19 12:00"))
    assert c.elapsed == timedelta(hours=1) and not c.breached
    assert c.due_at == b("2026-12-21 10:00")  # Monday


def test_business_hours_skip_holidays(examples: PolicySet) -> None:
    cal = examples.calendars["business-de"]
    # Wed 23 Dec 16:30; 24 Dec is an explicit holiday, 25 and 26 are German ones, then a weekend.
    start = b("2026-12-23 16:30")
    c = sla_clock(timedelta(hours=2), cal, start, (), b("2026-12-27 12:00"))
    assert c.elapsed == timedelta(minutes=30)
    assert c.due_at == b("2026-12-28 10:30")


def test_business_hours_across_dst(examples: PolicySet) -> None:
    cal = examples.calendars["business-de"]
    c = sla_clock(timedelta(hours=2), cal, b("2026-03-27 16:00"), (), b("2026-03-27 16:00"))
    assert c.due_at == b("2026-03-30 10:00")  # 08:00 UTC, CEST


def test_pauses_stop_the_clock(examples: PolicySet) -> None:
    cal = examples.calendars["business-de"]
    start = b("2026-12-07 09:00")  # Monday
    pauses = [(b("2026-12-07 10:00"), b("2026-12-07 12:00"))]
    c = sla_clock(timedelta(hours=4), cal, start, pauses, b("2026-12-07 13:00"))
    assert c.elapsed == timedelta(hours=2) and c.due_at == b("2026-12-07 15:00")
    # a pause still open: elapsed frozen, due computed as if it ended now
    open_pause = [(b("2026-12-07 10:00"), None)]
    c = sla_clock(timedelta(hours=4), cal, start, open_pause, b("2026-12-07 11:00"))
    assert c.paused and c.elapsed == timedelta(hours=1) and c.due_at == b("2026-12-07 14:00")
    # stopping the clock (e.g. the ack) freezes elapsed time
    c = sla_clock(timedelta(hours=4), cal, start, (), b("2026-12-08 17:00"),
                  stopped_at=b("2026-12-07 10:30"))
    assert c.elapsed == timedelta(minutes=90) and c.stopped and not c.breached
