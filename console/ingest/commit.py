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
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from console.store.store import Store, Writes

T = TypeVar("T")
Work = Callable[[Writes], Any]
_STOP = object()


def _settle(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the request was cancelled (client went away); its op still committed
        return
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
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((work, loop, future))
        return await future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[Any]) -> None:
        results: list[tuple[bool, Any]] = []
        try:
            with self.store.writing() as w:
                for work, _, _ in batch:
                    results.append((True, work(w)))
        except Exception:
            # Some request failed (a refusal or worse) with others' writes in the same
            # transaction, all now rolled back: give each request a transaction of its own.
            results = [self._alone(work) for work, _, _ in batch]
        self.batches += 1
        self.items += len(batch)
        for (_, loop, future), (ok, value) in zip(batch, results, strict=True):
            with contextlib.suppress(RuntimeError):  # that loop has closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, future, ok, value)
        if self.after_commit is not None:
            self.after_commit()

    def _alone(self, work: Work) -> tuple[bool, Any]:
        try:
            with self.store.writing() as w:
                return True, work(w)
        except Exception as exc:  # this request's answer; the others are unaffected
            return False, exc
