"""The console channel: an in-process bus that running consoles subscribe to.

The dispatcher publishes a `ConsoleNotice` for each console notification;
the Textual console subscribes with the person it runs as and shows a toast
and rings the bell. Callbacks run on the publisher's thread (the one that
committed the delivery: the store's writer thread in `sunrelay serve`), so a
subscriber with its own event loop hops onto it (Textual:
`App.call_from_thread`, or a posted message). Consoles in other processes see the same
notification on the incident's timeline, as its `notify` op.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConsoleNotice:
    """A toast for `person` (None: every console); `bell` for pages that want a human now."""

    person: str | None
    key: str
    title: str
    severity: str
    event: str
    text: str
    bell: bool
    delivery: str


Subscriber = Callable[[ConsoleNotice], None]


class Bus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: list[tuple[str | None, Subscriber]] = []

    def subscribe(self, callback: Subscriber, person: str | None = None) -> Callable[[], None]:
        """Receive notices for `person` and broadcasts (all notices when person is None).

        Returns the function that unsubscribes.
        """
        entry = (person, callback)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def publish(self, notice: ConsoleNotice) -> int:
        """Deliver to every matching subscriber; returns how many received it."""
        with self._lock:
            targets = [cb for who, cb in self._subscribers
                       if who is None or notice.person is None or who == notice.person]
        for callback in targets:
            callback(notice)
        return len(targets)


BUS = Bus()
