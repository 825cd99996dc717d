"""The projection's writes for one transaction, gathered and issued in bulk.

A statement per incident costs more than SQLite's own work, so a batch of
ops turns into one executemany per kind of write; and an update sets only the
columns that changed, so the incident table's indexes are touched only when
their columns move.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam

from console.domain.state import IncidentState
from console.store.projection import FOLD_COLUMNS, incident_values
from console.store.tables import Incident
from sync.oplog import Prepared

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
_INSERT = Prepared(INCIDENTS.insert(), FOLD_COLUMNS)
# One update statement per set of changed columns; few sets ever occur.
_UPDATES: dict[tuple[str, ...], Prepared] = {}


def _update(columns: tuple[str, ...]) -> Prepared:
    update = _UPDATES.get(columns)
    if update is None:
        update = _UPDATES[columns] = Prepared(
            INCIDENTS.update().where(INCIDENTS.c.id == bindparam("b_id")), columns)
    return update


class ProjectionWriter:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.inserts: list[dict[str, Any]] = []
        self.updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}

    def put(self, state: IncidentState, before: Any) -> None:
        """Write `state` over `before`, the row as read (a named tuple; None: a new incident)."""
        values = incident_values(state)
        if before is None:
            self.inserts.append(values)
        else:
            changed = {k: v for k, v in values.items() if getattr(before, k) != v}
            if changed:
                self.updates.setdefault(tuple(sorted(changed)), []).append({**changed, "b_id": state.id})

    def flush(self) -> None:
        if self.inserts:
            _INSERT.run(self.conn, self.inserts)
            self.inserts = []
        for columns, rows in self.updates.items():
            _update(columns).run(self.conn, rows)
        self.updates = {}
