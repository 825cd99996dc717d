"""One engine per store: a lease row on SQLite, an advisory lock on PostgreSQL.

Several console processes may open one store (two engineers on one jump box,
a `sunrelay serve` beside a console). Only one of them may run the engine, or
every page would go out once per process.

- **SQLite**: the `engine_lease` row names its holder and an expiry. The
  holder renews it well before it expires; anyone may take a lease that has
  expired. Every engine transaction first checks, inside the same write
  transaction, that this process still holds an unexpired lease (`fence`),
  so a process that was paused past its expiry writes nothing when it wakes.
- **PostgreSQL**: a session advisory lock held on a connection of its own.
  The server drops it when that session ends, so a killed process frees it
  at once; `fence` checks the lock is still held by that session.

Under load the engine also shares the write lock fairly (`Turn`): ingest
commits wait while an engine transaction holds it, so a tick with a backlog
stops after its time slice and leaves the rest, still due, to the next tick.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import Connection, Engine, select, text

from console.engine.queries import LEASE_NAME, LEASES
from sync.oplog import Prepared


class LeaseLost(RuntimeError):
    """This process no longer holds the engine lease: it must stop writing."""


class Yielded(RuntimeError):
    """The engine's turn at the write lock is over; nothing of the refused transaction was written."""


class Turn:
    """One tick's fence with a time slice: the first `free` write transactions of the
    tick always run (its changes and a first batch of due incidents: every tick makes
    progress); after that, once `slice` seconds have passed, the next one refuses to
    start. Each transaction is whole, so what was not reached simply stays due."""

    def __init__(self, fence: Callable[[Connection], None], slice_s: float, *,
                 clock: Callable[[], float] = time.monotonic, free: int = 2) -> None:
        self.fence = fence
        self.slice_s = slice_s
        self.clock = clock
        self.free = free
        self.started = clock()
        self.turns = 0

    def __call__(self, conn: Connection) -> None:
        self.fence(conn)
        self.turns += 1
        if self.turns > self.free and self.clock() - self.started >= self.slice_s:
            raise Yielded(f"after {self.turns - 1} write transactions")


class Elector(Protocol):
    holder: str

    def try_acquire(self, now: datetime) -> bool: ...

    def fence(self, conn: Connection, now: datetime) -> None: ...

    def release(self, now: datetime) -> None: ...


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Run before every engine and dispatcher transaction: straight on the driver (Prepared),
# where Core's execute cost more than the lookup itself.
_HOLDER = Prepared(select(LEASES.c.holder, LEASES.c.expires_at).where(LEASES.c.name == LEASE_NAME))


class SqliteLease:
    """The lease row: acquired or renewed by the same call, fenced per transaction."""

    def __init__(self, engine: Engine, ttl: timedelta, holder: str | None = None) -> None:
        self.engine = engine
        self.ttl = ttl
        self.holder = holder or holder_id()

    def try_acquire(self, now: datetime) -> bool:
        """Take the lease if it is free, expired or already ours; extend it if ours."""
        with self.engine.begin() as conn:
            row = conn.execute(select(LEASES).where(LEASES.c.name == LEASE_NAME)).first()
            if row is None:
                conn.execute(LEASES.insert().values(name=LEASE_NAME, holder=self.holder,
                                                    expires_at=now + self.ttl, cursor={}))
                return True
            if row.holder != self.holder and row.holder and row.expires_at > now:
                return False
            conn.execute(LEASES.update().where(LEASES.c.name == LEASE_NAME)
                         .values(holder=self.holder, expires_at=now + self.ttl))
            return True

    def fence(self, conn: Connection, now: datetime) -> None:
        rows = _HOLDER.rows(conn, {})
        row = rows[0] if rows else None
        if row is None or row.holder != self.holder or row.expires_at <= now:
            raise LeaseLost(f"the engine lease is held by {row.holder if row else 'nobody'}")

    def release(self, now: datetime) -> None:
        """Hand over at once on a clean shutdown instead of after the expiry."""
        with self.engine.begin() as conn:
            conn.execute(LEASES.update().where(LEASES.c.name == LEASE_NAME,
                                               LEASES.c.holder == self.holder).values(expires_at=now))


class PostgresLock:
    """`pg_try_advisory_lock` on a dedicated session; the lock lives as long as it."""

    def __init__(self, engine: Engine, name: str = "sunrelay-engine", holder: str | None = None) -> None:
        self.engine = engine
        self.holder = holder or holder_id()
        # 56 bits: positive, so pg_locks shows it as classid (high half) and objid (low half).
        self.key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:7], "big")
        self._conn: Connection | None = None
        self._pid: int | None = None

    def try_acquire(self, now: datetime) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # the session is gone, and the lock with it
                self._drop()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        if not got:
            conn.close()
            return False
        self._conn = conn
        self._pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())
        return True

    def fence(self, conn: Connection, now: datetime) -> None:
        held = conn.execute(text(
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid "
            "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND objsubid = 1"),
            {"pid": self._pid or -1, "hi": self.key >> 32, "lo": self.key & 0xFFFFFFFF},
        ).first()
        if held is None:
            raise LeaseLost("the engine advisory lock is not held by this process")

    def release(self, now: datetime) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            finally:
                self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone
                self._conn.close()
            self._conn = None
            self._pid = None


def elector_for(engine: Engine, ttl: timedelta) -> Elector:
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine)
    return SqliteLease(engine, ttl)
