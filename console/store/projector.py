"""The projection's writes for one transaction, gathered and issued in bulk.

A statement per incident costs more than SQLite's own work, so a batch of
ops turns into one executemany per kind of write; and an update sets only the
columns that changed, so the incident table's indexes are touched only when
their columns move. Values are bound in the fold's form (`stored_values`: times
as epoch ms through `EpochMs`), so comparing and binding make no datetimes.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BindParameter, Connection, bindparam, type_coerce

from console.domain.state import IncidentState
from console.store.projection import (
    FOLD_COLUMNS,
    TIME_COLUMNS,
    EpochMs,
    JsonValue,
    stored_values,
)
from console.store.tables import Incident
from sync.oplog import Prepared

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]


def _type(name: str) -> Any:
    """The type a fold column is read and written as: `stored_values`' form."""
    if name in TIME_COLUMNS:
        return EpochMs()
    column_type = INCIDENTS.c[name].type
    return JsonValue() if isinstance(column_type, JSON) else column_type


# The fold's columns as a select reads them in the form of `stored_values`.
STORED_COLUMNS = [type_coerce(INCIDENTS.c[name], _type(name)).label(name) for name in FOLD_COLUMNS]


def _binds(columns: tuple[str, ...]) -> dict[str, BindParameter[Any]]:
    return {name: bindparam(name, type_=_type(name)) for name in columns}


_INSERT = Prepared(INCIDENTS.insert().values(_binds(FOLD_COLUMNS)), FOLD_COLUMNS)
_POSITIONS = range(len(FOLD_COLUMNS))
# One update statement per set of changed columns; few sets ever occur.
_UPDATES: dict[tuple[int, ...], Prepared] = {}


def _update(changed: tuple[int, ...]) -> Prepared:
    update = _UPDATES.get(changed)
    if update is None:
        columns = tuple(FOLD_COLUMNS[n] for n in changed)
        update = _UPDATES[changed] = Prepared(
            INCIDENTS.update().where(INCIDENTS.c.id == bindparam("b_id")).values(_binds(columns)),
            (*columns, "b_id"))
    return update


class ProjectionWriter:
    """Rows go to `Prepared.run_rows` as tuples: no dict per incident."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.inserts: list[tuple[Any, ...]] = []  # `stored_values`
        self.updates: dict[tuple[int, ...], list[tuple[Any, ...]]] = {}  # changed values, id

    def put_stored(self, state: IncidentState, before: tuple[Any, ...] | None) -> tuple[Any, ...]:
        """Write `state` over `before`, its row's `stored_values` (None: a new incident);
        returns its `stored_values`, the row as it will be."""
        values = stored_values(state)
        if before is None:
            self.inserts.append(values)
            return values
        changed = tuple([n for n in _POSITIONS if before[n] != values[n]])
        if changed:
            self.updates.setdefault(changed, []).append(
                (*[values[n] for n in changed], state.id))
        return values

    def flush(self) -> None:
        if self.inserts:
            _INSERT.run_rows(self.conn, self.inserts)
            self.inserts = []
        for changed, rows in self.updates.items():
            _update(changed).run_rows(self.conn, rows)
        self.updates = {}
