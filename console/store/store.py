"""The incident store: records ops and keeps the projection in step, in one commit."""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select
from sqlalchemy.exc import DBAPIError

from console.domain import commands
from console.domain.commands import Change
from console.domain.fold import apply, fold, notes, wall_ms
from console.domain.state import IncidentState
from console.domain.vocabulary import Kind, Status
from console.store import db
from console.store.projection import incident_values, note_values, state_from_row
from console.store.tables import Incident, IncidentNote
from sync import oplog
from sync.hlc import Clock, wall_clock_ms
from sync.oplog import ChainProblem, Draft, OpLog
from sync.ops import Op
from sync.tables import LocalSite

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
NOTES = IncidentNote.__table__  # type: ignore[attr-defined]
INCIDENT_KINDS = frozenset(k.value for k in Kind)
OPEN_STATUSES = (Status.TRIGGERED.value, Status.ACKNOWLEDGED.value)
_SITE_NAME = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")


class NotFound(LookupError):
    """No incident by that key."""


@dataclass(frozen=True, slots=True)
class Triggered:
    state: IncidentState
    created: bool


def default_site_name() -> str:
    """A key prefix from the host name, until someone sets SUNRELAY_SITE."""
    letters = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname().split(".")[0]).upper()
    name = letters.lstrip("0123456789")[:8]
    return name or "SITE"


def check_site_name(name: str) -> str:
    upper = name.strip().upper()
    if not _SITE_NAME.match(upper):
        raise db.StoreError(
            f"site name {name!r} must be 1-8 letters or digits, starting with a letter "
            "(it prefixes incident keys, as in JKT-42)"
        )
    return upper


