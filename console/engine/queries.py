"""The engine's SQL: due incidents by `next_due_at`, the op-log cursor, heartbeats.

Statements are built once with bound parameters, and every hot one is an
index probe: `ix_incident_next_due`, `ix_heartbeat_expires`, and the
`(site, seq)` key of the op log. Those a loaded engine runs on every tick run
as `Prepared` (straight on the driver), where Core's execute cost more than
SQLite's own work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, literal, or_, select

from console.domain.vocabulary import Status
from console.store.tables import EngineLease, Heartbeat, Incident
from sync.oplog import Prepared, PreparedIn
from sync.tables import OpLogRow, SiteHead

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
LEASES = EngineLease.__table__  # type: ignore[attr-defined]
HEARTBEATS = Heartbeat.__table__  # type: ignore[attr-defined]
OPS = OpLogRow.__table__  # type: ignore[attr-defined]
HEADS = SiteHead.__table__  # type: ignore[attr-defined]
LEASE_NAME = "engine"

_NEXT_DUE = Prepared(
    select(INCIDENTS.c.next_due_at).where(INCIDENTS.c.next_due_at.is_not(None))
    .order_by(INCIDENTS.c.next_due_at).limit(1)
)
_NEXT_HEARTBEAT = Prepared(
    select(HEARTBEATS.c.expires_at).where(HEARTBEATS.c.expires_at.is_not(None))
    .order_by(HEARTBEATS.c.expires_at).limit(1)
)
_VECTOR = Prepared(select(HEADS.c.site, HEADS.c.seq))
DUE_IDS = Prepared(
    select(INCIDENTS.c.id, INCIDENTS.c.next_due_at)
    .where(INCIDENTS.c.next_due_at <= bindparam("b_now"))
    .order_by(INCIDENTS.c.next_due_at).limit(bindparam("b_limit"))
)
_SET_DUE = Prepared(INCIDENTS.update().where(INCIDENTS.c.id == bindparam("b_id")), ("next_due_at",))
# The incidents among some ids that are not due by `b_now` already (those will be looked at anyway).
_NOT_DUE = PreparedIn(lambda ids: select(INCIDENTS.c.id).where(
    INCIDENTS.c.id.in_(ids),
    or_(INCIDENTS.c.next_due_at.is_(None), INCIDENTS.c.next_due_at > bindparam("b_now"))))
_OPEN_BY_DEDUP = (
    select(INCIDENTS.c.id)
    .where(INCIDENTS.c.dedup_key == bindparam("b_dedup"),
           INCIDENTS.c.status.in_((Status.TRIGGERED.value, Status.ACKNOWLEDGED.value)))
    .order_by(INCIDENTS.c.created_at).limit(1)
)
# Read and written in every ingest group commit while the engine takes its turn there.
_CURSOR = Prepared(select(LEASES.c.cursor).where(LEASES.c.name == bindparam("b_name")))
_SAVE_CURSOR = Prepared(LEASES.update().where(LEASES.c.name == bindparam("b_name")), ("cursor",))
EXPIRED_HEARTBEATS = (
    select(HEARTBEATS).where(HEARTBEATS.c.expires_at <= bindparam("b_now"))
    .order_by(HEARTBEATS.c.expires_at).limit(bindparam("b_limit"))
)


def set_next_due(conn: Connection, due: Mapping[str, datetime | None]) -> None:
    """Write the engine's column; the fold never touches it."""
    if due:
        _SET_DUE.run(conn, [{"b_id": i, "next_due_at": at} for i, at in due.items()])


def mark_due(conn: Connection, ids: Iterable[str], at: datetime) -> None:
    """Ask the engine to look at these incidents at `at` (now, usually)."""
    set_next_due(conn, dict.fromkeys(ids, at))


def open_by_dedup(conn: Connection, dedup_key: str) -> str | None:
    found = conn.execute(_OPEN_BY_DEDUP, {"b_dedup": dedup_key}).scalar()
    return str(found) if found is not None else None


def vector(conn: Connection) -> dict[str, int]:
    return {site: int(seq) for site, seq in _VECTOR.rows(conn, {})}


