"""The incident store: records ops and keeps the projection in step, in one commit."""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    RootTransaction,
    Row,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from console.domain import commands
from console.domain.commands import Change
from console.domain.fold import apply, fold, wall_ms
from console.domain.state import IncidentState
from console.domain.vocabulary import KINDS, Kind, Status
from console.store import db
from console.store.projection import ms_to_dt, state_from_row, state_from_values
from console.store.projector import STORED_COLUMNS, ProjectionWriter
from console.store.tables import Incident, IncidentNote
from sync import oplog
from sync.hlc import Clock, wall_clock_ms
from sync.oplog import Chain, ChainProblem, Draft, OpLog, Prepared, PreparedIn
from sync.ops import Op
from sync.tables import LocalSite, OpLogRow

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
OPS = OpLogRow.__table__  # type: ignore[attr-defined]
OPEN_STATUSES = (Status.TRIGGERED.value, Status.ACKNOWLEDGED.value)
# Built once with bound parameters, and run as `Prepared` on every write's path.
_BY_KEY_OR_ID = Prepared(select(INCIDENTS).where(
    (INCIDENTS.c.key == bindparam("b_key")) | (INCIDENTS.c.id == bindparam("b_id"))))
# A write reads the incident in the fold's own form (`STORED_COLUMNS`), as it writes it.
_STORED_BY_KEY_OR_ID = Prepared(select(*STORED_COLUMNS).where(
    (INCIDENTS.c.key == bindparam("b_key")) | (INCIDENTS.c.id == bindparam("b_id"))))
_OPEN_BY_DEDUP = Prepared(
    select(*STORED_COLUMNS)
    .where(INCIDENTS.c.dedup_key == bindparam("b_dedup"),
           or_(*(INCIDENTS.c.status == status for status in OPEN_STATUSES)))
    .order_by(INCIDENTS.c.created_at).limit(1)
)
_LAST_NUMBER = Prepared(select(func.coalesce(func.max(INCIDENTS.c.key_number), 0)).where(
    INCIDENTS.c.origin_site == bindparam("b_site")))
_STORED_BY_IDS = PreparedIn(lambda ids: select(*STORED_COLUMNS).where(INCIDENTS.c.id.in_(ids)))
_SET_DUE = Prepared(INCIDENTS.update().where(INCIDENTS.c.id == bindparam("b_id")), ("next_due_at",))
_NOTES = select(OPS.c.op_id, OPS.c.entity, OPS.c.hlc, OPS.c.site, OPS.c.seq, OPS.c.actor,
                OPS.c.payload).where(OPS.c.kind == Kind.NOTE.value)
# A SQLite transaction of `Prepared` statements alone, begun and committed on the driver.
_BEGIN_WRITE = Prepared(text("BEGIN IMMEDIATE"))
_COMMIT = Prepared(text("COMMIT"))
_DATA_VERSION = Prepared(text("PRAGMA data_version").columns(data_version=Integer))
_LIST_COLUMNS = [column for column in INCIDENTS.c if column.name != "fold_state"]
# A row of `Store.incidents`: every `Incident` column as an attribute but `fold_state`.
IncidentRow = Row[Any]
_SITE_NAME = re.compile(r"^[A-Z][A-Z0-9]{0,7}$")


def _note(row: Any) -> IncidentNote:
    return IncidentNote.model_construct(
        op_id=row.op_id, incident_id=row.entity, hlc=row.hlc, site=row.site, seq=row.seq,
        author=row.actor, text=row.payload["text"], created_at=ms_to_dt(wall_ms(row.hlc)))


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


