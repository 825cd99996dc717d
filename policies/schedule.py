"""Schedules: layers of rotations, restrictions, holidays, temporary schedules, overrides.

Semantics (written down in docs/policies.md, tested in tests/policies):

* A rotation's k-th hand-off is the wall time ``anchor + k * turn`` in the
  schedule's zone, mapped by timeutil's DST rule.  Shift k runs from hand-off
  k to hand-off k+1, so consecutive shifts meet exactly: no gap and no double
  coverage across DST changes.  A shift that contains a change is an hour
  longer or shorter in elapsed time; an hourly shift that falls entirely in
  the skipped spring hour is empty (its member's turn passes).
* Restrictions and holiday rules cut a layer's shifts; later layers win
  where layers overlap.
* Precedence, lowest to highest: layers in file order, temporary schedules
  (replace all layers for their span), the file's overrides, then runtime
  overrides passed in as data (e.g. shift swaps recorded in the op log).

The final schedule is computed in 28-day chunks, memoised on the schedule
object, so `on_call` is a bisect and `shifts` a concatenation.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from .calendars import day_spans, is_holiday, window_spans
from .intervals import Span, intersect, normalize, subtract
from .models import Layer, Schedule
from .timeutil import UTC, localize_ts, zone

People = tuple[str, ...]
Seg = tuple[float, float, People]

CHUNK = 28 * 86400.0


@dataclass(frozen=True, slots=True)
class ShiftOverride:
    """A runtime override of one schedule (a swap or cover made from the console).

    Without `replaces` the user takes the whole span (also filling a gap);
    with it, only that person is replaced while they are on call.
    """

    schedule: str
    start: datetime
    end: datetime
    user: str
    replaces: str | None = None


@dataclass(frozen=True, slots=True)
class Shift:
    """One stretch of the final schedule with the same people on call."""

    start: datetime
    end: datetime
    people: People


@dataclass(slots=True)
class _Chunk:
    starts: list[float]
    segs: list[Seg]


# --- one layer -----------------------------------------------------------------


def layer_spans(
    layer: Layer, schedule: Schedule, a: float, b: float
) -> list[tuple[float, float, str]]:
    """The layer's own (start, end, person) spans inside [a, b), after its restrictions."""
    tz = zone(schedule.time_zone)
    anchor = layer.anchor()
    turn = layer.turn()
    members = layer.members
    n = len(members)
    a_local = datetime.fromtimestamp(a, tz).replace(tzinfo=None)
    k = max(0, math.floor((a_local - anchor - timedelta(days=1)) / turn))
    until = layer.until()
    until_ts = localize_ts(until, tz) if until is not None else math.inf
    raw: list[tuple[float, float, str]] = []
    h = localize_ts(anchor + k * turn, tz)
    while h < b and h < until_ts:
        h2 = localize_ts(anchor + (k + 1) * turn, tz)
        e = min(h2, until_ts, b)
        if e > a and e > h:
            raw.append((max(h, a), e, members[k % n]))
        k += 1
        h = h2
    allowed: list[Span] | None = None
    if layer.restrictions:
        allowed = window_spans(layer.restrictions, schedule.time_zone, a, b)
    if layer.holidays != "ignore" and schedule.holidays is not None:
        spec = schedule.holidays
        hol = day_spans(schedule.time_zone, a, b, lambda d: is_holiday(spec, d))
        base = allowed if allowed is not None else [(a, b)]
        allowed = subtract(base, hol) if layer.holidays == "skip" else intersect(base, hol)
    if allowed is None:
        return raw
    return _clip_labelled(raw, allowed)


def _clip_labelled(
    spans: list[tuple[float, float, str]], allowed: list[Span]
) -> list[tuple[float, float, str]]:
    out: list[tuple[float, float, str]] = []
    j = 0
    for s, e, p in spans:
        while j < len(allowed) and allowed[j][1] <= s:
            j += 1
        k = j
        while k < len(allowed) and allowed[k][0] < e:
            cs, ce = max(s, allowed[k][0]), min(e, allowed[k][1])
            if cs < ce:
                out.append((cs, ce, p))
            k += 1
    return out


# --- precedence -------------------------------------------------------------------


def _stack(layers: Sequence[list[tuple[float, float, str]]], a: float, b: float) -> list[Seg]:
    """Sweep the layers; at each instant the highest layer with someone on call wins."""
    events: list[tuple[float, int, int, str]] = []
    for li, spans in enumerate(layers):
        for s, e, p in spans:
            events.append((s, 1, li, p))
            events.append((e, 0, li, p))
    events.sort()
    active: list[str | None] = [None] * len(layers)
    out: list[Seg] = []
    cur = a
    top: People = ()
    i = 0
    while i < len(events):
        t = events[i][0]
        if t > cur:
            out.append((cur, t, top))
            cur = t
        while i < len(events) and events[i][0] == t:
            _, kind, li, p = events[i]
            if kind == 1:
                active[li] = p
            elif active[li] == p:
                active[li] = None
            i += 1
        top = ()
        for li in range(len(active) - 1, -1, -1):
            person = active[li]
            if person is not None:
                top = (person,)
                break
    if cur < b:
        out.append((cur, b, top))
    return out


def _splice(segs: list[Seg], s: float, e: float, inside: Callable[[Seg], list[Seg]]) -> list[Seg]:
    """Keep what lies outside [s, e); hand each clipped part inside it to `inside`."""
    out: list[Seg] = []
    for a, b, p in segs:
        if b <= s or a >= e:
            out.append((a, b, p))
            continue
        if a < s:
            out.append((a, s, p))
        out.extend(inside((max(a, s), min(b, e), p)))
        if b > e:
            out.append((e, b, p))
    return out


