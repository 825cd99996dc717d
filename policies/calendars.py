"""Holidays and weekly windows turned into spans of instants.

Shared by schedule restrictions, follow-the-sun working hours, business-hours
calendars (SLA clocks, support hours) so that all of them read wall times the
same way (see timeutil's DST rule).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from .intervals import Span, intersect, normalize, subtract
from .models import WEEKDAYS, Calendar, HolidaySpec, Window
from .timeutil import UTC, local_date_range, wall_ts, zone


@lru_cache(maxsize=4096)
def _country_year(country: str, subdivision: str | None, year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays(country, subdiv=subdivision, years=year).keys())


def is_holiday(spec: HolidaySpec | None, d: date) -> bool:
    """Whether a local date is a holiday under the spec (country calendar or explicit)."""
    if spec is None:
        return False
    if d in spec.dates:
        return True
    return spec.country is not None and d in _country_year(spec.country, spec.subdivision, d.year)


def window_on(w: Window, d: date, tz_name: str) -> tuple[float, float]:
    """The span of a window that opens on local date d; `to` <= `from` ends the next day."""
    tz = zone(tz_name)
    s = wall_ts(d, w.start, tz)
    if w.end == time.max:
        e = wall_ts(d + timedelta(days=1), time(0), tz)
    elif w.end <= w.start:
        e = wall_ts(d + timedelta(days=1), w.end, tz)
    else:
        e = wall_ts(d, w.end, tz)
    return s, e


def window_spans(
    windows: Iterable[Window],
    tz_name: str,
    start: float,
    end: float,
    skip_day: Callable[[date], bool] | None = None,
) -> list[Span]:
    """Union of the windows' occurrences that touch [start, end), clipped to it."""
    tz = zone(tz_name)
    ws = list(windows)
    out: list[Span] = []
    for d in local_date_range(_dt(start), _dt(end), tz):
        wd = WEEKDAYS[d.weekday()]
        if skip_day is not None and skip_day(d):
            continue
        for w in ws:
            if wd in w.days:
                s, e = window_on(w, d, tz_name)
                if e > start and s < end:
                    out.append((max(s, start), min(e, end)))
    return normalize(out)


def day_spans(
    tz_name: str, start: float, end: float, keep: Callable[[date], bool]
) -> list[Span]:
    """Whole local days (midnight to midnight) for which keep(day) holds, clipped."""
    tz = zone(tz_name)
    out: list[Span] = []
    for d in local_date_range(_dt(start), _dt(end), tz):
        if keep(d):
            s = wall_ts(d, time(0), tz)
            e = wall_ts(d + timedelta(days=1), time(0), tz)
            if e > start and s < end:
                out.append((max(s, start), min(e, end)))
    return normalize(out)


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# --- business-hours arithmetic (SLA clocks, support hours) ----------------------

_STEP = 14 * 86400.0  # how far ahead to expand a calendar per iteration


def open_spans(cal: Calendar | None, start: float, end: float) -> list[Span]:
    """Business spans of the calendar in [start, end); None means 24x7."""
    if cal is None:
        return [(start, end)] if end > start else []
    spec = cal.holidays
    return window_spans(cal.hours, cal.time_zone, start, end, lambda d: is_holiday(spec, d))


def _pause_spans(pauses: Iterable[tuple[datetime, datetime]]) -> list[Span]:
    return normalize((s.timestamp(), e.timestamp()) for s, e in pauses)


def elapsed(
    cal: Calendar | None,
    start: datetime,
    end: datetime,
    pauses: Iterable[tuple[datetime, datetime]] = (),
) -> timedelta:
    """Business time between start and end, not counting pauses."""
    a, b = start.timestamp(), end.timestamp()
    if b <= a:
        return timedelta(0)
    spans = subtract(open_spans(cal, a, b), _pause_spans(pauses))
    return timedelta(seconds=sum(e - s for s, e in spans))


def add(
    cal: Calendar | None,
    start: datetime,
    amount: timedelta,
    pauses: Iterable[tuple[datetime, datetime]] = (),
    horizon_days: int = 3660,
) -> datetime | None:
    """The instant when `amount` of business time has passed since start (None if never)."""
    need = amount.total_seconds()
    ps = _pause_spans(pauses)
    cur = start.timestamp()
    limit = cur + horizon_days * 86400.0
    if need <= 0:
        first = next_open_ts(cal, cur, ps, limit)
        return _dt(first) if first is not None else None
    while cur < limit:
        nxt = cur + _STEP
        for s, e in subtract(open_spans(cal, cur, nxt), ps):
            if e - s >= need:
                return _dt(s + need)
            need -= e - s
        cur = nxt
    return None


def next_open_ts(
    cal: Calendar | None, ts: float, pauses: list[Span] | None = None, limit: float | None = None
) -> float | None:
    """First business instant at or after ts (outside pauses)."""
    end = limit if limit is not None else ts + 3660 * 86400.0
    cur = ts
    while cur < end:
        nxt = cur + _STEP
        spans = open_spans(cal, cur, nxt)
        if pauses:
            spans = subtract(spans, pauses)
        if spans:
            return spans[0][0]
        cur = nxt
    return None


def next_open(cal: Calendar | None, at: datetime) -> datetime | None:
    ts = next_open_ts(cal, at.timestamp())
    return _dt(ts) if ts is not None else None


def is_open(cal: Calendar | None, at: datetime) -> bool:
    ts = at.timestamp()
    return bool(intersect(open_spans(cal, ts - 1, ts + 1), [(ts, ts + 1)]))
