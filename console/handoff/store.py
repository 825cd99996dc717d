"""Handoffs in the store: recording their ops, and the `handoff` table folded from them.

Every handoff op, made here or received by sync, reaches the table the same
way: `catch_up` reads the op log past a per-site cursor, re-folds each
handoff touched (a handful of ops each) and moves the cursor, in the caller's
transaction. Local writes call it in their own transaction; reads call
`fresh` first, which costs one small read when nothing arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, select

from console.domain.vocabulary import HANDOFF_KINDS, HandoffKind
from console.handoff.draft import HandoffNote, Shift
from console.handoff.fold import HandoffState, fold
from console.i18n import _
from console.store import db
from console.store.projection import ms_to_dt
from console.store.store import Store, Writes
from console.store.tables import Handoff, HandoffCursor
from sync import oplog
from sync.oplog import Draft as OpDraft
from sync.ops import Op
from sync.tables import OpLogRow

HANDOFFS = Handoff.__table__  # type: ignore[attr-defined]
CURSORS = HandoffCursor.__table__  # type: ignore[attr-defined]
OPS = OpLogRow.__table__  # type: ignore[attr-defined]
_CURSOR_NAME = "handoff"
_CURSOR = select(CURSORS.c.cursor).where(CURSORS.c.name == _CURSOR_NAME)
_TOUCHED = select(OPS.c.entity).where(
    OPS.c.site == bindparam("b_site"), OPS.c.seq > bindparam("b_seq"),
    OPS.c.kind.in_(sorted(HANDOFF_KINDS)))
_DELETE = delete(HANDOFFS).where(HANDOFFS.c.id.in_(bindparam("b_ids", expanding=True)))


class HandoffError(ValueError):
    """The action makes no sense for the handoff as it stands; nothing was recorded."""


def _opt(ms: int | None) -> datetime | None:
    return None if ms is None else ms_to_dt(ms)


def _values(s: HandoffState) -> dict[str, Any]:
    return {
        "id": s.id, "group_id": s.group, "from_region": s.from_region, "to_region": s.to_region,
        "origin_site": s.origin_site, "shift_start": ms_to_dt(s.shift_start),
        "handoff_at": ms_to_dt(s.handoff_at), "status": s.status, "automatic": s.automatic,
        "markdown": s.markdown, "facts": s.facts, "drafted_at": ms_to_dt(s.drafted_at),
        "drafted_by": s.drafted_by, "sent_at": _opt(s.sent_at), "sent_by": s.sent_by,
        "acknowledged_at": _opt(s.acknowledged_at), "acknowledged_by": s.acknowledged_by,
        "escalated_at": _opt(s.escalated_at), "escalated_to": s.escalated_to,
        "escalation_incident": s.escalation_incident,
    }


def _cursor(conn: Connection) -> dict[str, int] | None:
    row = conn.execute(_CURSOR).first()
    return None if row is None else {str(k): int(v) for k, v in dict(row.cursor).items()}


def catch_up(conn: Connection) -> int:
    """Fold the handoff ops past the cursor into the table; returns how many handoffs moved."""
    upto = oplog.version_vector(conn)
    since = _cursor(conn)
    if since == upto:
        return 0
    seen = since or {}
    touched = sorted({row.entity for site, seq in upto.items() if seq > seen.get(site, 0)
                      for row in conn.execute(_TOUCHED, {"b_site": site, "b_seq": seen.get(site, 0)})})
    if touched:
        histories = oplog.ops_for_entities(conn, touched)
        states = [s for s in (fold(histories[e]) for e in touched) if s is not None]
        conn.execute(_DELETE, {"b_ids": touched})
        if states:
            conn.execute(HANDOFFS.insert(), [_values(s) for s in states])
    if since is None:
        conn.execute(CURSORS.insert().values(name=_CURSOR_NAME, cursor=upto))
    else:
        conn.execute(CURSORS.update().where(CURSORS.c.name == _CURSOR_NAME).values(cursor=upto))
    return len(touched)


def fresh(store: Store) -> None:
    """Fold what sync brought since the last look (a read, and a write only if needed)."""
    with db.reading(store.engine) as conn:
        behind = _cursor(conn) != oplog.version_vector(conn)
    if behind:
        with store.writing() as w:
            catch_up(w.conn)


def record(w: Writes, actor: str, entity: str, kind: HandoffKind, payload: Mapping[str, Any]) -> Op:
    """Append one handoff op and fold it, in the caller's transaction."""
    op = w.store.log.append_many(w.conn, [OpDraft(actor, entity, kind.value, dict(payload))])[0]
    catch_up(w.conn)
    return op


