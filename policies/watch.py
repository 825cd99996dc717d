"""Hot reload: watch a policy directory and yield each new validated policy set.

A broken edit (syntax, schema, unknown reference, cycle) yields its problems
and leaves the last good set in force: `ReloadResult.in_force` is what the
console should use after every event.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import watchfiles

from .check import static_problems
from .loader import load
from .policyset import PolicySet
from .problems import PolicyError, Problem


@dataclass(frozen=True, slots=True)
class ReloadResult:
    policy_set: PolicySet | None  # the newly loaded set; None when the edit is broken
    problems: list[Problem]  # errors (set rejected) or warnings (set accepted)
    in_force: PolicySet | None  # the set to use now: the new one or the last good one
    changed: tuple[str, ...] = ()  # files that changed

    @property
    def ok(self) -> bool:
        return self.policy_set is not None


def reload(directory: Path | str, last_good: PolicySet | None, changed: tuple[str, ...] = ()) -> ReloadResult:
    """Load and validate once; on failure keep `last_good` in force."""
    try:
        ps = load(directory)
    except PolicyError as exc:
        return ReloadResult(None, exc.problems, last_good, changed)
    problems = static_problems(ps)
    if any(p.severity == "error" for p in problems):
        return ReloadResult(None, problems, last_good, changed)
    return ReloadResult(ps, problems, ps, changed)


def _toml_only(change: watchfiles.Change, path: str) -> bool:
    return path.endswith(".toml")


def watch(
    directory: Path | str,
    *,
    stop_event: threading.Event | None = None,
    debounce_ms: int = 200,
    yield_initial: bool = True,
    force_polling: bool | None = None,
) -> Iterator[ReloadResult]:
    """Yield the initial load, then one result per batch of *.toml changes.

    The watcher is running before the initial load, so an edit made right
    after it is never missed.
    """
    last: PolicySet | None = None
    started = False
    for changes in watchfiles.watch(
        directory,
        watch_filter=_toml_only,
        stop_event=stop_event,
        debounce=debounce_ms,
        force_polling=force_polling,
        rust_timeout=200,
        yield_on_timeout=True,
    ):
        if not started:
            started = True
            first = reload(directory, None)
            last = first.in_force
            if yield_initial:
                yield first
            continue  # the initial load already reflects any changes seen so far
        if not changes:
            continue
        res = reload(directory, last, tuple(sorted(p for _, p in changes)))
        last = res.in_force
        yield res


async def awatch(
    directory: Path | str,
    *,
    stop_event: threading.Event | None = None,
    debounce_ms: int = 200,
    yield_initial: bool = True,
    force_polling: bool | None = None,
) -> AsyncIterator[ReloadResult]:
    """`watch` for the console's event loop: the blocking watcher runs in a worker
    thread, so both share one implementation. Closing this generator stops it."""
    stop = stop_event or threading.Event()
    results = watch(directory, stop_event=stop, debounce_ms=debounce_ms,
                    yield_initial=yield_initial, force_polling=force_polling)
    done = object()
    try:
        while (item := await asyncio.to_thread(next, results, done)) is not done:
            assert isinstance(item, ReloadResult)
            yield item
    finally:
        stop.set()  # the worker's watcher notices within its 200 ms step and ends
