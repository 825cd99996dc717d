"""SLA clocks: business time toward a goal, minus pauses, with a warning threshold.

Follows Jira Service Management's model: elapsed time counts only calendar
hours outside pauses; the due instant assumes the clock runs from now on
(a pause still open is treated as ending now).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import calendars
from .models import Calendar


@dataclass(frozen=True, slots=True)
class SlaClock:
    goal: timedelta
    elapsed: timedelta
    remaining: timedelta  # goal - elapsed; negative once breached
    due_at: datetime | None  # when the goal is (or was) reached
    warn_at: datetime | None  # when the warning threshold is (or was) crossed
    breached: bool
    warning: bool
    paused: bool
    stopped: bool


def sla_clock(
    target: timedelta,
    calendar: Calendar | None,
    started: datetime,
    pauses: Sequence[tuple[datetime, datetime | None]],
    now: datetime,
    warn_ratio: float = 0.8,
    stopped_at: datetime | None = None,
) -> SlaClock:
    """The state of one SLA clock at `now` (calendar None = 24x7).

    `stopped_at` ends the clock (an ack for time-to-acknowledge, a resolve for
    time-to-resolve): elapsed time is frozen there.
    """
    end = min(now, stopped_at) if stopped_at is not None else now
    closed = [(s, min(e, end) if e is not None else end) for s, e in pauses if s < end]
    spent = calendars.elapsed(calendar, started, end, closed)
    due_at = calendars.add(calendar, started, target, closed)
    warn_at = calendars.add(calendar, started, target * warn_ratio, closed)
    paused = stopped_at is None and any(s <= now and (e is None or e > now) for s, e in pauses)
    return SlaClock(
        goal=target,
        elapsed=spent,
        remaining=target - spent,
        due_at=due_at,
        warn_at=warn_at,
        breached=spent >= target,
        warning=spent >= target * warn_ratio,
        paused=paused,
        stopped=stopped_at is not None and stopped_at <= now,
    )