def header(shift: Shift) -> dict[str, Any]:
    """What every draft and send carries, so either can open the handoff on any console."""
    return {"group": shift.group, "from_region": shift.region, "to_region": shift.next_region,
            "shift_start_ms": round(shift.start.timestamp() * 1000),
            "handoff_at_ms": round(shift.end.timestamp() * 1000)}


def shift_of(row: Handoff) -> dict[str, Any]:
    return {"group": row.group_id, "from_region": row.from_region, "to_region": row.to_region,
            "shift_start_ms": round(row.shift_start.timestamp() * 1000),
            "handoff_at_ms": round(row.handoff_at.timestamp() * 1000)}


def get_row(conn: Connection, ref: str) -> Handoff:
    wanted = ref.strip().lower()
    rows = list(conn.execute(select(HANDOFFS).where(
        (HANDOFFS.c.id == wanted) | HANDOFFS.c.id.endswith(wanted))))
    if not wanted or not rows:
        raise HandoffError(_("no handoff {ref!r} in this store").format(ref=ref))
    if len(rows) > 1:
        raise HandoffError(_("{ref!r} matches {count} handoffs: give more of the id").format(
            ref=ref, count=len(rows)))
    return Handoff.model_construct(**rows[0]._mapping)


def get(store: Store, ref: str) -> Handoff:
    """A handoff by id or the end of it (`list` shows the last 8 characters)."""
    fresh(store)
    with db.reading(store.engine) as conn:
        return get_row(conn, ref)


def handoffs(store: Store, *, status: str | None = None, group: str | None = None,
             region: str | None = None, handoff_at: datetime | None = None) -> list[Handoff]:
    """Newest hand-off first."""
    fresh(store)
    query = select(HANDOFFS).order_by(HANDOFFS.c.handoff_at.desc(), HANDOFFS.c.id)
    if status is not None:
        query = query.where(HANDOFFS.c.status == status)
    if group is not None:
        query = query.where(HANDOFFS.c.group_id == group)
    if region is not None:
        query = query.where(HANDOFFS.c.from_region == region)
    if handoff_at is not None:
        query = query.where(HANDOFFS.c.handoff_at == handoff_at)
    with db.reading(store.engine) as conn:
        return [Handoff.model_construct(**r._mapping) for r in conn.execute(query)]


def open_draft(store: Store, actor: str, shift: Shift, note: HandoffNote) -> Handoff:
    with store.writing() as w:
        op = record(w, actor, oplog.new_op_id(), HandoffKind.DRAFT,
                    {**header(shift), "markdown": note.markdown, "facts": note.facts})
        return get_row(w.conn, op.entity)


def edit(store: Store, ref: str, actor: str, markdown: str) -> Handoff:
    with store.writing() as w:
        catch_up(w.conn)
        row = get_row(w.conn, ref)
        if row.status != "draft":
            raise HandoffError(_("handoff {ref} is {status}: a sent note is not edited").format(
                ref=row.id[-8:], status=row.status))
        record(w, actor, row.id, HandoffKind.DRAFT, {**shift_of(row), "markdown": markdown,
                                                     "facts": row.facts})
        return get_row(w.conn, row.id)


def send(store: Store, ref: str, actor: str, markdown: str | None = None,
         automatic: bool = False) -> Handoff:
    """Hand the note over (as edited, or `markdown`): it syncs to the incoming region."""
    with store.writing() as w:
        catch_up(w.conn)
        row = get_row(w.conn, ref)
        if row.status != "draft":
            raise HandoffError(_("handoff {ref} was already sent by {who}").format(
                ref=row.id[-8:], who=row.sent_by))
        text = markdown if markdown is not None else row.markdown
        if not text.strip():
            raise HandoffError(_("the handoff note is empty"))
        record(w, actor, row.id, HandoffKind.SEND,
               {**shift_of(row), "markdown": text, "facts": row.facts, "automatic": automatic})
        return get_row(w.conn, row.id)


def ack(store: Store, ref: str, actor: str) -> Handoff:
    with store.writing() as w:
        catch_up(w.conn)
        row = get_row(w.conn, ref)
        if row.status == "draft":
            raise HandoffError(_("handoff {ref} has not been sent yet").format(ref=row.id[-8:]))
        if row.status == "acknowledged":
            raise HandoffError(_("handoff {ref} was already acknowledged by {who}").format(
                ref=row.id[-8:], who=row.acknowledged_by))
        record(w, actor, row.id, HandoffKind.ACK, {})
        return get_row(w.conn, row.id)
