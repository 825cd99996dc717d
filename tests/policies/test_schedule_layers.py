"""Layer precedence, restrictions, holidays, temporary schedules and overrides."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from policies import PolicySet, ShiftOverride, on_call, shifts
from policies.timeutil import parse_instant

from .conftest import PEOPLE

SCHED = PEOPLE + """
[[schedules]]
id = "s"
time_zone = "Europe/Berlin"
holidays = { country = "DE", subdivision = "BE", dates = [2026-12-28] }

[[schedules.layers]]
name = "base"
rotation = "weekly"
start = 2026-11-30
handoff = "10:00"
members = ["alice", "bob"]

[[schedules.layers]]
name = "office"
rotation = "daily"
start = 2026-11-30
handoff = "09:00"
members = ["carol"]
restrictions = [{ days = ["mon", "tue", "wed", "thu", "fri"], from = "09:00", to = "17:00" }]
holidays = "skip"

[[schedules.layers]]
name = "holiday cover"
rotation = "daily"
start = 2026-11-30
members = ["dave"]
restrictions = [{ from = "12:00", to = "14:00" }]
holidays = "only"

[[schedules.overrides]]
start = "2026-12-09 12:00 Europe/Berlin"
end = "2026-12-09 13:00 Europe/Berlin"
user = "dave"

[[schedules.overrides]]
start = "2026-12-10 00:00 Europe/Berlin"
end = "2026-12-11 00:00 Europe/Berlin"
user = "dave"
replaces = "bob"

[[schedules.temporary]]
start = "2026-12-31 18:00 Europe/Berlin"
end = "2027-01-01 06:00 Europe/Berlin"
shifts = [
  { start = "2026-12-31 18:00 Europe/Berlin", end = "2027-01-01 00:00 Europe/Berlin", people = ["alice"] },
  { start = "2026-12-31 22:00 Europe/Berlin", end = "2027-01-01 02:00 Europe/Berlin", people = ["carol"] },
]
"""


def at(text: str) -> datetime:
    return parse_instant(text + " Europe/Berlin")


def test_later_layers_win_where_they_overlap(make_ps: Callable[..., PolicySet]) -> None:
    s = make_ps(SCHED).schedules["s"]
    assert on_call(s, at("2026-12-01 08:59")) == ("alice",)
    assert on_call(s, at("2026-12-01 09:00")) == ("carol",)  # office layer above base
    assert on_call(s, at("2026-12-01 16:59")) == ("carol",)
    assert on_call(s, at("2026-12-01 17:00")) == ("alice",)
    assert on_call(s, at("2026-12-05 12:00")) == ("alice",)  # Saturday: restriction excludes
    assert on_call(s, at("2026-12-07 09:59")) == ("carol",)
    assert on_call(s, at("2026-12-07 17:00")) == ("bob",)  # weekly hand-off was Monday 10:00
    assert on_call(s, at("2026-12-06 23:00")) == ("alice",)
    assert on_call(s, at("2026-12-07 09:30")) == ("carol",)


def test_holidays_skip_and_only(make_ps: Callable[..., PolicySet]) -> None:
    s = make_ps(SCHED).schedules["s"]
    # 2026-12-25 (Friday) is a German holiday: the office layer is skipped...
    assert on_call(s, at("2026-12-25 10:00")) in (("alice",), ("bob",))
    # ...and the holiday-only layer covers 12-14 on top.
    assert on_call(s, at("2026-12-25 12:30")) == ("dave",)
    assert on_call(s, at("2026-12-24 12:30")) == ("carol",)  # Christmas Eve: not a holiday in BE
    assert on_call(s, at("2026-12-28 12:30")) == ("dave",)  # explicit extra date


def test_overrides_replace_or_cover(make_ps: Callable[..., PolicySet]) -> None:
    s = make_ps(SCHED).schedules["s"]
    assert on_call(s, at("2026-12-09 12:30")) == ("dave",)  # full cover without `replaces`
    assert on_call(s, at("2026-12-09 13:00")) == ("carol",)
    # Dec 10: dave replaces bob only while bob is on call (not during carol's office hours)
    assert on_call(s, at("2026-12-10 07:00")) == ("dave",)
    assert on_call(s, at("2026-12-10 10:00")) == ("carol",)


def test_temporary_schedule_replaces_all_layers_for_its_span(make_ps: Callable[..., PolicySet]) -> None:
    s = make_ps(SCHED).schedules["s"]
    assert on_call(s, at("2026-12-31 19:00")) == ("alice",)
    assert on_call(s, at("2026-12-31 23:00")) == ("alice", "carol")
    assert on_call(s, at("2027-01-01 01:00")) == ("carol",)
    assert on_call(s, at("2027-01-01 03:00")) == ()  # a gap inside a temporary schedule is a gap
    assert on_call(s, at("2027-01-01 06:00")) != ()


def test_runtime_overrides_apply_last(make_ps: Callable[..., PolicySet]) -> None:
    s = make_ps(SCHED).schedules["s"]
    swap = ShiftOverride("s", at("2026-12-01 08:00"), at("2026-12-01 10:00"), "bob", replaces="alice")
    other = ShiftOverride("other", at("2026-12-01 00:00"), at("2026-12-02 00:00"), "dave")
    assert on_call(s, at("2026-12-01 08:30"), [swap, other]) == ("bob",)
    assert on_call(s, at("2026-12-01 09:30"), [swap]) == ("carol",)  # alice not on call then
    got = shifts(s, at("2026-12-01 07:00"), at("2026-12-01 11:00"), [swap])
    assert [(x.start, x.people) for x in got] == [
        (at("2026-12-01 07:00"), ("alice",)),
        (at("2026-12-01 08:00"), ("bob",)),
        (at("2026-12-01 09:00"), ("carol",)),
    ]


def test_shifts_merge_across_cache_chunks(make_ps: Callable[..., PolicySet]) -> None:
    s = make_ps(SCHED).schedules["s"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    got = shifts(s, start, start + timedelta(days=365))
    for a, b in itertools.pairwise(got):
        assert a.end <= b.start
        assert not (a.end == b.start and a.people == b.people), "adjacent equal shifts are merged"
