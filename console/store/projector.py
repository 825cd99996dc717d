"""The projection's writes for one transaction, gathered and issued in bulk.

A statement per incident costs more than SQLite's own work, so a batch of
ops turns into one executemany per kind of write; and an update sets only the
columns that changed, so the incident table's indexes are touched only when
their columns move.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, bindparam, delete

from console.domain.fold import wall_ms
from console.domain.state import IncidentState
from console.domain.vocabulary import Kind
from console.store.projection import FOLD_COLUMNS, incident_values, note_values
from console.store.tables import Incident, IncidentNote
from sync.oplog import Prepared
from sync.ops import Op

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
NOTES = IncidentNote.__table__  # type: ignore[attr-defined]
_INSERT = Prepared(INCIDENTS.insert(), FOLD_COLUMNS)
_INSERT_NOTES = Prepared(NOTES.insert())
_DELETE_NOTES = Prepared(delete(NOTES).where(NOTES.c.incident_id == bindparam("b_id")))
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
        self.notes: list[dict[str, Any]] = []
        self.cleared: list[dict[str, Any]] = []

    def put(self, state: IncidentState, before: Mapping[Any, Any] | None, ops: Sequence[Op]) -> None:
        """Write `state` (over `before`, the row as read) and the notes among `ops`."""
        values = incident_values(state)
        if before is None:
            self.inserts.append(values)
        else:
            changed = {k: v for k, v in values.items() if before[k] != v}
            if changed:
                self.updates.setdefault(tuple(sorted(changed)), []).append({**changed, "b_id": state.id})
        self.notes += [note_values(op, wall_ms(op.hlc)) for op in ops if op.kind == Kind.NOTE]

    def replace(self, state: IncidentState | None, before: Mapping[Any, Any] | None,
                history: Sequence[Op]) -> None:
        """Write an incident folded afresh from its whole history."""
        if before is not None:
            self.cleared.append({"b_id": before["id"]})
        if state is not None:
            self.put(state, before, history)

    def flush(self) -> None:
        if self.cleared:
            _DELETE_NOTES.run(self.conn, self.cleared)
        if self.inserts:
            _INSERT.run(self.conn, self.inserts)
        for columns, rows in self.updates.items():
            _update(columns).run(self.conn, rows)
        if self.notes:
            _INSERT_NOTES.run(self.conn, self.notes)
        self.__init__(self.conn)  # type: ignore[misc]
