"""Plain dataclasses the widgets display, and the time formats they use.

Kept apart from `services` so that widgets can take these without importing
the store or the policy set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
    """`04:31`, `-02:10`, `3h05m`, `2d04h`: fits in six cells up to 99 days."""
    s = int(abs(seconds))
    sign = "-" if seconds < 0 else ""
    if s < 3600:
        body = f"{s // 60:02d}:{s % 60:02d}"
    elif s < 86400:
        body = f"{s // 3600}h{s % 3600 // 60:02d}m"
    else:
        body = f"{s // 86400}d{s % 86400 // 3600:02d}h"
    return sign + body


def age(seconds: float) -> str:
    s = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size:
            return f"{s // size}{unit}"
    return f"{s}s"
