"""Follow-the-sun groups: regions hand the pager to each other around the globe.

A region's duty starts at the start of its working hours (its own wall clock,
its own DST) on each of its working days, and lasts until the next region's
duty starts.  The group is therefore on duty at every instant as long as one
region starts each day: DST moves the hand-offs, never opens a gap or an
overlap.  Where DST makes a region hold the pager past the end of its
working hours, `out_of_hours` reports it (and `policies check` warns).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .calendars import window_on
from .intervals import Span
from .models import WEEKDAYS, FollowTheSun, Region, Schedule
from .schedule import People, ShiftOverride, on_call, timeline
from .timeutil import UTC, local_date_range, zone


@dataclass(frozen=True, slots=True)
class Duty:
    """One region holding the pager from start to end."""

    region: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class GroupOnCall:
    region: str | None
    people: People
    handoff_at: datetime | None
    next_region: str | None


def _starts(group: FollowTheSun, a: float, b: float) -> list[tuple[float, int]]:
    """Duty start instants of all regions in [a, b), as (ts, region index), sorted."""
    out: list[tuple[float, int]] = []
    lo, hi = datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)
    for i, r in enumerate(group.regions):
        tz = zone(r.time_zone)
        for d in local_date_range(lo, hi, tz):
            if WEEKDAYS[d.weekday()] in r.working_hours.days:
                s, _ = window_on(r.working_hours, d, r.time_zone)
                if a <= s < b:
                    out.append((s, i))
    out.sort()
    return out


def duty_spans(group: FollowTheSun, start: datetime, end: datetime) -> list[tuple[float, float, int]]:
    """Which region holds the pager over [start, end): (from, to, region index)."""
    a, b = start.timestamp(), end.timestamp()
    starts = _starts(group, a - 2 * 86400.0, b + 2 * 86400.0)
    if not any(s <= a for s, _ in starts):
        # a region may hold the pager over a long weekend: look further back
        starts = _starts(group, a - 9 * 86400.0, b + 2 * 86400.0)
    out: list[tuple[float, float, int]] = []
    for (s, i), (s2, _) in itertools.pairwise(starts):
        if s2 <= a or s >= b or s2 == s:
            continue
        if out and out[-1][2] == i and out[-1][1] == max(s, a):
            out[-1] = (out[-1][0], min(s2, b), i)
        else:
            out.append((max(s, a), min(s2, b), i))
    return out


def duties(group: FollowTheSun, start: datetime, end: datetime) -> list[Duty]:
    return [
        Duty(group.regions[i].name, _dt(s), _dt(e)) for s, e, i in duty_spans(group, start, end)
    ]


def region_at(group: FollowTheSun, at: datetime) -> tuple[Region | None, datetime | None]:
    """The region on duty at `at` and the instant it hands over."""
    spans = duty_spans(group, at, at + timedelta(days=8))
    if not spans or spans[0][0] > at.timestamp():
        return None, None
    _s, e, i = spans[0]
    return group.regions[i], _dt(e)


def group_on_call(
    group: FollowTheSun,
    schedules: Mapping[str, Schedule],
    at: datetime,
    overrides: Iterable[ShiftOverride] = (),
) -> GroupOnCall:
    """Who answers for the group at `at`, and when and to whom the next hand-off goes."""
    spans = duty_spans(group, at, at + timedelta(days=2))
    if len(spans) < 2:
        spans = duty_spans(group, at, at + timedelta(days=9))
    if not spans or spans[0][0] > at.timestamp():
        return GroupOnCall(None, (), None, None)
    _, e, i = spans[0]
    region = group.regions[i]
    sched = schedules.get(region.schedule)
    people = on_call(sched, at, overrides) if sched is not None else ()
    nxt = group.regions[spans[1][2]].name if len(spans) > 1 else None
    return GroupOnCall(region.name, people, _dt(e), nxt)


def group_timeline(
    group: FollowTheSun,
    schedules: Mapping[str, Schedule],
    start: datetime,
    end: datetime,
    overrides: Iterable[ShiftOverride] = (),
) -> list[tuple[float, float, str, People]]:
    """(from, to, region, people) over [start, end); people empty where nobody answers."""
    out: list[tuple[float, float, str, People]] = []
    ovs = list(overrides)
    for s, e, i in duty_spans(group, start, end):
        region = group.regions[i]
        sched = schedules.get(region.schedule)
        if sched is None:
            out.append((s, e, region.name, ()))
            continue
        for a, b, p in timeline(sched, _dt(s), _dt(e), ovs):
            out.append((a, b, region.name, p))
    if not out:
        out.append((start.timestamp(), end.timestamp(), "", ()))
    return out


def out_of_hours(group: FollowTheSun, start: datetime, end: datetime) -> list[tuple[str, Span]]:
    """Stretches where a region holds the pager after its working hours end."""
    out: list[tuple[str, Span]] = []
    a = start.timestamp()
    for s, e, i in duty_spans(group, start - timedelta(days=2), end):
        if e <= a:
            continue
        r = group.regions[i]
        d = datetime.fromtimestamp(s, zone(r.time_zone)).date()
        _, wend = window_on(r.working_hours, d, r.time_zone)
        if e > max(wend, a):
            out.append((r.name, (max(s, wend, a), e)))
    return out


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
