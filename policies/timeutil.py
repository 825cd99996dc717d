"""Wall-clock arithmetic with one written-down DST rule.

Every policy time (a hand-off, a restriction window, working hours, a business
calendar) is a *local wall-clock time* in some IANA zone.  Turning one into an
instant follows a single rule, so that two windows that meet at the same wall
time meet at the same instant and never leave a gap or an overlap:

* a wall time that happens twice (autumn, clocks go back) names its **first**
  occurrence;
* a wall time that does not happen (spring, clocks go forward) names the
  **instant the clocks jump**.

Both mappings are monotonic, so ordered wall times stay ordered instants.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .i18n import _

__all__ = [
    "UTC",
    "format_duration",
    "local_date_range",
    "localize",
    "parse_clock",
    "parse_duration",
    "parse_instant",
    "zone",
]

_DURATION_RE = re.compile(r"(\d+)\s*(w|d|h|m|s)")
_UNIT_SECONDS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """Return the zone, raising ValueError (not a zoneinfo error) for bad names."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(_("unknown IANA time zone {name!r}").format(name=name)) from exc


def parse_duration(text: str) -> timedelta:
    """Parse '90s', '5m', '1h30m', '2d', '1w' into a timedelta ('0' and '0m' are zero)."""
    s = text.strip().lower().replace(" ", "")
    if s == "0":
        return timedelta(0)
    pos = 0
    total = 0
    for m in _DURATION_RE.finditer(s):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNIT_SECONDS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise ValueError(_("bad duration {text!r}: use e.g. '30s', '5m', '1h30m', '2d', '1w'")
                         .format(text=text))
    return timedelta(seconds=total)


def format_duration(td: timedelta) -> str:
    """Render a duration compactly ('1h30m', '-5m'), the inverse of parse_duration."""
    secs = int(td.total_seconds())
    sign = "-" if secs < 0 else ""
    secs = abs(secs)
    if secs == 0:
        return "0m"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if secs >= size:
            parts.append(f"{secs // size}{unit}")
            secs %= size
    return sign + "".join(parts)


def parse_clock(value: str | time) -> time:
    """Parse 'HH:MM' (or 'HH:MM:SS', or a TOML time); '24:00' means end of day."""
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    m = re.fullmatch(r"(\d{1,2}):(\d{2})(?::(\d{2}))?", value.strip())
    if not m:
        raise ValueError(_bad_clock(value))
    h, mi, se = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if h == 24 and mi == 0 and se == 0:
        return time.max
    if not (0 <= h < 24 and 0 <= mi < 60 and 0 <= se < 60):
        raise ValueError(_bad_clock(value))
    return time(h, mi, se)


def _bad_clock(value: str) -> str:
    return _("bad time of day {value!r}: use 'HH:MM'").format(value=value)


_DAY_OFFSETS: dict[tuple[str, date], timedelta | None] = {}
_MISSING = object()


def _day_offset(tz: ZoneInfo, d: date) -> timedelta | None:
    """The zone's UTC offset if it holds all day long on local date d, else None.

    Memoised: schedules and calendars map thousands of wall times, nearly all
    on days without a change, where the mapping is a subtraction.
    """
    key = (tz.key, d)
    got = _DAY_OFFSETS.get(key, _MISSING)
    if got is _MISSING:
        start = datetime.combine(d, time(0))
        end = start + timedelta(days=1)
        offs = {
            x.replace(tzinfo=tz, fold=f).utcoffset() for x in (start, end) for f in (0, 1)
        }
        got = offs.pop() if len(offs) == 1 else None
        if len(_DAY_OFFSETS) > 500_000:
            _DAY_OFFSETS.clear()
        _DAY_OFFSETS[key] = got
    return got  # type: ignore[return-value]


def localize(naive: datetime, tz: ZoneInfo) -> datetime:
    """Map a wall-clock time to a UTC instant by the module's DST rule."""
    off = _day_offset(tz, naive.date())
    if off is not None:
        return (naive - off).replace(tzinfo=UTC)
    first = naive.replace(tzinfo=tz, fold=0)
    off0 = first.utcoffset()
    off1 = naive.replace(tzinfo=tz, fold=1).utcoffset()
    u0 = first.astimezone(UTC)
    if off0 == off1:
        return u0
    # Offsets differ: either the wall time repeats (both folds round-trip) or
    # it does not exist (neither round-trips to the same wall time).
    if u0.astimezone(tz).replace(tzinfo=None) == naive:
        return u0  # ambiguous: first occurrence
    return _transition_before(u0, tz)


def _transition_before(u0: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clocks jumped forward, at or before u0 (within a day)."""
    lo = u0 - timedelta(days=1)
    hi = u0
    target = u0.astimezone(tz).utcoffset()
    # Invariant: offset(lo) != target, offset(hi) == target.
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        mid = mid.replace(microsecond=0)
        if mid <= lo:
            break
        if mid.astimezone(tz).utcoffset() == target:
            hi = mid
        else:
            lo = mid
    return hi


_EPOCH = datetime(1970, 1, 1)


def localize_ts(naive: datetime, tz: ZoneInfo) -> float:
    """`localize` as POSIX seconds, without building aware datetimes on the fast path."""
    off = _day_offset(tz, naive.date())
    if off is not None:
        return (naive - _EPOCH - off).total_seconds()
    return localize(naive, tz).timestamp()


def wall_ts(d: date, t: time, tz: ZoneInfo) -> float:
    """`wall` as POSIX seconds."""
    if t == time.max:
        return localize_ts(datetime.combine(d + timedelta(days=1), time(0)), tz)
    return localize_ts(datetime.combine(d, t), tz)


def wall(d: date, t: time, tz: ZoneInfo) -> datetime:
    """The instant named by wall time `t` on local date `d` ('24:00' is next midnight)."""
    if t == time.max:
        return localize(datetime.combine(d + timedelta(days=1), time(0)), tz)
    return localize(datetime.combine(d, t), tz)


def local_date_range(start: datetime, end: datetime, tz: ZoneInfo, pad: int = 1) -> list[date]:
    """Local dates touching [start, end), padded on both sides by `pad` days."""
    d0 = start.astimezone(tz).date() - timedelta(days=pad)
    d1 = end.astimezone(tz).date() + timedelta(days=pad)
    n = (d1 - d0).days
    return [d0 + timedelta(days=i) for i in range(n + 1)]


_INSTANT_RE = re.compile(
    r"^\s*(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?\s*([A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*)?\s*$"
)


def parse_instant(text: str, default_tz: str = "UTC") -> datetime:
    """Parse '2026-12-06 03:00 Asia/Jakarta', ISO 8601 with offset, or a date.

    A zone name after the time wins; otherwise `default_tz`.  The wall time is
    mapped by the same DST rule as every policy time.
    """
    s = text.strip()
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        dt = None
    if dt is not None and dt.tzinfo is not None:
        return dt.astimezone(UTC)
    m = _INSTANT_RE.match(s)
    if not m:
        raise ValueError(_("bad instant {text!r}: use e.g. '2026-12-06 03:00 Asia/Jakarta'")
                         .format(text=text))
    d = date.fromisoformat(m.group(1))
    t = parse_clock(m.group(2)) if m.group(2) else time(0)
    tz = zone(m.group(3) or default_tz)
    return localize(datetime.combine(d, t), tz)