def next_due(conn: Connection) -> datetime | None:
    """The earliest deadline of any incident."""
    rows = _NEXT_DUE.rows(conn, {})
    return rows[0].next_due_at if rows else None


def next_heartbeat(conn: Connection) -> datetime | None:
    """The earliest expiry of any heartbeat."""
    rows = _NEXT_HEARTBEAT.rows(conn, {})
    return rows[0].expires_at if rows else None


def load_cursor(conn: Connection) -> dict[str, int] | None:
    """How far the engine has looked through each site's ops; None before the first run."""
    rows = _CURSOR.rows(conn, {"b_name": LEASE_NAME})
    return None if not rows else {str(k): int(v) for k, v in dict(rows[0].cursor).items()}


def save_cursor(conn: Connection, cursor: Mapping[str, int], *, holder: str, now: datetime) -> None:
    if not _SAVE_CURSOR.run(conn, {"b_name": LEASE_NAME, "cursor": dict(cursor)}):
        # No election has run yet on this store (an engine driven directly):
        # the row starts unheld, so a later election is unaffected.
        conn.execute(LEASES.insert().values(name=LEASE_NAME, holder="", expires_at=now,
                                            cursor=dict(cursor)))


def changed_entities(
    conn: Connection, since: Mapping[str, int], upto: Mapping[str, int], *,
    local_site: str, own_actors: Sequence[str], quiet_kinds: Sequence[str],
) -> set[str]:
    """Entities touched by ops past the cursor, leaving out the engine's own work.

    Ops the engine and dispatcher wrote here change nothing the engine does
    not already know; everything else (a person's ack, a synced op from a
    peer) may change what is due, so its incident gets a look. The database
    leaves those out and answers each entity once: under ingest there are
    several ops an incident (trigger, escalate, notify), read on every tick.
    """
    out: set[str] = set()
    for site, seq in upto.items():
        if seq <= since.get(site, 0):
            continue
        statement = _changed(tuple(quiet_kinds), tuple(own_actors) if site == local_site else ())
        out.update(row.entity for row in statement.rows(conn, {"b_site": site, "b_seq": since.get(site, 0)}))
    return out


_CHANGED: dict[tuple[tuple[str, ...], tuple[str, ...]], Prepared] = {}
_OF_KINDS: dict[tuple[str, ...], Prepared] = {}


def any_of_kinds(conn: Connection, since: Mapping[str, int], upto: Mapping[str, int],
                 kinds: tuple[str, ...]) -> bool:
    """Whether any op of these kinds lies past `since`, up to `upto`: a probe of the
    `(site, seq)` key per site that moved, stopping at the first."""
    statement = _OF_KINDS.get(kinds)
    if statement is None:
        statement = _OF_KINDS[kinds] = Prepared(select(OPS.c.seq).where(
            OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_after"),
            OPS.c.seq <= bindparam("b_upto"), OPS.c.kind.in_([literal(k) for k in kinds])).limit(1))
    return any(seq > since.get(site, 0) and statement.rows(
        conn, {"b_site": site, "b_after": since.get(site, 0), "b_upto": seq}) for site, seq in upto.items())


def _changed(quiet_kinds: tuple[str, ...], own_actors: tuple[str, ...]) -> Prepared:
    """Distinct entities of a site's ops past a seq, but for these kinds and actors (as constants)."""
    statement = _CHANGED.get((quiet_kinds, own_actors))
    if statement is None:
        where = [OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_seq")]
        if quiet_kinds:
            where.append(OPS.c.kind.not_in([literal(k) for k in quiet_kinds]))
        if own_actors:
            where.append(OPS.c.actor.not_in([literal(a) for a in own_actors]))
        statement = _CHANGED[(quiet_kinds, own_actors)] = Prepared(
            select(OPS.c.entity).distinct().where(*where))
    return statement


def not_due(conn: Connection, ids: Sequence[str], now: datetime) -> list[str]:
    """The incidents among `ids` (other entities live in the op log too) not already due by `now`."""
    return [r.id for r in _NOT_DUE.rows(conn, ids, {"b_now": now})] if ids else []
