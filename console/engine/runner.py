"""Runs the engine in `sunrelay serve`: election, the once-a-second cycle, the dispatcher.

The runner keeps trying for the engine lease; while it holds it, it ticks
once a second (and at once when woken: ingest wakes it after each commit, so
a new incident's first page does not wait for the next second) and runs the
dispatcher in a loop of its own, so a slow receiver never delays a tick. With
a group committer (`sunrelay serve`, the console's node), every store write of
the runner, the dispatcher's included, is a turn on its writer thread.

Under load (woken since the last tick) ticks come at most every `min_gap`
and each gets a time slice of the write lock (`lease.Turn`), in transactions
of ENGINE_BATCH incidents: an alert storm
that makes thousands of incidents due at once is paged in slices, oldest
deadline first, between which ingest commits, instead of one tick holding
the write lock (and half the GIL) for seconds while every event waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from console.engine import queries
from console.engine.cycle import SLOW_CYCLE, Engine
from console.engine.lease import Elector, LeaseLost, Turn, Yielded
from console.ingest.commit import GroupCommitter
from console.notify.dispatcher import Dispatcher, Offload
from console.store import db
from console.store.store import Writes

log = logging.getLogger("sunrelay.engine")


# Due incidents (or notifications, for the dispatcher) per transaction while ingest is
# busy. A transaction is what a loaded tick cannot cut short (lease.Turn), and ingest
# waits for the write lock while it runs, so it stays at tens of milliseconds (about
# 0.7 ms an escalation here). An unloaded tick keeps the engine's own, larger batch:
# with nobody waiting, fewer commits (fsyncs) page a backlog sooner.
ENGINE_BATCH = 50


def utcnow() -> datetime:
    return datetime.now(UTC)


class EngineRunner:
    def __init__(self, engine: Engine, dispatcher: Dispatcher, elector: Elector, *,
                 clock: Callable[[], datetime] = utcnow, interval: float = 1.0,
                 renew_every: float = 5.0, min_gap: float = 0.1, slice_s: float = 0.05,
                 committer: GroupCommitter | None = None) -> None:
        self.engine = engine
        # The ingest writer thread, if any: the runner's store work runs on it, taking turns
        # with ingest, and the leader pages new incidents inside its group transactions.
        self.committer = committer
        self.offload: Offload = committer.call if committer is not None else asyncio.to_thread
        self.dispatcher = dispatcher
        self.elector = elector
        self.clock = clock
        self.interval = interval
        self.renew_every = renew_every
        # Wakes come after every ingest commit; ticking for each would fight ingest for
        # the write lock. One tick per `min_gap` still pages within a tenth of a second.
        self.min_gap = min_gap
        # A loaded tick's share of the write lock; with `min_gap` between ticks the
        # engine takes at most about a third of the time while ingest is busy.
        self.slice_s = slice_s
        self.batch = engine.batch  # per transaction when unloaded; ENGINE_BATCH when loaded
        self.role = "starting"
        self.last_tick_at: datetime | None = None
        self.last_cycle_s = 0.0
        self.lag = timedelta(0)
        self.error: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._notify = asyncio.Event()
        self._wakes = 0  # how often woken; a change since the last tick means others write
        self._seen_wakes = 0
        self._wake_sent = False  # a wake is on its way to the loop: the next tick serves later ones

    def wake(self) -> None:
        """Tick now instead of at the next second; safe from any thread."""
        self._wakes += 1
        # Ingest wakes the runner after every commit, hundreds of times a second, and each
        # hand-over to the loop (a write to its self-pipe) makes the writer thread wait for
        # the GIL: one on its way is enough, as the tick it brings serves every wake before it.
        if self._wake_sent:
            return
        if self._loop is not None and self._wake is not None:
            self._wake_sent = True
            with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
                self._loop.call_soon_threadsafe(self._wake.set)

    @property
    def behind(self) -> bool:
        slow = self.last_cycle_s > SLOW_CYCLE.total_seconds()
        return self.role == "leader" and (self.lag > SLOW_CYCLE or slow)

    def health(self) -> dict[str, Any]:
        return {"role": self.role, "holder": self.elector.holder,
                "last_tick_at": self.last_tick_at.isoformat() if self.last_tick_at else None,
                "last_cycle_seconds": round(self.last_cycle_s, 4),
                "lag_seconds": round(self.lag.total_seconds(), 3), "behind": self.behind,
                "error": self.error}

    def _fence(self, conn: Connection) -> None:
        self.elector.fence(conn, self.clock())

    def _within(self, w: Writes, requests: int) -> Callable[[], None] | None:
        """The engine's turn inside an ingest group transaction (on the writer thread):
        the incidents its requests opened are paged in it, up to one per request, and
        their console pages delivered in it. What it returns runs once that transaction
        has committed: the engine takes up its cursor there, and the toasts are posted.
        The dispatcher's loop is told only of pages left for other channels."""
        if self.role != "leader":
            return None
        now = self.clock()
        delivered: list[tuple[Callable[[], None], bool]] = []

        def settle(w: Writes, paged: Mapping[str, tuple[str, int]], rows: Sequence[Any],
                   fresh: Collection[int]) -> dict[int, dict[str, Any]]:
            post, left, settled = self.dispatcher.within(w, now, paged, rows, fresh)
            delivered.append((post, left))
            return settled

        try:
            report = self.engine.within(w, now, self._fence, requests, settle)
        except LeaseLost:  # raised by the fence, before the engine wrote anything
            return None
        if not delivered:
            return functools.partial(self.engine.committed, report)
        post, left = delivered[0]
        if left and self._loop is not None and not self._notify.is_set():
            with contextlib.suppress(RuntimeError):  # the loop has closed: shutting down
                self._loop.call_soon_threadsafe(self._notify.set)

        def committed() -> None:
            self.engine.committed(report)
            post()
        return committed

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        leader = False
        renew_at = 0.0
        dispatching: asyncio.Task[None] | None = None
        committer = self.committer
        if committer is not None:
            committer.within = self._within
        try:
            while True:
                if not leader or time.monotonic() >= renew_at:
                    try:
                        got = await self.offload(self.elector.try_acquire, self.clock())
                    except SQLAlchemyError as exc:
                        log.error("engine election failed: %s", exc)
                        got = False
                    if got and not leader:
                        log.info("this process runs the engine (%s)", self.elector.holder)
                        dispatching = asyncio.create_task(self._dispatch())
                    elif leader and not got:
                        log.warning("lost the engine lease; standing by")
                    if not got and dispatching is not None:
                        dispatching.cancel()
                        dispatching = None
                    leader = got
                    renew_at = time.monotonic() + self.renew_every
                    self.role = "leader" if leader else "standby"
                if leader:
                    leader = await self._tick()
                    if not leader and dispatching is not None:
                        dispatching.cancel()
                        dispatching = None
                await asyncio.sleep(self.min_gap)
                if not self._wake.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), self.interval - self.min_gap)
                self._wake_sent = False  # first: a wake from here on sends its own
                self._wake.clear()
        finally:
            if committer is not None:
                committer.within = None
            if dispatching is not None:
                dispatching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dispatching
            if leader:
                with contextlib.suppress(SQLAlchemyError):
                    self.elector.release(self.clock())

    async def _tick(self) -> bool:
        now = self.clock()
        loaded = self._wakes != self._seen_wakes
        self._seen_wakes = self._wakes
        fence = Turn(self._fence, self.slice_s) if loaded else self._fence
        self.engine.batch = min(self.batch, ENGINE_BATCH) if loaded else self.batch
        try:
            report = await self.offload(self.engine.tick, now, fence)
        except Yielded:
            # The rest is still due: tick again after the gap, whether or not woken.
            self.last_tick_at, self.last_cycle_s = now, self.slice_s
            self.lag = await self.offload(self._lag, now)
            if self._wake is not None:
                self._wake.set()
            return True
        except LeaseLost as exc:
            log.warning("engine stopped: %s", exc)
            self.role = "standby"
            return False
        except SQLAlchemyError as exc:
            self.error = str(exc).splitlines()[0]
            log.error("engine cycle failed: %s", self.error)
            return True
        self.error = None
        self.last_tick_at, self.last_cycle_s, self.lag = now, report.seconds, report.lag
        if report.notifications:
            self._notify.set()
        if self.lag > SLOW_CYCLE:
            log.warning("engine is %.1f s behind its deadlines", self.lag.total_seconds())
        return True

    def _lag(self, now: datetime) -> timedelta:
        """How far behind its oldest deadline the engine is, after a tick that yielded."""
        with db.reading(self.engine.store.engine) as conn:
            oldest = queries.next_due(conn)
        return max(timedelta(0), now - oldest) if oldest is not None else timedelta(0)

    async def _dispatch(self) -> None:
        while True:
            # Cleared before the pass, not after: rows written while it runs bring another.
            self._notify.clear()
            try:
                report = await self.dispatcher.run_once(self.clock(), self._fence, self.offload)
            except LeaseLost:
                return
            except SQLAlchemyError as exc:
                log.error("dispatcher failed: %s", exc)
                report = None
            if report is None or report.handled < self.dispatcher.batch:
                with contextlib.suppress(TimeoutError):  # retries come due on their own: poll too
                    await asyncio.wait_for(self._notify.wait(), self.interval)
