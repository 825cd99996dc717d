"""Hybrid logical clock (Kulkarni et al. 2014).

Stamps order every op across consoles even when their wall clocks disagree:
an op made after seeing another always sorts after it, and stamps stay close
to real time so people can read them. The encoded form sorts as a string.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_COUNTER = 0xFFFF
DEFAULT_MAX_OFFSET_MS = 5 * 60 * 1000
_WALL_DIGITS = 13  # milliseconds since 1970 fit in 13 digits until the year 2286
_FORMAT = f"%0{_WALL_DIGITS}d-%04x"  # wall, counter


class ClockDriftError(ValueError):
    """A remote stamp lies too far ahead of our wall clock to be adopted."""

    def __init__(self, remote: HLC, physical_ms: int, max_offset_ms: int) -> None:
        ahead_s = (remote.wall - physical_ms) / 1000
        super().__init__(
            f"remote clock stamp {remote.encode()} is {ahead_s:.1f} s ahead of this "
            f"machine's clock (limit {max_offset_ms / 1000:.0f} s): one of the two clocks "
            "is wrong; fix NTP before syncing"
        )
        self.remote = remote
        self.ahead_ms = remote.wall - physical_ms


@dataclass(frozen=True, order=True, slots=True)
class HLC:
    """One stamp: wall milliseconds (UTC) and a counter for events in the same ms."""

    wall: int
    counter: int = 0

    def encode(self) -> str:
        return _FORMAT % (self.wall, self.counter)

    @classmethod
    def decode(cls, text: str) -> HLC:
        wall, sep, counter = text.partition("-")
        if not sep or len(wall) != _WALL_DIGITS or len(counter) != 4 or not wall.isdigit():
            raise ValueError(f"not a clock stamp: {text!r}")
        try:
            return cls(int(wall), int(counter, 16))
        except ValueError:
            raise ValueError(f"not a clock stamp: {text!r}") from None


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class Clock:
    """The local HLC state; `physical` is injected so tests can jump time around."""

    def __init__(
        self,
        physical: Callable[[], int] = wall_clock_ms,
        last: HLC | None = None,
        max_offset_ms: int = DEFAULT_MAX_OFFSET_MS,
    ) -> None:
        self.physical = physical
        self.max_offset_ms = max_offset_ms
        self._wall, self._counter = (last.wall, last.counter) if last else (0, 0)

    @property
    def last(self) -> HLC:
        return HLC(self._wall, self._counter)

    def observe(self, stamp: HLC) -> None:
        """Never issue a stamp at or below `stamp` (one we issued before a restart,
        or one another process on the same store issued)."""
        if stamp > self.last:
            self._wall, self._counter = stamp.wall, stamp.counter

    def send(self) -> HLC:
        """A stamp for a local event: strictly greater than every stamp seen."""
        self.send_encoded()
        return self.last

    def send_encoded(self) -> str:
        """`send().encode()` without the `HLC` in between: every local op is stamped
        here, so the clock steps forward in this body rather than in a call of its own."""
        previous = self._wall
        physical = self.physical()
        if physical > previous:
            self._wall, self._counter = physical, 0
        elif self._counter < MAX_COUNTER:
            self._counter += 1
        else:  # 65,536 events in one ms: borrow the next ms
            self._wall, self._counter = previous + 1, 0
        return _FORMAT % (self._wall, self._counter)

    def receive(self, remote: HLC) -> HLC:
        """Merge a remote stamp; refuse one too far ahead rather than adopt it."""
        physical = self.physical()
        if remote.wall - physical > self.max_offset_ms:
            raise ClockDriftError(remote, physical, self.max_offset_ms)
        previous = self._wall
        self._wall = max(previous, remote.wall, physical)
        if self._wall == previous == remote.wall:
            self._counter = max(self._counter, remote.counter) + 1
        elif self._wall == previous:
            self._counter += 1
        elif self._wall == remote.wall:
            self._counter = remote.counter + 1
        else:
            self._counter = 0
        if self._counter > MAX_COUNTER:
            self._wall, self._counter = self._wall + 1, 0
        return self.last