def _replace_span(segs: list[Seg], s: float, e: float, inner: list[Seg]) -> list[Seg]:
    out = _splice(segs, s, e, lambda _clipped: [])
    out.extend(inner)
    out.sort(key=lambda x: x[0])
    return out


def _temporary(schedule: Schedule, segs: list[Seg], a: float, b: float) -> list[Seg]:
    for tmp in schedule.temporary:
        s, e = max(tmp.start.timestamp(), a), min(tmp.end.timestamp(), b)
        if s >= e:
            continue
        fixed = [
            [(max(x.start.timestamp(), s), min(x.end.timestamp(), e), person)]
            for x in tmp.shifts
            for person in x.people
        ]
        inner = _union_people([f for f in fixed if f[0][1] > f[0][0]], s, e)
        segs = _replace_span(segs, s, e, inner)
    return segs


def _union_people(spans: list[list[tuple[float, float, str]]], a: float, b: float) -> list[Seg]:
    """Everyone whose span covers an instant is on call (temporary shifts may overlap)."""
    cuts = sorted({a, b, *(x for sp in spans for s, e, _ in sp for x in (s, e))})
    out: list[Seg] = []
    for s, e in itertools.pairwise(cuts):
        if s < a or e > b:
            continue
        people = tuple(sorted({p for sp in spans for x0, x1, p in sp if x0 <= s and x1 >= e}))
        out.append((s, e, people))
    return out


def _map_people(people: People, user: str, replaces: str | None) -> People:
    if replaces is None:
        return (user,)
    if replaces not in people:
        return people
    out: list[str] = []
    for p in people:
        q = user if p == replaces else p
        if q not in out:
            out.append(q)
    return tuple(out)


def _apply_override(segs: list[Seg], s: float, e: float, user: str, rep: str | None) -> list[Seg]:
    return _splice(segs, s, e, lambda c: [(c[0], c[1], _map_people(c[2], user, rep))])


def _merge(segs: Iterable[Seg]) -> list[Seg]:
    out: list[Seg] = []
    for s, e, p in segs:
        if e <= s:
            continue
        if out and out[-1][2] == p and out[-1][1] == s:
            out[-1] = (out[-1][0], e, p)
        else:
            out.append((s, e, p))
    return out


def _compute_chunk(schedule: Schedule, c: int) -> _Chunk:
    a, b = c * CHUNK, (c + 1) * CHUNK
    stacked = _stack([layer_spans(lay, schedule, a, b) for lay in schedule.layers], a, b)
    segs = _temporary(schedule, stacked, a, b)
    for o in schedule.overrides:
        s, e = max(o.start.timestamp(), a), min(o.end.timestamp(), b)
        if s < e:
            segs = _apply_override(segs, s, e, o.user, o.replaces)
    merged = _merge(segs)
    return _Chunk([x[0] for x in merged], merged)


def _chunk(schedule: Schedule, c: int) -> _Chunk:
    cache: dict[int, _Chunk] | None = schedule._timeline
    if cache is None:
        cache = {}
        schedule._timeline = cache
    got = cache.get(c)
    if got is None:
        got = _compute_chunk(schedule, c)
        cache[c] = got
    return got


# --- public API --------------------------------------------------------------------


def on_call(
    schedule: Schedule, at: datetime, overrides: Iterable[ShiftOverride] = ()
) -> People:
    """Who is on call for the schedule at an instant (empty tuple: nobody)."""
    ts = at.timestamp()
    ch = _chunk(schedule, int(ts // CHUNK))
    people = ch.segs[bisect_right(ch.starts, ts) - 1][2]
    for o in overrides:
        if o.schedule == schedule.id and o.start <= at < o.end:
            people = _map_people(people, o.user, o.replaces)
    return people


def timeline(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    overrides: Iterable[ShiftOverride] = (),
) -> list[Seg]:
    """The complete final schedule over [start, end) as float spans, gaps included."""
    a, b = start.timestamp(), end.timestamp()
    if b <= a:
        return []
    segs: list[Seg] = []
    for c in range(int(a // CHUNK), math.ceil(b / CHUNK)):
        for s, e, p in _chunk(schedule, c).segs:
            if e > a and s < b:
                segs.append((max(s, a), min(e, b), p))
    for o in overrides:
        if o.schedule == schedule.id:
            s, e = max(o.start.timestamp(), a), min(o.end.timestamp(), b)
            if s < e:
                segs = _apply_override(segs, s, e, o.user, o.replaces)
    return _merge(segs)


def shifts(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    overrides: Iterable[ShiftOverride] = (),
) -> list[Shift]:
    """The final schedule over [start, end): who is on call, stretch by stretch (gaps omitted)."""
    return [
        Shift(_dt(s), _dt(e), p) for s, e, p in timeline(schedule, start, end, overrides) if p
    ]


def gaps(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    overrides: Iterable[ShiftOverride] = (),
) -> list[Span]:
    """Spans inside [start, end) where the schedule resolves to nobody."""
    return normalize((s, e) for s, e, p in timeline(schedule, start, end, overrides) if not p)


def next_change(
    schedule: Schedule,
    at: datetime,
    overrides: Iterable[ShiftOverride] = (),
    horizon: timedelta = timedelta(days=90),
) -> Shift | None:
    """The next stretch with different people after the one holding `at` (may be a gap)."""
    segs = timeline(schedule, at, at + horizon, overrides)
    if len(segs) < 2:
        return None
    s, e, p = segs[1]
    return Shift(_dt(s), _dt(e), p)


def holiday_dates(schedule: Schedule, start: date, end: date) -> list[date]:
    """The schedule's holidays between two local dates (for display)."""
    days = (end - start).days
    out = []
    for i in range(days + 1):
        d = start + timedelta(days=i)
        if is_holiday(schedule.holidays, d):
            out.append(d)
    return out


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
