"""Appending to, receiving into and verifying the op log.

Everything runs on a SQLAlchemy `Connection` inside the caller's transaction,
so the caller can fold the op into its own tables in the same commit.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import namedtuple
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from sqlalchemy import (
    BindParameter,
    ClauseElement,
    ColumnElement,
    Connection,
    Dialect,
    bindparam,
    func,
    select,
)
from sqlalchemy.exc import DBAPIError

from sync.hlc import HLC, Clock
from sync.ops import GENESIS_HASH, Op, canonical_json, op_hash_encoded
from sync.tables import LocalSite, OpLogRow, SiteHead

OPS = OpLogRow.__table__  # type: ignore[attr-defined]
HEADS = SiteHead.__table__  # type: ignore[attr-defined]
SITES = LocalSite.__table__  # type: ignore[attr-defined]


class _Plan:
    """A statement compiled for one dialect, with SQLAlchemy's own value processors."""

    def __init__(self, statement: ClauseElement, keys: Sequence[str] | None,
                 verbatim: Collection[str], dialect: Dialect) -> None:
        compiled: Any = statement.compile(dialect=dialect, column_keys=keys)
        self.sql = compiled.string
        assert "POSTCOMPILE" not in self.sql, "expanding parameters need Connection.execute"
        # Values the statement carries itself (a LIMIT); a bind without one is required.
        self.defaults = {k: v for k, v in compiled.params.items()
                         if v is not None and not compiled.binds[k].required}
        self.positional = dialect.positional
        # The parameters of a statement without any (BEGIN, COMMIT, a pragma).
        self.none: tuple[()] | dict[str, Any] = () if self.positional else {}
        names = (compiled.positiontup or ()) if self.positional else list(compiled.params)
        self.names = list(names)
        self.binds: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, None if name in verbatim
             else compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names]
        # Rows of values in `keys` order are the driver's parameters as they are, or
        # become them by position: each slot takes its value from `order` (None: the
        # row is in the slots' order already), and the few `processed` go through
        # their processors, so a wide row costs a copy and a call per processed value.
        self.slots: list[int] | None = None
        self.order: list[int] | None = None
        self.processed = [(n, process) for n, (_, process) in enumerate(self.binds)
                          if process is not None]
        if self.positional and not self.defaults and keys and set(self.names) <= set(keys):
            index = {key: n for n, key in enumerate(keys)}
            self.slots = [index[name] for name in self.names]
            if self.slots != list(range(len(keys))):
                self.order = self.slots
        self.as_given = (self.slots is not None and self.order is None and not self.processed)
        columns: list[ColumnElement[Any]] = list(getattr(statement, "selected_columns", ()))
        self.row: Any = namedtuple("Row", [str(c.key) for c in columns], rename=True)  # type: ignore[misc]
        self.columns: list[tuple[int, Callable[[Any], Any]]] = []
        for n, column in enumerate(columns):
            process = column.type.dialect_impl(dialect).result_processor(dialect, None)
            if process is not None:
                self.columns.append((n, process))

    def params(self, given: Mapping[str, Any]) -> Any:
        """The driver's parameters; a missing value raises `KeyError`."""
        merged = {**self.defaults, **given} if self.defaults else given
        values = [merged[n] if p is None else p(merged[n]) for n, p in self.binds]
        return tuple(values) if self.positional else dict(zip(self.names, values, strict=True))

    def row_of(self, raw: Sequence[Any]) -> Any:
        if not self.columns:
            return self.row._make(raw)
        values = list(raw)
        for n, process in self.columns:
            values[n] = process(values[n])
        return self.row._make(values)


