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
from console.store.projection import incident_values, note_values
from console.store.tables import Incident, IncidentNote
from sync.ops import Op

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
NOTES = IncidentNote.__table__  # type: ignore[attr-defined]
_INSERT = INCIDENTS.insert()
_UPDATE = INCIDENTS.update().where(INCIDENTS.c.id == bindparam("b_id"))
_INSERT_NOTES = NOTES.insert()
_DELETE_NOTES = delete(NOTES).where(NOTES.c.incident_id == bindparam("b_id"))


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
            self.conn.execute(_DELETE_NOTES, self.cleared)
        if self.inserts:
            self.conn.execute(_INSERT, self.inserts)
        for rows in self.updates.values():
            self.conn.execute(_UPDATE, rows)
        if self.notes:
            self.conn.execute(_INSERT_NOTES, self.notes)
        self.__init__(self.conn)  # type: ignore[misc]
