"""Group commit: concurrent ingest requests share one write transaction.

A durable commit costs an fsync (about 5,000 a second here, BENCHMARKS.md),
so one transaction per request would cap ingest at that and queue requests
behind each other's fsyncs. Instead, requests hand their work to one writer
thread; it takes every request waiting at that moment, runs them all in one
transaction, commits once, and only then answers them. If any request fails
(a refusal raised by the store, or an error), that transaction is rolled back
and each request of the batch runs again in a transaction of its own, so one
bad request never costs the others their commit. Nobody gets an answer before
the commit that holds their op.

The process's other writers (the engine's ticks, its lease, the handoff
runner, the dispatcher's claims) take their turns on the same thread
(`call`), in order with the group transactions. The engine also takes a turn
inside each group transaction (`within`), after the requests' work: the
incidents they opened are due at once, and paging them there (console pages
delivered too) costs no transaction of its own. What the turn returns runs
once the transaction has committed (the console's toasts), never if it rolls
back.
Writers in threads of their own would contend instead: the store's write
lock is not fair (a thread that releases it can take it again before a
waiter wakes), a write on a connection of its own (the lease) polls SQLite's
lock with sleeps that grow to 100 ms (busy_timeout), and every busy thread
takes its share of the GIL from the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from console.store.store import Store, Writes

T = TypeVar("T")
P = ParamSpec("P")
Work = Callable[[Writes], Any]
# Runs in a group transaction after its requests' work, with how many requests it holds;
# returns what to run once that transaction has committed, if anything.
Within = Callable[[Writes, int], Callable[[], None] | None]
_STOP = object()
Answer = tuple[asyncio.Future[Any], bool, Any]


@dataclass(frozen=True, slots=True)
class _Item:
    work: Callable[..., Any]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Any]
    alone: bool  # a `call`: run by itself, outside any group transaction


def _settle(answers: list[Answer]) -> None:
    for future, ok, value in answers:
        if future.done():  # the request was cancelled (client went away); its op still committed
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


class GroupCommitter:
    def __init__(self, store: Store, *, max_batch: int = 512,
                 after_commit: Callable[[], None] | None = None) -> None:
        self.store = store
        self.max_batch = max_batch
        self.after_commit = after_commit
        # Set by the engine runner while it holds the lease. Should it raise, the group
        # transaction rolls back and each request is committed alone, without it.
        self.within: Within | None = None
        self.batches = 0
        self.items = 0
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sunrelay-group-commit", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Finish what is queued, then stop."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join()
            self._thread = None

    async def submit(self, work: Callable[[Writes], T]) -> T:
        """Run `work` in the next group transaction; return its result after the commit."""
        return await self._put(work, alone=False)

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `fn(*args, **kwargs)` on the writer thread by itself, between group
        transactions, in turn with them (like `asyncio.to_thread`, on this thread)."""
        return await self._put(lambda: fn(*args, **kwargs), alone=True)

    async def _put(self, work: Callable[..., T], *, alone: bool) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(_Item(work, loop, future, alone))
        return await future

    def _run(self) -> None:
        pending: Any = None
        while True:
            first = pending if pending is not None else self._queue.get()
            pending = None
            if first is _STOP:
                return
            if first.alone:
                self._answer([(first, self._alone(first.work))])
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP or item.alone:
                    pending = item
                    break
                batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Item]) -> None:
        results: list[tuple[bool, Any]] = []
        committed: Callable[[], None] | None = None
        try:
            with self.store.writing() as w:
                for item in batch:
                    results.append((True, item.work(w)))
                if self.within is not None:
                    committed = self.within(w, len(batch))
        except Exception:
            # Some request failed (a refusal or worse) with others' writes in the same
            # transaction, all now rolled back: give each request a transaction of its own.
            committed = None
            results = [self._alone(self._in_transaction(item.work)) for item in batch]
        self.batches += 1
        self.items += len(batch)
        self._answer(list(zip(batch, results, strict=True)))
        if committed is not None:
            committed()
        if self.after_commit is not None:
            self.after_commit()

    def _in_transaction(self, work: Work) -> Callable[[], Any]:
        def run() -> Any:
            with self.store.writing() as w:
                return work(w)
        return run

    @staticmethod
    def _alone(work: Callable[[], Any]) -> tuple[bool, Any]:
        try:
            return True, work()
        except Exception as exc:  # this request's answer; the others are unaffected
            return False, exc

    @staticmethod
    def _answer(done: list[tuple[_Item, tuple[bool, Any]]]) -> None:
        # One hand-over per event loop for the whole batch: each call_soon_threadsafe wakes
        # the loop through its self-pipe, and the loop shares the GIL with this thread.
        answers: dict[asyncio.AbstractEventLoop, list[Answer]] = {}
        for item, (ok, value) in done:
            answers.setdefault(item.loop, []).append((item.future, ok, value))
        for loop, settled in answers.items():
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, settled)
