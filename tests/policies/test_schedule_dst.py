"""DST semantics: every rotation kind, Berlin and New York, spring and autumn."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

import pytest

from policies.models import Layer, Schedule
from policies.schedule import gaps, on_call, shifts
from policies.timeutil import zone

# (zone, spring change day, autumn change day) in 2026
ZONES = [
    ("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
]
KINDS = {
    "hourly": {"rotation": "hourly"},
    "daily": {"rotation": "daily"},
    "weekly": {"rotation": "weekly"},
    "custom-12h": {"rotation": "custom", "shift_length": "12h"},
    "custom-3h": {"rotation": "custom", "shift_length": "3h"},
}


def _schedule(tz: str, kind: str, handoff: str = "09:00") -> Schedule:
    layer = Layer(start=date(2026, 1, 5), handoff=handoff, members=["a", "b", "c"], **KINDS[kind])
    return Schedule(id="s", time_zone=tz, layers=[layer])


@pytest.mark.parametrize("tz,spring,autumn", ZONES)
@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("which", ["spring", "autumn"])
def test_no_gap_no_overlap_across_dst(tz: str, spring: date, autumn: date, kind: str, which: str) -> None:
    day = spring if which == "spring" else autumn
    sched = _schedule(tz, kind)
    z = zone(tz)
    start = datetime.combine(day - timedelta(days=15), time(0), z).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=15), time(0), z).astimezone(UTC)
    got = shifts(sched, start, end)
    assert gaps(sched, start, end) == []
    assert got[0].start == start and got[-1].end == end
    for a, b in itertools.pairwise(got):
        assert a.end == b.start, "consecutive shifts must meet exactly"
        assert a.people != b.people
    assert sum(((s.end - s.start) for s in got), timedelta()) == end - start
    # every hand-off happens at the intended local wall time
    for s in got[1:]:
        local = s.start.astimezone(z)
        if kind in ("daily", "weekly"):
            assert (local.hour, local.minute) == (9, 0)
        if kind == "weekly":
            assert local.weekday() == 0
        if kind == "custom-12h":
            assert (local.hour, local.minute) in ((9, 0), (21, 0))
        if kind in ("hourly", "custom-3h"):
            assert local.minute == 0


@pytest.mark.parametrize("tz,spring,autumn", ZONES)
def test_hourly_shift_in_the_skipped_hour_is_empty_and_repeated_hour_is_doubled(
    tz: str, spring: date, autumn: date
) -> None:
    sched = _schedule(tz, "hourly", handoff="00:00")
    z = zone(tz)
    # Spring: wall 02:00-03:00 does not exist; the shift covering 01:00-02:00
    # is followed directly by the one starting at 03:00 local.
    day_start = datetime.combine(spring, time(0), z)
    got = shifts(sched, day_start.astimezone(UTC), (day_start + timedelta(hours=6)).astimezone(UTC))
    local_starts = [s.start.astimezone(z).hour for s in got]
    assert 2 not in local_starts and 3 in local_starts
    assert all(s.end - s.start == timedelta(hours=1) for s in got)
    # Autumn: the 02:00 shift starts at the first 02:00 and lasts until 03:00: two hours.
    day_start = datetime.combine(autumn, time(0), z)
    got = shifts(sched, day_start.astimezone(UTC), datetime.combine(autumn, time(6), z).astimezone(UTC))
    two = [s for s in got if s.start.astimezone(z).hour == (1 if tz == "America/New_York" else 2)]
    assert len(two) == 1 and two[0].end - two[0].start == timedelta(hours=2)


def test_daily_handoff_inside_the_spring_gap_happens_when_clocks_jump() -> None:
    sched = _schedule("Europe/Berlin", "daily", handoff="02:30")
    z = zone("Europe/Berlin")
    start = datetime(2026, 3, 27, tzinfo=UTC)
    got = shifts(sched, start, start + timedelta(days=4))
    starts = [s.start for s in got]
    assert datetime(2026, 3, 29, 1, 0, tzinfo=UTC) in starts  # 03:00 CEST, the jump
    after = next(s for s in got if s.start.astimezone(z).date() == date(2026, 3, 30))
    assert after.start.astimezone(z).time() == time(2, 30)
    assert gaps(sched, start, start + timedelta(days=4)) == []


@pytest.mark.parametrize("tz,spring,autumn", ZONES)
def test_restriction_windows_meet_without_gap_across_dst(tz: str, spring: date, autumn: date) -> None:
    """Day layer 08:00-20:00 and night layer 20:00-08:00 tile every day, DST or not."""
    day = Layer(rotation="weekly", start=date(2026, 1, 5), handoff="08:00", members=["d"],
                restrictions=[{"from": "08:00", "to": "20:00"}])
    night = Layer(rotation="weekly", start=date(2026, 1, 5), handoff="08:00", members=["n"],
                  restrictions=[{"from": "20:00", "to": "08:00"}])
    sched = Schedule(id="s", time_zone=tz, layers=[day, night])
    z = zone(tz)
    for d in (spring, autumn):
        start = datetime.combine(d - timedelta(days=2), time(0), z).astimezone(UTC)
        end = start + timedelta(days=4)
        assert gaps(sched, start, end) == []
        for s in shifts(sched, start, end)[1:]:
            assert s.start.astimezone(z).hour in (8, 20)
        # the night of the change is an hour shorter (spring) or longer (autumn)
        night_start = datetime.combine(d - timedelta(days=1), time(20), z)
        n = next(s for s in shifts(sched, start, end) if s.start == night_start.astimezone(UTC))
        assert n.end - n.start == timedelta(hours=11 if d == spring else 13)
        assert on_call(sched, n.start) == ("n",)
