"""Counters and gauges for `/metrics`, in the Prometheus text format.

Kept in-process and tiny on purpose: the ingest path increments a counter
per request, so a lock and a dict are all it should cost.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

Labels = tuple[tuple[str, str], ...]


def _labels(labels: Labels) -> str:
    if not labels:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
    return "{" + body + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Counter:
    """A counter's series bound to its labels: an increment is a lock and an add."""

    __slots__ = ("_key", "_lock", "_series")

    def __init__(self, lock: threading.Lock, series: dict[Labels, float], key: Labels) -> None:
        self._lock = lock
        self._series = series
        self._key = key

    def inc(self, amount: float = 1.0) -> None:
        with self._lock:
            self._series[self._key] = self._series.get(self._key, 0.0) + amount


class Metrics:
    """Named counters and summaries with labels; gauges are read at scrape time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}
        self._values: dict[str, dict[Labels, float]] = {}
        self._gauges: list[tuple[str, str, Callable[[], Iterable[tuple[Labels, float]]]]] = []

    def describe(self, name: str, kind: str, text: str) -> None:
        self._help[name] = (kind, text)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount

    def counter(self, name: str, **labels: str) -> Counter:
        """One series, its labels sorted now: for a caller that increments it per request."""
        with self._lock:
            series = self._values.setdefault(name, {})
        return Counter(self._lock, series, tuple(sorted(labels.items())))

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """A summary without quantiles: _sum and _count, which is what rates need."""
        self.inc(f"{name}_sum", seconds, **labels)
        self.inc(f"{name}_count", 1.0, **labels)

    def value(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values.get(name, {}).get(tuple(sorted(labels.items())), 0.0)

    def gauge(self, name: str, text: str, read: Callable[[], Iterable[tuple[Labels, float]]]) -> None:
        self._gauges.append((name, text, read))

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            snapshot = {name: dict(series) for name, series in self._values.items()}
        described: set[str] = set()
        for name in sorted(snapshot):
            base = name.removesuffix("_sum").removesuffix("_count")
            if base in self._help and base not in described:
                kind, text = self._help[base]
                lines += [f"# HELP {base} {text}", f"# TYPE {base} {kind}"]
                described.add(base)
            for labels, value in sorted(snapshot[name].items()):
                lines.append(f"{name}{_labels(labels)} {value:g}")
        for name, text, read in self._gauges:
            lines += [f"# HELP {name} {text}", f"# TYPE {name} gauge"]
            for labels, value in read():
                lines.append(f"{name}{_labels(labels)} {value:g}")
        return "\n".join(lines) + "\n"


def standard() -> Metrics:
    """The metrics every part of `sunrelay serve` writes to, described once."""
    m = Metrics()
    m.describe("sunrelay_ingest_events_total", "counter", "Events received, by source, action and outcome.")
    m.describe("sunrelay_notifications_total", "counter", "Delivery attempts, by channel and outcome.")
    m.describe("sunrelay_engine_cycle_seconds", "summary", "Time spent in engine cycles.")
    m.describe("sunrelay_engine_actions_total", "counter", "Actions the engine recorded, by kind.")
    return m
