"""The engine's SQL: due incidents by `next_due_at`, the op-log cursor, heartbeats.

Statements are built once with bound parameters (SQLAlchemy then compiles
each once), and every hot one is an index probe: `ix_incident_next_due`,
`ix_heartbeat_expires`, and the `(site, seq)` key of the op log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from console.domain.vocabulary import Status
from console.store.tables import EngineLease, Heartbeat, Incident
from sync.tables import OpLogRow, SiteHead

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
LEASES = EngineLease.__table__  # type: ignore[attr-defined]
HEARTBEATS = Heartbeat.__table__  # type: ignore[attr-defined]
OPS = OpLogRow.__table__  # type: ignore[attr-defined]
HEADS = SiteHead.__table__  # type: ignore[attr-defined]
LEASE_NAME = "engine"
_CHUNK = 500

NEXT_DUE = (
    select(INCIDENTS.c.next_due_at).where(INCIDENTS.c.next_due_at.is_not(None))
    .order_by(INCIDENTS.c.next_due_at).limit(1)
)
NEXT_HEARTBEAT = (
    select(HEARTBEATS.c.expires_at).where(HEARTBEATS.c.expires_at.is_not(None))
    .order_by(HEARTBEATS.c.expires_at).limit(1)
)
VECTOR = select(HEADS.c.site, HEADS.c.seq)
DUE_IDS = (
    select(INCIDENTS.c.id, INCIDENTS.c.next_due_at)
    .where(INCIDENTS.c.next_due_at <= bindparam("b_now"))
    .order_by(INCIDENTS.c.next_due_at).limit(bindparam("b_limit"))
)
_SET_DUE = INCIDENTS.update().where(INCIDENTS.c.id == bindparam("b_id"))
_CHANGED = (
    select(OPS.c.entity, OPS.c.actor, OPS.c.kind)
    .where(OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_seq"))
)
_OPEN_BY_DEDUP = (
    select(INCIDENTS.c.id)
    .where(INCIDENTS.c.dedup_key == bindparam("b_dedup"),
           INCIDENTS.c.status.in_((Status.TRIGGERED.value, Status.ACKNOWLEDGED.value)))
    .order_by(INCIDENTS.c.created_at).limit(1)
)
_CURSOR = select(LEASES.c.cursor).where(LEASES.c.name == LEASE_NAME)
EXPIRED_HEARTBEATS = (
    select(HEARTBEATS).where(HEARTBEATS.c.expires_at <= bindparam("b_now"))
    .order_by(HEARTBEATS.c.expires_at).limit(bindparam("b_limit"))
)


def set_next_due(conn: Connection, due: Mapping[str, datetime | None]) -> None:
    """Write the engine's column; the fold never touches it."""
    if due:
        conn.execute(_SET_DUE, [{"b_id": i, "next_due_at": at} for i, at in due.items()])


def mark_due(conn: Connection, ids: Iterable[str], at: datetime) -> None:
    """Ask the engine to look at these incidents at `at` (now, usually)."""
    set_next_due(conn, dict.fromkeys(ids, at))


def open_by_dedup(conn: Connection, dedup_key: str) -> str | None:
    found = conn.execute(_OPEN_BY_DEDUP, {"b_dedup": dedup_key}).scalar()
    return str(found) if found is not None else None


def vector(conn: Connection) -> dict[str, int]:
    return {site: int(seq) for site, seq in conn.execute(VECTOR)}


def load_cursor(conn: Connection) -> dict[str, int] | None:
    """How far the engine has looked through each site's ops; None before the first run."""
    row = conn.execute(_CURSOR).first()
    return None if row is None else {str(k): int(v) for k, v in dict(row.cursor).items()}


def save_cursor(conn: Connection, cursor: Mapping[str, int], *, holder: str, now: datetime) -> None:
    if conn.execute(_CURSOR).first() is None:
        # No election has run yet on this store (an engine driven directly):
        # the row starts unheld, so a later election is unaffected.
        conn.execute(LEASES.insert().values(name=LEASE_NAME, holder="", expires_at=now,
                                            cursor=dict(cursor)))
    else:
        conn.execute(LEASES.update().where(LEASES.c.name == LEASE_NAME).values(cursor=dict(cursor)))


def changed_entities(
    conn: Connection, since: Mapping[str, int], upto: Mapping[str, int], *,
    local_site: str, own_actors: Sequence[str], quiet_kinds: Sequence[str],
) -> set[str]:
    """Entities touched by ops past the cursor, leaving out the engine's own work.

    Ops the engine and dispatcher wrote here change nothing the engine does
    not already know; everything else (a person's ack, a synced op from a
    peer) may change what is due, so its incident gets a look.
    """
    out: set[str] = set()
    for site, seq in upto.items():
        if seq <= since.get(site, 0):
            continue
        for row in conn.execute(_CHANGED, {"b_site": site, "b_seq": since.get(site, 0)}):
            if row.kind in quiet_kinds:
                continue
            if site == local_site and row.actor in own_actors:
                continue
            out.add(row.entity)
    return out


def existing(conn: Connection, ids: Sequence[str]) -> list[str]:
    """The ids among `ids` that are incidents (other entities live in the op log too)."""
    found: list[str] = []
    query = select(INCIDENTS.c.id).where(INCIDENTS.c.id.in_(bindparam("b_ids", expanding=True)))
    for start in range(0, len(ids), _CHUNK):
        found += [r.id for r in conn.execute(query, {"b_ids": list(ids[start:start + _CHUNK])})]
    return found