class Store:
    """One open store. Writes are serialised per store (SQLite's write lock, or
    a row lock on this site's chain head in PostgreSQL), so several processes
    may share one store safely."""

    def __init__(self, engine: Engine, site: LocalSite, clock: Clock) -> None:
        self.engine = engine
        self.site = site
        self.clock = clock
        self.log = OpLog(site.site, clock)

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        site_name: str | None = None,
        physical: Callable[[], int] = wall_clock_ms,
    ) -> Store:
        """Open (creating and migrating as needed) the store at `url`."""
        engine = db.make_engine(db.resolve_url(url))
        try:
            db.ensure_schema(engine)
            clock = Clock(physical)
            with engine.begin() as conn:
                site = oplog.load_site(conn)
                if site is None:
                    name = check_site_name(site_name or default_site_name())
                    site = oplog.create_site(conn, name, clock)
                last = oplog.latest_stamp(conn)
                if last is not None:
                    clock.observe(last)
        except DBAPIError as exc:
            engine.dispose()
            raise db.StoreError(f"cannot open database: {db._reason(exc)}") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, site, clock)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------

    def trigger(
        self, actor: str, *, title: str, service: str, severity: str,
        dedup_key: str | None = None, labels: dict[str, str] | None = None,
        priority: str | None = None, team: str | None = None, policy: str | None = None,
    ) -> Triggered:
        """Open an incident, or retrigger the open one that has this dedup key."""
        with self.engine.begin() as conn:
            if dedup_key:
                row = conn.execute(
                    select(INCIDENTS).where(
                        INCIDENTS.c.dedup_key == dedup_key, INCIDENTS.c.status.in_(OPEN_STATUSES)
                    ).order_by(INCIDENTS.c.created_at).limit(1)
                ).first()
                if row is not None:
                    state = state_from_row(row)
                    self._record(conn, actor, state.id, [commands.retrigger(state, title)], state)
                    return Triggered(self._load(conn, state.id), created=False)
            number = 1 + int(conn.execute(
                select(func.coalesce(func.max(INCIDENTS.c.key_number), 0))
                .where(INCIDENTS.c.origin_site == self.site.site)
            ).scalar_one())
            change = commands.trigger(
                key=f"{self.site.name}-{number}", key_number=number, title=title,
                service=service, severity=severity, priority=priority, team=team,
                policy=policy, dedup_key=dedup_key, labels=labels,
            )
            entity = oplog.new_op_id()
            self._record(conn, actor, entity, [change], None)
            return Triggered(self._load(conn, entity), created=True)

    def act(
        self, key: str, actor: str, decide: Callable[[IncidentState], Change | Sequence[Change]],
    ) -> IncidentState:
        """Decide on the incident as it stands inside the write transaction, and record it.

        `decide` raises `IllegalTransition` to refuse; then nothing is written.
        """
        with self.engine.begin() as conn:
            state = self._find(conn, key)
            decided = decide(state)
            changes = [decided] if isinstance(decided, Change) else list(decided)
            self._record(conn, actor, state.id, changes, state)
            return self._load(conn, state.id)

    def _record(self, conn: Connection, actor: str, entity: str, changes: Sequence[Change],
                state: IncidentState | None) -> list[Op]:
        ops = self.log.append_many(
            conn, [Draft(actor, entity, c.kind.value, c.payload) for c in changes]
        )
        # Local ops sort after everything this store holds, so they fold incrementally.
        exists = state is not None
        for op in ops:
            state = apply(state, op)
        self._write(conn, state, ops, exists=exists)
        return ops

    def receive(self, ops: Iterable[Op]) -> int:
        """Apply ops made elsewhere, in one transaction; returns how many were new."""
        with self.engine.begin() as conn:
            fresh = self.log.receive(conn, list(ops))
            by_entity: dict[str, list[Op]] = {}
            for op in fresh:
                if op.kind in INCIDENT_KINDS:
                    by_entity.setdefault(op.entity, []).append(op)
            for entity, entity_ops in by_entity.items():
                self._fold_in(conn, entity, entity_ops)
        return len(fresh)

    def _fold_in(self, conn: Connection, entity: str, ops: list[Op]) -> None:
        row = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == entity)).first()
        ops.sort(key=lambda o: o.sort_key)
        if row is None:
            if any(op.kind == Kind.TRIGGER for op in ops):
                self._refold(conn, entity)
            return
        state: IncidentState | None = state_from_row(row)
        assert state is not None
        if ops[0].sort_key < state.last:  # a late op: its incident folds again from the log
            self._refold(conn, entity)
            return
        for op in ops:
            state = apply(state, op)
        self._write(conn, state, ops, exists=True)

    def _refold(self, conn: Connection, entity: str) -> IncidentState | None:
        ops = oplog.ops_for_entity(conn, entity)
        state = fold(ops)
        conn.execute(delete(NOTES).where(NOTES.c.incident_id == entity))
        exists = conn.execute(select(INCIDENTS.c.id).where(INCIDENTS.c.id == entity)).first()
        self._write(conn, state, notes(ops), exists=exists is not None)
        return state

    def _write(self, conn: Connection, state: IncidentState | None, ops: Sequence[Op],
               *, exists: bool) -> None:
        if state is None:
            return
        values = incident_values(state)
        if exists:
            conn.execute(INCIDENTS.update().where(INCIDENTS.c.id == state.id).values(**values))
        else:
            conn.execute(INCIDENTS.insert().values(**values))
        new_notes = [note_values(op, wall_ms(op.hlc)) for op in ops if op.kind == Kind.NOTE]
        if new_notes:
            conn.execute(NOTES.insert(), new_notes)

    def rebuild(self) -> int:
        """Fold every incident again from the op log; returns the number of incidents."""
        count = 0
        with self.engine.begin() as conn:
            due = {r.id: r.next_due_at for r in conn.execute(
                select(INCIDENTS.c.id, INCIDENTS.c.next_due_at))}
            conn.execute(delete(NOTES))
            conn.execute(delete(INCIDENTS))
            batch: list[Op] = []
            for op in oplog.iter_ops_by_entity(conn):
                if batch and op.entity != batch[0].entity:
                    count += self._rebuild_one(conn, batch, due)
                    batch = []
                batch.append(op)
            if batch:
                count += self._rebuild_one(conn, batch, due)
        return count

    def _rebuild_one(self, conn: Connection, ops: list[Op], due: dict[str, Any]) -> int:
        state = fold(ops)
        if state is None:
            return 0
        self._write(conn, state, notes(ops), exists=False)
        if due.get(state.id) is not None:
            conn.execute(INCIDENTS.update().where(INCIDENTS.c.id == state.id)
                         .values(next_due_at=due[state.id]))
        return 1

    def verify(self) -> list[ChainProblem]:
        with db.reading(self.engine) as conn:
            return oplog.verify(conn)

    # -- reading -------------------------------------------------------------

    def _row(self, conn: Connection, key: str) -> Any:
        wanted = key.strip()
        row = conn.execute(
            select(INCIDENTS).where(
                (INCIDENTS.c.key == wanted.upper()) | (INCIDENTS.c.id == wanted.lower())
            )
        ).first()
        if row is None:
            raise NotFound(f"no incident {key!r} in this store")
        return row

    def _find(self, conn: Connection, key: str) -> IncidentState:
        return state_from_row(self._row(conn, key))

    def _load(self, conn: Connection, entity: str) -> IncidentState:
        row = conn.execute(select(INCIDENTS).where(INCIDENTS.c.id == entity)).one()
        return state_from_row(row)

    def get(self, key: str) -> IncidentState:
        with db.reading(self.engine) as conn:
            return self._find(conn, key)

    def find(self, key: str) -> Incident:
        """The projection row of the incident with this key (or id)."""
        with db.reading(self.engine) as conn:
            return Incident.model_construct(**self._row(conn, key)._mapping)

    def incidents(self, *, status: str = "open", limit: int | None = None) -> list[Incident]:
        """Open incidents most severe first (then oldest), or all of them newest first."""
        query = select(INCIDENTS)
        if status == "open":
            query = query.where(INCIDENTS.c.status.in_(OPEN_STATUSES)).order_by(
                INCIDENTS.c.severity, INCIDENTS.c.created_at)
        else:
            query = query.order_by(INCIDENTS.c.created_at.desc())
        if limit is not None:
            query = query.limit(limit)
        with db.reading(self.engine) as conn:
            return [Incident.model_construct(**row._mapping) for row in conn.execute(query)]

    def notes(self, incident_id: str) -> list[IncidentNote]:
        with db.reading(self.engine) as conn:
            rows = conn.execute(select(NOTES).where(NOTES.c.incident_id == incident_id)
                                .order_by(NOTES.c.hlc, NOTES.c.site, NOTES.c.seq))
            return [IncidentNote.model_construct(**row._mapping) for row in rows]

    def timeline(self, incident_id: str) -> list[Op]:
        with db.reading(self.engine) as conn:
            return oplog.ops_for_entity(conn, incident_id)

    def vector(self) -> dict[str, int]:
        with db.reading(self.engine) as conn:
            return oplog.version_vector(conn)

    def count_ops(self) -> int:
        with db.reading(self.engine) as conn:
            return oplog.count_ops(conn)

    def projection(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every fold-owned column of every incident and note, in a stable order:
        what `rebuild` must reproduce."""
        with db.reading(self.engine) as conn:
            incidents = [
                {k: v for k, v in row._mapping.items() if k != "next_due_at"}
                for row in conn.execute(select(INCIDENTS).order_by(INCIDENTS.c.id))
            ]
            note_rows = [dict(row._mapping) for row in
                         conn.execute(select(NOTES).order_by(NOTES.c.op_id))]
        return incidents, note_rows