class Prepared:
    """A Core statement run straight on the driver's cursor under a `Connection`.

    Going through `Connection.execute` costs 15-80 µs a statement, more than
    SQLite's own work for a one-row write; the statements on every write's path
    skip it. Each is compiled once per dialect and its values pass through the
    same type processors Core uses, so what is stored and read is what Core would
    store and read, on SQLite and PostgreSQL alike; a driver error is raised as
    SQLAlchemy's `DBAPIError`, as Core raises it. It runs inside the connection's
    transaction. No expanding (`IN`) parameters: those stay with Core. An insert
    or update sets `columns` (all of the table's when not given).

    `verbatim` names JSON columns whose values are given as JSON text, which
    is bound as it is: SQLite stores the serializer's text, and PostgreSQL's
    driver sends it cast to JSON, so a writer that has encoded a value already
    does not encode it again.
    """

    def __init__(self, statement: ClauseElement, columns: Sequence[str] | None = None,
                 verbatim: Collection[str] = ()) -> None:
        self.statement = statement
        self.columns = columns
        self.verbatim = frozenset(verbatim)
        self._plans: dict[tuple[Any, ...], _Plan] = {}
        self._last: tuple[Dialect, _Plan] | None = None  # an engine's dialect is one object
        # The driver's connection this ran on last, and a cursor on it: a cursor made per
        # statement cost as much as running a one-row write's statement.
        self._cursor: tuple[Any, Any] | None = None

    def _plan(self, dialect: Dialect) -> _Plan:
        """The plan for a dialect other than the last one's (callers check that first:
        a call per statement to find the same plan again costs more than the check)."""
        key = (type(dialect), dialect.paramstyle, dialect.server_version_info)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = _Plan(self.statement, self.columns, self.verbatim, dialect)
        self._last = (dialect, plan)
        return plan

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """The result rows (named tuples), column values processed as Core would."""
        last = self._last
        plan = last[1] if last is not None and last[0] is conn.dialect else self._plan(conn.dialect)
        cursor = self._run(conn, plan, plan.params(params) if plan.binds else plan.none, many=False)
        return [plan.row_of(raw) for raw in cursor.fetchall()]

    def run(self, conn: Connection, params: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> int:
        """Execute once (a mapping) or for each of a list of mappings; the rows affected."""
        last = self._last
        plan = last[1] if last is not None and last[0] is conn.dialect else self._plan(conn.dialect)
        if isinstance(params, (dict, Mapping)):  # a dict is found before the ABC is asked
            given = plan.params(params) if plan.binds else plan.none
            return int(self._run(conn, plan, given, many=False).rowcount)
        return int(self._run(conn, plan, [plan.params(p) for p in params], many=True).rowcount)

    def run_rows(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> int:
        """Execute for each row of values given in `columns` order; the rows affected.

        Where the driver takes such rows as they are (SQLite, no value to process),
        nothing is built per row; where it takes values by position, a tuple.
        """
        last = self._last
        plan = last[1] if last is not None and last[0] is conn.dialect else self._plan(conn.dialect)
        if plan.as_given:
            return int(self._run(conn, plan, rows, many=True).rowcount)
        if plan.slots is not None:
            order, processed = plan.order, plan.processed
            built = []
            for row in rows:
                values = list(row) if order is None else [row[n] for n in order]
                for n, process in processed:
                    values[n] = process(values[n])
                built.append(tuple(values))
            return int(self._run(conn, plan, built, many=True).rowcount)
        keys = self.columns or ()
        return self.run(conn, [dict(zip(keys, row, strict=True)) for row in rows])

    def _run(self, conn: Connection, plan: _Plan, params: Any, *, many: bool) -> Any:
        try:
            driver = conn.connection.dbapi_connection
            held = self._cursor
            if held is not None and held[0] is driver:
                cursor = held[1]
            else:
                cursor = driver.cursor()  # type: ignore[union-attr]
                self._cursor = (driver, cursor)
            if many:
                cursor.executemany(plan.sql, params)
            else:
                cursor.execute(plan.sql, params)
            return cursor
        except conn.dialect.loaded_dbapi.Error as exc:  # evaluated only when something raised
            raise DBAPIError.instance(plan.sql, params, exc, conn.dialect.loaded_dbapi.Error,
                                      dialect=conn.dialect, ismulti=many) from exc


class PreparedIn:
    """A select with `column IN (...)` of a list, run as `Prepared` in chunks.

    Core compiles an expanding IN afresh on every execution; this keeps one
    `Prepared` per power-of-two length up to the chunk size and pads a chunk
    with its last value (IN ignores repeats). `build` makes the statement from
    the list of bound parameters that stands for the values.
    """

    CHUNK = 512  # values per statement: well under every backend's parameter limit

    def __init__(self, build: Callable[[list[BindParameter[Any]]], ClauseElement]) -> None:
        self.build = build
        self._sized: dict[int, Prepared] = {}

    def rows(self, conn: Connection, values: Sequence[Any],
             params: Mapping[str, Any] | None = None) -> list[Any]:
        found: list[Any] = []
        for start in range(0, len(values), self.CHUNK):
            chunk = list(values[start:start + self.CHUNK])
            size = 1 << (len(chunk) - 1).bit_length()
            prepared = self._sized.get(size)
            if prepared is None:
                prepared = self._sized[size] = Prepared(
                    self.build([bindparam(f"b_in{n}") for n in range(size)]))
            chunk += chunk[-1:] * (size - len(chunk))
            found += prepared.rows(conn, {**(params or {}),
                                          **{f"b_in{n}": v for n, v in enumerate(chunk)}})
        return found


# Hot statements are built once, with bound parameters, and run as `Prepared`:
# building and executing a statement through Core costs more than SQLite's insert.
_HEAD_FOR_UPDATE = Prepared(
    select(HEADS.c.seq, HEADS.c.hash, HEADS.c.hlc)
    .where(HEADS.c.site == bindparam("b_site")).with_for_update()
)
# The head updates take rows of their parameters in this order (`_new_head`), as they are.
_NEW_HEAD = ("seq", "hash", "hlc", "b_site")
_UPDATE_HEAD = Prepared(HEADS.update().where(HEADS.c.site == bindparam("b_site")), _NEW_HEAD)
# Advances this site's head only from where this process last left it: a miss
# means another process (or a rolled-back transaction) moved it, so read it again.
_CLAIM_HEAD = Prepared(HEADS.update().where(
    HEADS.c.site == bindparam("b_site"), HEADS.c.seq == bindparam("b_seq"),
    HEADS.c.hash == bindparam("b_hash")), (*_NEW_HEAD, "b_seq", "b_hash"))
_INSERT_HEAD = Prepared(HEADS.insert())
_OP_KEYS = ("op_id", "site", "seq", "hlc", "actor", "entity", "kind", "payload", "schema",
            "prev_hash", "hash")
# Rows of `_OP_KEYS` values, the payload as the canonical JSON its op's hash covers.
_INSERT_OP = Prepared(OPS.insert(), _OP_KEYS, verbatim=("payload",))
_HELD_IDS = PreparedIn(lambda ids: select(OPS.c.op_id, OPS.c.hash).where(OPS.c.op_id.in_(ids)))
# A batch holds a run of each site's chain: one range read, no list of seqs.
_HELD_SEQS = Prepared(select(OPS.c.seq, OPS.c.hash).where(
    OPS.c.site == bindparam("b_site"), OPS.c.seq.between(bindparam("b_low"), bindparam("b_high"))))
_FOLLOWING = Prepared(
    select(OPS.c.seq, OPS.c.prev_hash, OPS.c.hash, OPS.c.hlc)
    .where(OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_seq")).order_by(OPS.c.seq)
)
# Whether anything is stored past a site's head: ops received out of order, before a gap.
_PAST_HEAD = Prepared(select(OPS.c.seq).where(
    OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_seq")).limit(1))
_OP_COLUMNS = (
    OPS.c.op_id, OPS.c.site, OPS.c.seq, OPS.c.hlc, OPS.c.actor, OPS.c.entity, OPS.c.kind,
    OPS.c.payload, OPS.c.schema, OPS.c.prev_hash, OPS.c.hash,
)


class BadOpError(ValueError):
    """An op refused for what it is; `site` is the origin it claims."""

    def __init__(self, message: str, site: str) -> None:
        super().__init__(message)
        self.site = site


class EquivocationError(BadOpError):
    """The same op id or (site, seq) arrived with different content."""


def _equivocation(op: Op) -> EquivocationError:
    return EquivocationError(
        f"site {op.site} seq {op.seq} (op {op.op_id}) arrived with content that differs from "
        "the op already held: a cloned or restored store is reusing its site id", op.site
    )


class CorruptOpError(BadOpError):
    """An op whose content does not match its own hash."""


class Draft(NamedTuple):
    """A local op before it gets its id, seq, stamp and hash.

    A named tuple: a batch makes one per op, and a frozen dataclass cost several
    times as much to make."""

    actor: str
    entity: str
    kind: str
    payload: Mapping[str, Any] = MappingProxyType({})
    schema: int = 1


@dataclass(frozen=True, slots=True)
class ChainProblem:
    site: str
    seq: int
    message: str

    def __str__(self) -> str:
        return f"site {self.site} seq {self.seq}: {self.message}"


class _Uuid7:
    """uuid7s that sort after every id this process made before, as `uuid6.uuid7`
    makes them (ids made within one millisecond take the following milliseconds),
    cheaply, as a batch of ops makes one per op: a system call for 10 random
    bytes each cost more than the rest, so random bits are drawn 400 ids at a
    time, version and variant already set; a forked child draws its own."""

    # 74 random bits around the version (7) and variant (0b10) fields of RFC 9562.
    RANDOM = (1 << 76) - 1 & ~(0b11 << 62)
    VERSION = 0x7 << 76 | 0b10 << 62

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last_ms = 0
        self.pool: list[int] = []
        os.register_at_fork(after_in_child=self.pool.clear)

    def __call__(self) -> str:
        with self.lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self.last_ms:
                ms = self.last_ms + 1
            self.last_ms = ms
            if not self.pool:
                drawn = os.urandom(4000)
                self.pool += [int.from_bytes(drawn[n:n + 10]) & self.RANDOM | self.VERSION
                              for n in range(0, 4000, 10)]
            h = "%032x" % (ms << 80 | self.pool.pop())
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


new_op_id = _Uuid7()


OpRow = tuple[str, str, int, str, str, str, str, str, int, str, str]  # `_INSERT_OP`'s values


def _row(op: Op, payload_json: str) -> OpRow:
    return (op.op_id, op.site, op.seq, op.hlc, op.actor, op.entity, op.kind, payload_json,
            op.schema, op.prev_hash, op.hash)


def op_from_row(row: Any) -> Op:
    return Op(
        op_id=row.op_id, site=row.site, seq=row.seq, hlc=row.hlc, actor=row.actor,
        entity=row.entity, kind=row.kind, payload=row.payload, schema=row.schema,
        prev_hash=row.prev_hash, hash=row.hash,
    )


def create_site(conn: Connection, name: str, clock: Clock) -> LocalSite:
    """Give a new store its identity: a random site id that no other store shares."""
    site = LocalSite(site=uuid.uuid4().hex, name=name, created_hlc=clock.send().encode())
    conn.execute(SITES.insert().values(site=site.site, name=site.name, created_hlc=site.created_hlc))
    conn.execute(HEADS.insert().values(site=site.site, seq=0, hash=GENESIS_HASH, hlc=""))
    return site


def load_site(conn: Connection) -> LocalSite | None:
    row = conn.execute(select(SITES)).first()
    return None if row is None else LocalSite(site=row.site, name=row.name, created_hlc=row.created_hlc)


def latest_stamp(conn: Connection) -> HLC | None:
    """The highest stamp any site's chain head carries: a restarted clock starts above it."""
    stamps = [HLC.decode(h) for (h,) in conn.execute(select(HEADS.c.hlc)) if h]
    return max(stamps, default=None)


class OpLog:
    """The log as seen from one site, with that site's clock."""

    def __init__(self, site: str, clock: Clock) -> None:
        self.site = site
        self.clock = clock
        # (seq, hash) of this site's head as this process last wrote or read it: a
        # hint that saves reading the head before each write, checked by `_CLAIM_HEAD`.
        self._head: tuple[int, str] | None = None

    def append(self, conn: Connection, draft: Draft) -> Op:
        return self.append_many(conn, [draft])[0]

    def append_many(self, conn: Connection, drafts: Sequence[Draft]) -> list[Op]:
        """Record local ops, chained to this site's head (see `Chain`)."""
        chain = Chain(self, conn)
        ops = chain.append(drafts)
        chain.write()
        return ops

    def _lock(self, conn: Connection, drafts: Sequence[Draft]) -> tuple[list[Op], list[OpRow]]:
        """Stamp `drafts` on this site's head and move the head to the last of them.

        The head is advanced with a conditional update from where this process
        last left it, which also takes its row lock (PostgreSQL) so concurrent
        writers serialise; if the head moved meanwhile, it is read under lock and
        the ops are stamped again above what the other writer issued.
        """
        head = self._head
        if head is not None:
            ops, rows = self._stamp(head, drafts)
            tip = ops[-1]
            if _CLAIM_HEAD.run_rows(conn, [(tip.seq, tip.hash, tip.hlc, self.site, *head)]) == 1:
                return ops, rows
        row = _HEAD_FOR_UPDATE.rows(conn, {"b_site": self.site})[0]
        if row.hlc:
            self.clock.observe(HLC.decode(row.hlc))
        ops, rows = self._stamp((row.seq, row.hash), drafts)
        _UPDATE_HEAD.run_rows(conn, [_new_head(self.site, ops[-1])])
        return ops, rows

    def _stamp(self, head: tuple[int, str],
               drafts: Sequence[Draft]) -> tuple[list[Op], list[OpRow]]:
        """The drafts as ops chained on `head`, and their rows: each payload is encoded
        once, for its hash and its row alike."""
        seq, prev = head
        site, send = self.site, self.clock.send_encoded
        ops: list[Op] = []
        rows: list[OpRow] = []
        for actor, entity, kind, given, schema in drafts:
            seq += 1
            op_id, hlc, payload = new_op_id(), send(), dict(given)
            text = canonical_json(payload)
            hashed = op_hash_encoded(op_id, site, seq, hlc, actor, entity, kind, text, schema, prev)
            ops.append(Op(op_id, site, seq, hlc, actor, entity, kind, payload, schema, prev, hashed))
            rows.append((op_id, site, seq, hlc, actor, entity, kind, text, schema, prev, hashed))
            prev = hashed
        return ops, rows

    def receive(self, conn: Connection, ops: Sequence[Op]) -> list[Op]:
        """Store ops made elsewhere; returns the ones that were new, in the order given.

        A corrupt op, an equivocating one, or one stamped too far in the future
        raises before anything is written, and the whole batch is refused.

        Each site's head is locked first. A site whose ops in the batch all lie
        past its head, with nothing stored past the head (a pull from a healthy
        peer, a snapshot's lot), holds none of them by (site, seq), and after
        the insert its chain past the head is exactly those ops: they are linked
        in memory, without the range read of held seqs or reading the chain back.
        """
        batch: dict[str, Op] = {}
        rows: dict[str, OpRow] = {}
        runs: dict[str, dict[int, Op]] = {}
        for op in ops:
            rows.setdefault(op.op_id, _verified_row(op))
            first = runs.setdefault(op.site, {}).setdefault(op.seq, batch.setdefault(op.op_id, op))
            if first.hash != op.hash or batch[op.op_id].hash != op.hash:
                raise _equivocation(op)
        heads = {site: _lock_head(conn, site) for site in sorted(runs)}
        ahead = {site for site, run in runs.items() if min(run) > heads[site][0]
                 and not _PAST_HEAD.rows(conn, {"b_site": site, "b_seq": heads[site][0]})}
        held: set[str] = set()
        for op_id, digest in _HELD_IDS.rows(conn, list(batch)):
            if digest != batch[op_id].hash:
                raise _equivocation(batch[op_id])
            held.add(op_id)
        for site, run in runs.items():
            if site in ahead:
                continue
            for seq, digest in _HELD_SEQS.rows(
                    conn, {"b_site": site, "b_low": min(run), "b_high": max(run)}):
                sent = run.get(seq)
                if sent is not None and sent.hash != digest:
                    raise _equivocation(sent)
        new = [op for op in batch.values() if op.op_id not in held]
        if not new:
            return []
        self.clock.receive(max(HLC.decode(op.hlc) for op in new))
        _INSERT_OP.run_rows(conn, [rows[op.op_id] for op in new])
        for site, head in heads.items():
            past = ([op for _, op in sorted(runs[site].items())] if site in ahead
                    else _FOLLOWING.rows(conn, {"b_site": site, "b_seq": head[0]}))
            tip = _chain(site, head, past)
            if tip != head:
                _UPDATE_HEAD.run_rows(conn, [(*tip, site)])
        return new


def _verified_row(op: Op) -> OpRow:
    """The op's row, once its content is found to match its hash."""
    text = canonical_json(op.payload)
    if op.hash != op_hash_encoded(op.op_id, op.site, op.seq, op.hlc, op.actor, op.entity, op.kind,
                                  text, op.schema, op.prev_hash):
        raise CorruptOpError(
            f"op {op.op_id} (site {op.site} seq {op.seq}) does not match its hash", op.site)
    return _row(op, text)


def _lock_head(conn: Connection, site: str) -> tuple[int, str, str]:
    """A site's (seq, hash, stamp) head, locked until the transaction ends; genesis
    for a site never seen before."""
    heads = _HEAD_FOR_UPDATE.rows(conn, {"b_site": site})
    if heads:
        return heads[0][0], heads[0][1], heads[0][2]
    _INSERT_HEAD.run(conn, {"site": site, "seq": 0, "hash": GENESIS_HASH, "hlc": ""})
    return 0, GENESIS_HASH, ""


def _chain(site: str, head: tuple[int, str, str], past: Iterable[Any]) -> tuple[int, str, str]:
    """The head moved over the contiguous run of `past` (ops or rows in seq order)."""
    seq, digest, hlc = head
    for row in past:
        if row.seq != seq + 1:
            break
        if row.prev_hash != digest:
            raise EquivocationError(
                f"site {site} seq {row.seq} does not chain to seq {seq}: the two were "
                "written by different histories of that site", site
            )
        seq, digest, hlc = row.seq, row.hash, row.hlc
    return seq, digest, hlc


def _new_head(site: str, tip: Op) -> tuple[int, str, str, str]:
    return tip.seq, tip.hash, tip.hlc, site


class Chain:
    """This site's ops of one transaction: stamped as they are appended, written by `write`.

    The first append locks the head (`OpLog._lock`), so the transaction's later
    ops chain on in memory; `write` inserts what is pending in one statement and
    moves the head once. A transaction has one chain, its only local writer.
    """

    def __init__(self, log: OpLog, conn: Connection) -> None:
        self.log = log
        self.conn = conn
        self._tip: Op | None = None  # the last op stamped in this transaction
        self._held: tuple[int, str] | None = None  # the head as its row now holds it
        self._pending: list[OpRow] = []

    def append(self, drafts: Sequence[Draft]) -> list[Op]:
        if not drafts:
            return []
        if self._tip is None:
            ops, rows = self.log._lock(self.conn, drafts)
            self._held = (ops[-1].seq, ops[-1].hash)
        else:
            ops, rows = self.log._stamp((self._tip.seq, self._tip.hash), drafts)
        self._tip = ops[-1]
        self._pending += rows
        return ops

    def write(self) -> None:
        tip = self._tip
        if not self._pending or tip is None:
            return
        _INSERT_OP.run_rows(self.conn, self._pending)
        self._pending = []
        if (tip.seq, tip.hash) != self._held:
            _UPDATE_HEAD.run_rows(self.conn, [_new_head(self.log.site, tip)])
            self._held = (tip.seq, tip.hash)
        self.log._head = self._held


_ENTITY_OPS = (
    select(*_OP_COLUMNS).where(OPS.c.entity == bindparam("b_entity"))
    .order_by(OPS.c.hlc, OPS.c.site, OPS.c.seq)
)


def ops_for_entity(conn: Connection, entity: str) -> list[Op]:
    rows = conn.execute(_ENTITY_OPS, {"b_entity": entity})
    return [op_from_row(row) for row in rows]


_ENTITIES_OPS = PreparedIn(lambda entities: select(*_OP_COLUMNS).where(OPS.c.entity.in_(entities)))


def ops_for_entities(conn: Connection, entities: Sequence[str]) -> dict[str, list[Op]]:
    """The ops of several entities, each list in fold order."""
    found: dict[str, list[Op]] = {entity: [] for entity in entities}
    for row in _ENTITIES_OPS.rows(conn, entities):
        found[row.entity].append(op_from_row(row))
    for ops in found.values():
        ops.sort(key=lambda op: op.sort_key)
    return found


_COUNT_BY_ENTITY = PreparedIn(lambda entities: select(OPS.c.entity, func.count())
                              .where(OPS.c.entity.in_(entities)).group_by(OPS.c.entity))


def count_by_entity(conn: Connection, entities: Sequence[str]) -> dict[str, int]:
    counts = dict.fromkeys(entities, 0)
    counts.update({entity: n for entity, n in _COUNT_BY_ENTITY.rows(conn, entities)})
    return counts


def iter_ops_by_entity(conn: Connection) -> Iterator[Op]:
    """Every op, grouped by entity and in fold order within each: a stream for rebuilds."""
    rows = conn.execute(
        select(*_OP_COLUMNS).order_by(OPS.c.entity, OPS.c.hlc, OPS.c.site, OPS.c.seq)
        .execution_options(yield_per=2000)
    )
    for row in rows:
        yield op_from_row(row)


_RANGE = (
    select(*_OP_COLUMNS)
    .where(OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_after"),
           OPS.c.seq <= bindparam("b_upto"))
    .order_by(OPS.c.seq).limit(bindparam("b_limit"))
)


def ops_after(conn: Connection, vector: Mapping[str, int], limit: int,
              max_bytes: int) -> tuple[list[Op], bool]:
    """What a peer holding `vector` lacks, and whether more remains after this batch.

    Per site, ops past the peer's entry in seq order and only up to our own
    contiguous head, so every batch extends the peer's prefix of each chain;
    at most `limit` ops and, beyond the first, about `max_bytes` of JSON.
    """
    ops: list[Op] = []
    size = 0
    more = False
    for site, head in sorted(version_vector(conn).items()):
        have = vector.get(site, 0)
        if head <= have:
            continue
        if len(ops) >= limit or size >= max_bytes:
            return ops, True
        sent = have
        rows = conn.execute(_RANGE, {"b_site": site, "b_after": have, "b_upto": head,
                                     "b_limit": limit - len(ops)})
        for row in rows:
            op = op_from_row(row)
            weight = len(canonical_json(op.to_dict()))
            if ops and size + weight > max_bytes:
                break
            ops.append(op)
            size += weight
            sent = op.seq
        more = more or sent < head
    return ops, more


_VECTOR = Prepared(select(HEADS.c.site, HEADS.c.seq))


def version_vector(conn: Connection) -> dict[str, int]:
    return dict(_VECTOR.rows(conn, {}))


def count_ops(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(OPS)).scalar_one())


def verify(conn: Connection) -> list[ChainProblem]:
    """Walk every site's chain: gaps, altered ops and ops missing past the head."""
    problems: list[ChainProblem] = []
    heads = {row.site: row for row in conn.execute(select(HEADS))}
    last: dict[str, tuple[int, str]] = {}
    rows = conn.execute(
        select(*_OP_COLUMNS).order_by(OPS.c.site, OPS.c.seq).execution_options(yield_per=5000)
    )
    for row in rows:
        op = op_from_row(row)
        seq, prev = last.get(op.site, (0, GENESIS_HASH))
        if op.seq != seq + 1:
            missing = f"seq {seq + 1}" if op.seq == seq + 2 else f"seqs {seq + 1}..{op.seq - 1}"
            problems.append(ChainProblem(op.site, seq + 1, f"gap: {missing} missing from the log"))
        elif op.prev_hash != prev:
            problems.append(ChainProblem(
                op.site, op.seq, f"does not chain to seq {seq}: that op was altered or replaced"))
        if op.hash != op.expected_hash():
            problems.append(ChainProblem(op.site, op.seq, "altered: content does not match its hash"))
        last[op.site] = (op.seq, op.hash)
    for site, head in heads.items():
        seq, digest = last.get(site, (0, GENESIS_HASH))
        if head.seq > seq:
            problems.append(ChainProblem(
                site, seq + 1, f"ops {seq + 1}..{head.seq} missing: the head says the log reaches "
                f"seq {head.seq}"))
        elif head.seq == seq and head.hash != digest:
            problems.append(ChainProblem(
                site, seq, "altered: the last op does not match the hash its head recorded"))
    return problems
