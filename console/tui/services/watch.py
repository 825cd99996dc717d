"""Seeing other processes' writes: a cheap signature of the store that changes
whenever anything is committed, polled by a thread worker.

SQLite: `PRAGMA data_version` on one long-lived connection changes whenever
another connection commits, and reads no table. Elsewhere (PostgreSQL): the
sum of the per-site heads, which grows with every op, and the latest
`next_due_at`, which the engine writes without an op.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, func, select

from console.store import db
from console.store.tables import Incident
from sync.tables import SiteHead

HEADS = SiteHead.__table__  # type: ignore[attr-defined]
INCIDENTS = Incident.__table__  # type: ignore[attr-defined]


class StoreWatcher:
    """`changed()` says whether the store moved since the last call; the first call
    only takes the baseline."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.raw: Any = None
        self.last: Any = None
        self.started = False

    def _signature(self) -> Any:
        if self.engine.dialect.name == "sqlite":
            if self.raw is None:
                # The store's connect hook leaves the DB-API connection in
                # autocommit, so this pragma opens no transaction.
                self.raw = self.engine.raw_connection()
            cursor = self.raw.cursor()
            try:
                return cursor.execute("PRAGMA data_version").fetchone()[0]
            finally:
                cursor.close()
        with db.reading(self.engine) as conn:
            return (conn.execute(select(func.coalesce(func.sum(HEADS.c.seq), 0))).scalar(),
                    conn.execute(select(func.max(INCIDENTS.c.next_due_at))).scalar())

    def changed(self) -> bool:
        now = self._signature()
        moved = self.started and now != self.last
        self.started = True
        self.last = now
        return moved

    def close(self) -> None:
        if self.raw is not None:
            self.raw.close()
            self.raw = None
