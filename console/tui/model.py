"""Plain dataclasses the widgets display, and the time formats they use.

Kept apart from `services` so that widgets can take these without importing
the store or the policy set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from console.i18n import _


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One incident as the queue shows it; `deadline_kind` says what falls due:
    `esc` the next escalation step, `ack`/`fix` the SLA goals, `due` the engine's
    next look."""

    id: str
    key: str
    title: str
    service: str
    severity: str
    priority: str | None
    status: str
    stage: str
    team: str | None
    policy: str | None
    assignee: str | None
    alert_count: int
    level: int
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    deadline: datetime | None
    deadline_kind: str
    labels: dict[str, str] = field(default_factory=dict)
    conflicted: bool = False


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    site: str
    region: str | None
    me: str
    on_call: bool
    local_time: str
    utc_time: str
    engine: str
    sync: str
    sync_short: str  # for 80 columns
    readonly: bool


@dataclass(frozen=True, slots=True)
class Lane:
    """One region's next 24 hours, one cell per hour: True while it holds the pager."""

    group: str
    region: str
    time_zone: str
    cells: list[bool]
    local_hours: list[int]


def countdown(seconds: float) -> str:
    """`04:31`, `-02:10`, `3h05m`, `2d04h`: fits in six cells up to 99 days. A terse
    notation kept on purpose for the queue's ten cells; only the unit letters are
    translated (`3j05m`, `2h04j` in Indonesian: jam, hari)."""
    s = int(abs(seconds))
    sign = "-" if seconds < 0 else ""
    if s < 3600:
        body = f"{s // 60:02d}:{s % 60:02d}"
    elif s < 86400:
        body = _("{hours}h{minutes:02d}m").format(hours=s // 3600, minutes=s % 3600 // 60)
    else:
        body = _("{days}d{hours:02d}h").format(days=s // 86400, hours=s % 86400 // 3600)
    return sign + body


def span(seconds: float) -> str:
    """A coming stretch in a table cell (seven cells): `45m`, `5h50m`, `6d09h`, the same
    terse notation as the queue's countdowns."""
    return countdown(seconds) if abs(seconds) >= 3600 else age(seconds)


def age(seconds: float) -> str:

    """`3d`, `5h`, `12m`, `40s`: four cells, the largest unit only, letters translated."""
    s = max(0, int(seconds))
    if s >= 86400:
        return _("{n}d").format(n=s // 86400)
    if s >= 3600:
        return _("{n}h").format(n=s // 3600)
    if s >= 60:
        return _("{n}m").format(n=s // 60)
    return _("{n}s").format(n=s)