class _Known:
    """Incident rows as this store last wrote or read them (`STORED_COLUMNS` values),
    and the highest key number its site has opened.

    They spare a write reading back what this store wrote: the incident a one-op
    transaction acts on, the new incidents an ingest group's engine turn acts on,
    the key number a trigger counts on from. On SQLite they last from one
    transaction to the next while no other connection commits: `PRAGMA
    data_version`, read once the write lock is held, moves on every other
    connection's commit and never on this one's. Elsewhere (PostgreSQL, or an
    in-memory SQLite whose one connection serves every writer) they last one
    transaction: once it has written it holds the head's lock, so what it wrote
    is what the table holds. A rolled-back transaction forgets them all. Only the
    store writes the fold's columns (`ProjectionWriter`), and it remembers what it
    writes; a caller's own statements in `Writes.conn` must leave them alone.
    """

    LIMIT = 2048  # incidents kept; the older half is dropped past it

    def __init__(self, lasting: bool) -> None:
        self.lasting = lasting
        self.rows: dict[str, tuple[Any, ...]] = {}
        self.keys: dict[str, str] = {}  # key -> id of the incidents in `rows`
        self.number: int | None = None
        self._version: int | None = None

    def begin(self, conn: Connection) -> None:
        """Check, inside a write transaction, that nobody else wrote since the last one."""
        version = _DATA_VERSION.rows(conn, {})[0][0] if self.lasting else None
        if version is None or version != self._version:
            self.forget()
            self._version = version

    def forget(self) -> None:
        self.rows.clear()
        self.keys.clear()
        self.number = None
        self._version = None

    def remember(self, values: tuple[Any, ...]) -> None:
        rows = self.rows
        incident = values[0]
        if rows.pop(incident, None) is None and len(rows) >= self.LIMIT:
            kept = list(rows.items())[self.LIMIT // 2:]
            self.rows = rows = dict(kept)
            self.keys = {row[1]: incident for incident, row in kept}
        rows[incident] = values
        self.keys[values[1]] = incident


@dataclass(slots=True)
class _Written:
    """An incident written in this transaction whose projection is not yet issued."""

    state: IncidentState
    before: tuple[Any, ...] | None  # its row's stored values as read (None: opened here)


class Writes:
    """The writes of one transaction (`Store.writing`), and the transaction itself as
    a context manager: it commits when the block ends, and rolls back if it raises.

    A refused action (`IllegalTransition`, `NotFound`, `VocabularyError`) raises
    before anything is written, so a caller batching many requests may catch it
    and carry on with the rest of the batch.

    The ops and the projection's writes are gathered and issued together when
    the transaction ends (or `conn` is used): many acts on many incidents then
    cost a few executemany statements, and an incident acted on again is taken
    from memory instead of read back. `conn` issues what is gathered first, so a
    caller's own statements always see every write made so far.
    """

    def __init__(self, store: Store, *, core: bool) -> None:
        self.store = store
        self._core = core  # see `Store._begin`
        self._written: dict[str, _Written] = {}
        self._keys: dict[str, str] = {}  # key -> id of the incidents in `_written`
        self._dedup_keys: set[str] = set()  # their dedup keys: the table may be stale on them
        self._due: dict[str, datetime | None] = {}

    def __enter__(self) -> Writes:
        self._conn, self._begun = self.store._begin(core=self._core)
        self._chain = Chain(self.store.log, self._conn)
        return self

    def __exit__(self, kind: object, error: BaseException | None, _tb: object) -> None:
        if error is None:
            try:
                self._flush()
            except BaseException as exc:
                self.store._end(self._conn, self._begun, exc)
                raise
        self.store._end(self._conn, self._begun, error)

    @property
    def conn(self) -> Connection:
        """The transaction's connection, with every write made so far issued."""
        self._flush()
        return self._conn

    def trigger(
        self, actor: str, *, title: str, service: str, severity: str,
        dedup_key: str | None = None, labels: dict[str, str] | None = None,
        priority: str | None = None, team: str | None = None, policy: str | None = None,
    ) -> Triggered:
        """Open an incident, or retrigger the open one that has this dedup key."""
        if dedup_key:
            if dedup_key in self._dedup_keys:
                self._flush()
            rows = _OPEN_BY_DEDUP.rows(self._conn, {"b_dedup": dedup_key})
            if rows:
                state = state_from_values(rows[0])
                change = commands.retrigger(state, title)
                return Triggered(self._record(actor, state.id, [change], state, rows[0]),
                                 False)
        site, known = self.store.site, self.store._known
        held = known.number
        if held is None:
            held = int(_LAST_NUMBER.rows(self._conn, {"b_site": site.site})[0][0])
        number = known.number = held + 1
        change = commands.trigger(
            key=f"{site.name}-{number}", key_number=number, title=title, service=service,
            severity=severity, priority=priority, team=team, policy=policy,
            dedup_key=dedup_key, labels=labels,
        )
        return Triggered(self._record(actor, oplog.new_op_id(), [change], None, None), True)

    def act(
        self, key: str, actor: str, decide: Callable[[IncidentState], Change | Sequence[Change]],
    ) -> IncidentState:
        """Decide on the incident as it stands now, and record the decision."""
        wanted = key.strip()
        upper, lower = wanted.upper(), wanted.lower()  # a key, or an id
        written = self._written.get(self._keys.get(upper, lower))
        if written is not None:
            state, before = written.state.copy(), written.before
        else:
            known = self.store._known
            before = known.rows.get(known.keys.get(upper, lower))
            if before is None:
                rows = _STORED_BY_KEY_OR_ID.rows(self._conn, {"b_key": upper, "b_id": lower})
                if not rows:
                    raise NotFound(f"no incident {key!r} in this store")
                before = rows[0]
                known.remember(before)
            state = state_from_values(before)
        decided = decide(state)
        changes = [decided] if isinstance(decided, Change) else list(decided)
        return self._record(actor, state.id, changes, state, before)

    def set_next_due(self, due: Mapping[str, datetime | None]) -> None:
        """Set the engine's `next_due_at` of these incidents, with the other writes."""
        self._due.update(due)

    def _record(self, actor: str, entity: str, changes: Sequence[Change],
                state: IncidentState | None, before: tuple[Any, ...] | None) -> IncidentState:
        # str() of a kind is its text, a third of the time `.value` takes.
        ops = self._chain.append([Draft(actor, entity, str(c.kind), c.payload) for c in changes])
        # Local ops sort after everything this store holds, so they fold incrementally.
        for op in ops:
            state = apply(state, op)
        assert state is not None  # the first local op of an incident is its trigger
        written = self._written.get(entity)
        if written is None:
            self._written[entity] = _Written(state, before)
        else:
            written.state = state
        self._keys[state.key] = entity
        if state.dedup_key:
            self._dedup_keys.add(state.dedup_key)
        return state

    def _flush(self) -> None:
        self._chain.write()
        if self._written:
            writer = ProjectionWriter(self._conn)
            remember = self.store._known.remember
            for written in self._written.values():
                remember(writer.put_stored(written.state, written.before))
            writer.flush()
            self._written.clear()
            self._keys.clear()
            self._dedup_keys.clear()
        if self._due:
            _SET_DUE.run(self._conn, [{"b_id": i, "next_due_at": at} for i, at in self._due.items()])
            self._due.clear()


class Store:
    """One open store. Writes are serialised per store (SQLite's write lock, or
    a row lock on this site's chain head in PostgreSQL), so several processes
    may share one store safely."""

    def __init__(self, engine: Engine, site: LocalSite, clock: Clock) -> None:
        self.engine = engine
        self.site = site
        self.clock = clock
        self.log = OpLog(site.site, clock)
        self._writer: Connection | None = None
        self._write_lock = threading.Lock()
        self._write_thread: int | None = None
        # An in-memory SQLite has one connection for every writer: no data_version to go by.
        self._known = _Known(engine.dialect.name == "sqlite"
                             and not isinstance(engine.pool, StaticPool))

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
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------

    def _begin(self, *, core: bool) -> tuple[Connection, RootTransaction | None]:
        """Take this store's write turn and begin a write transaction on its own
        connection, kept between transactions; `_end` ends both.

        Checking a connection out of the pool and back costs more than a one-op
        commit's own work in SQLite. Writers take turns on it (the database
        serialises them anyway); a connection that failed is not used again. A
        server database gets a pooled connection per transaction, checked on
        checkout, so a restarted server costs no failed write.

        A SQLite transaction that runs `Prepared` statements alone (`core=False`)
        begins and commits on the driver's connection, without SQLAlchemy's
        transaction and its events, which cost about a quarter of a one-op
        transaction's CPU besides its fsync; a Core statement in it would fail
        to begin a second transaction. Otherwise SQLAlchemy's transaction is
        returned with the connection.
        """
        thread = threading.get_ident()
        if self._write_thread == thread:
            raise RuntimeError("a write transaction is already open in this thread")
        self._write_lock.acquire()
        self._write_thread = thread
        conn, begun = self._writer, None
        try:
            if conn is None:
                conn = self.engine.connect()
            if core or conn.dialect.name != "sqlite":
                begun = conn.begin()
            else:
                _BEGIN_WRITE.run(conn, {})
            self._known.begin(conn)
        except BaseException as exc:
            self._end(conn, begun, exc)
            raise
        return conn, begun

    def _end(self, conn: Connection | None, begun: RootTransaction | None,
             error: BaseException | None) -> None:
        """Commit what `_begin` began, or roll it back after `error`; hand the turn on."""
        kept = conn is not None and conn.dialect.name == "sqlite"
        try:
            if conn is not None:
                try:
                    if error is None:
                        _COMMIT.run(conn, {}) if begun is None else begun.commit()
                except BaseException as exc:
                    error = exc
                    raise
                finally:
                    if error is not None:
                        self._known.forget()
                        kept = kept and not isinstance(error, DBAPIError)
                        if begun is not None:
                            begun.rollback()
                        else:
                            conn.connection.dbapi_connection.rollback()  # type: ignore[union-attr]
        finally:
            self._write_thread = None
            self._writer = conn if kept else None
            if conn is not None and not kept:
                conn.close()
            self._write_lock.release()

    def writing(self) -> AbstractContextManager[Writes]:
        """One transaction for many writes: group commit for concurrent requests."""
        return Writes(self, core=True)

    def trigger(
        self, actor: str, *, title: str, service: str, severity: str,
        dedup_key: str | None = None, labels: dict[str, str] | None = None,
        priority: str | None = None, team: str | None = None, policy: str | None = None,
    ) -> Triggered:
        """Open an incident, or retrigger the open one that has this dedup key."""
        with Writes(self, core=False) as writes:
            return writes.trigger(actor, title=title, service=service, severity=severity,
                                  dedup_key=dedup_key, labels=labels, priority=priority,
                                  team=team, policy=policy)

    def act(
        self, key: str, actor: str, decide: Callable[[IncidentState], Change | Sequence[Change]],
    ) -> IncidentState:
        """Decide on the incident as it stands inside the write transaction, and record it.

        `decide` raises `IllegalTransition` to refuse; then nothing is written.
        """
        with Writes(self, core=False) as writes:
            return writes.act(key, actor, decide)

    def receive(self, ops: Iterable[Op]) -> list[Op]:
        """Apply ops made elsewhere, in one transaction; returns the new ones.

        Every statement of it is `Prepared`, so SQLite's transaction is the driver's.
        """
        with Writes(self, core=False) as writes:
            conn = writes.conn
            fresh = self.log.receive(conn, list(ops))
            self._known.number = None  # an op of this site's own may have come back
            by_entity: dict[str, list[Op]] = {}
            for op in fresh:
                if op.kind in KINDS:
                    by_entity.setdefault(op.entity, []).append(op)
            self._fold_in(conn, by_entity)
        return fresh

    def _fold_in(self, conn: Connection, by_entity: dict[str, list[Op]]) -> None:
        rows: dict[str, Any] = {row.id: row for row in _STORED_BY_IDS.rows(conn, list(by_entity))}
        writer = ProjectionWriter(conn)
        remember = self._known.remember
        refold: list[tuple[str, Any]] = []  # (id, its row, or None when new)
        for entity, ops in by_entity.items():
            ops.sort(key=lambda o: o.sort_key)
            row = rows.get(entity)
            if row is None:
                if any(op.kind == Kind.TRIGGER for op in ops):
                    refold.append((entity, None))
                continue
            state: IncidentState | None = state_from_values(row)
            assert state is not None
            if ops[0].sort_key < state.last:  # a late op: its incident folds again from the log
                refold.append((entity, row))
                continue
            for op in ops:
                state = apply(state, op)
            assert state is not None
            remember(writer.put_stored(state, row))
        if refold:
            # A new incident whose ops all came in this batch folds from them alone.
            held = oplog.count_by_entity(conn, [entity for entity, _ in refold])
            whole = {e for e, row in refold if row is None and held[e] == len(by_entity[e])}
            histories = oplog.ops_for_entities(conn, [e for e, _ in refold if e not in whole])
            histories.update({e: by_entity[e] for e in whole})
            for entity, row in refold:
                folded = fold(histories[entity])
                if folded is not None:
                    remember(writer.put_stored(folded, row))
        writer.flush()

    def rebuild(self) -> int:
        """Fold every incident again from the op log; returns the number of incidents."""
        count = 0
        with Writes(self, core=True) as writes:
            conn = writes.conn
            due = [{"b_id": r.id, "next_due_at": r.next_due_at} for r in conn.execute(
                select(INCIDENTS.c.id, INCIDENTS.c.next_due_at)
                .where(INCIDENTS.c.next_due_at.is_not(None)))]
            conn.execute(delete(INCIDENTS))
            writer = ProjectionWriter(conn)
            history: list[Op] = []
            for op in [*oplog.iter_ops_by_entity(conn), None]:
                if history and (op is None or op.entity != history[0].entity):
                    state = fold(history)
                    if state is not None:
                        writer.put_stored(state, None)
                        count += 1
                    history = []
                    if len(writer.inserts) >= 1000:
                        writer.flush()
                if op is not None:
                    history.append(op)
            writer.flush()
            self._known.forget()
            if due:
                conn.execute(INCIDENTS.update().where(INCIDENTS.c.id == bindparam("b_id")), due)
        return count

    def verify(self) -> list[ChainProblem]:
        with db.reading(self.engine) as conn:
            return oplog.verify(conn)

    # -- reading -------------------------------------------------------------

    def _row(self, conn: Connection, key: str) -> Any:
        """The incident's row (a named tuple) by key or id."""
        wanted = key.strip()
        rows = _BY_KEY_OR_ID.rows(conn, {"b_key": wanted.upper(), "b_id": wanted.lower()})
        if not rows:
            raise NotFound(f"no incident {key!r} in this store")
        return rows[0]

    def _find(self, conn: Connection, key: str) -> IncidentState:
        return state_from_row(self._row(conn, key))

    def get(self, key: str) -> IncidentState:
        with db.reading(self.engine) as conn:
            return self._find(conn, key)

    def find(self, key: str) -> Incident:
        """The projection row of the incident with this key (or id)."""
        with db.reading(self.engine) as conn:
            return Incident.model_construct(**self._row(conn, key)._asdict())

    def incidents(self, *, status: str = "open", limit: int | None = None) -> list[IncidentRow]:
        """Open incidents most severe first (then oldest), or all of them newest first.

        Incidents opened in the same millisecond keep their order of creation (their
        uuid7 ids sort by it), whichever status they have. Plain rows without the
        fold's bookkeeping: a queue of thousands is read often, and building a model
        per row would cost more than the query.
        """
        query = select(*_LIST_COLUMNS)
        if status == "open":
            query = query.where(INCIDENTS.c.status.in_(OPEN_STATUSES)).order_by(
                INCIDENTS.c.severity, INCIDENTS.c.created_at, INCIDENTS.c.id)
        else:
            query = query.order_by(INCIDENTS.c.created_at.desc(), INCIDENTS.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with db.reading(self.engine) as conn:
            return list(conn.execute(query))

    def notes(self, incident_id: str) -> list[IncidentNote]:
        with db.reading(self.engine) as conn:
            return [_note(row) for row in conn.execute(
                _NOTES.where(OPS.c.entity == incident_id).order_by(OPS.c.hlc, OPS.c.site, OPS.c.seq))]

    def timeline(self, incident_id: str) -> list[Op]:
        with db.reading(self.engine) as conn:
            return oplog.ops_for_entity(conn, incident_id)

    def ops_after(self, vector: Mapping[str, int], limit: int,
                  max_bytes: int) -> tuple[list[Op], bool]:
        with db.reading(self.engine) as conn:
            return oplog.ops_after(conn, vector, limit, max_bytes)

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
            note_rows = [dict(_note(row)) for row in conn.execute(_NOTES.order_by(OPS.c.op_id))]
        return incidents, note_rows
