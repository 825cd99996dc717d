"""Runs the engine in `sunrelay serve`: election, the once-a-second cycle, the dispatcher.

The runner keeps trying for the engine lease; while it holds it, it ticks
once a second (and at once when woken: ingest wakes it after each commit, so
a new incident's first page does not wait for the next second) and runs the
dispatcher in a loop of its own, so a slow receiver never delays a tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from console.engine.cycle import SLOW_CYCLE, Engine
from console.engine.lease import Elector, LeaseLost
from console.notify.dispatcher import Dispatcher

log = logging.getLogger("sunrelay.engine")


def utcnow() -> datetime:
    return datetime.now(UTC)


class EngineRunner:
    def __init__(self, engine: Engine, dispatcher: Dispatcher, elector: Elector, *,
                 clock: Callable[[], datetime] = utcnow, interval: float = 1.0,
                 renew_every: float = 5.0, min_gap: float = 0.1) -> None:
        self.engine = engine
        self.dispatcher = dispatcher
        self.elector = elector
        self.clock = clock
        self.interval = interval
        self.renew_every = renew_every
        # Wakes come after every ingest commit; ticking for each would fight ingest for
        # the write lock. One tick per `min_gap` still pages within a tenth of a second.
        self.min_gap = min_gap
        self.role = "starting"
        self.last_tick_at: datetime | None = None
        self.last_cycle_s = 0.0
        self.lag = timedelta(0)
        self.error: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._notify = asyncio.Event()

    def wake(self) -> None:
        """Tick now instead of at the next second; safe from any thread."""
        if self._loop is not None and self._wake is not None:
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

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        leader = False
        renew_at = 0.0
        dispatching: asyncio.Task[None] | None = None
        try:
            while True:
                if not leader or time.monotonic() >= renew_at:
                    try:
                        got = await asyncio.to_thread(self.elector.try_acquire, self.clock())
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
                self._wake.clear()
        finally:
            if dispatching is not None:
                dispatching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dispatching
            if leader:
                with contextlib.suppress(SQLAlchemyError):
                    self.elector.release(self.clock())

    async def _tick(self) -> bool:
        now = self.clock()
        try:
            report = await asyncio.to_thread(self.engine.tick, now, self._fence)
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

    async def _dispatch(self) -> None:
        while True:
            try:
                report = await self.dispatcher.run_once(self.clock(), self._fence)
            except LeaseLost:
                return
            except SQLAlchemyError as exc:
                log.error("dispatcher failed: %s", exc)
                report = None
            if report is None or report.handled < self.dispatcher.batch:
                self._notify.clear()
                with contextlib.suppress(TimeoutError):  # retries come due on their own: poll too
                    await asyncio.wait_for(self._notify.wait(), self.interval)
