"""The console's clock, injected so tests and snapshots can freeze time.

Countdowns are `deadline - clock.now()` at render time, never decremented
counters: Textual skips late timer ticks, and a frozen clock keeps a
snapshot identical from run to run.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that moves only when told to (tests, snapshots, the benchmark)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta
