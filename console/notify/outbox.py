"""The notification outbox: rows the engine writes beside the ops that caused them.

A row is written in the same transaction as the decision (an escalation, an
SLA notice), so a crash can never keep a decision and lose its pages, or the
reverse. The dispatcher takes rows from here; see dispatcher.py for the
states a row goes through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Integer, bindparam, func, literal, select, text

from console.domain.state import IncidentState
from console.store.tables import Outbox
from sync.oplog import Prepared, PreparedIn

OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
PENDING, SENDING, SENT, DEAD, CANCELLED, MERGED = (
    "pending", "sending", "sent", "dead", "cancelled", "merged")
# The message event of a stakeholder update (console.updates): said by a person, so it is
# delivered whatever became of the incident since, unlike pages and notices.
UPDATE = "update"
_COLUMNS = ("incident_id", "epoch", "cause", "person", "channel", "address", "urgency", "cancel_if_acked",
            "message", "state", "attempts", "next_attempt_at", "claimed_until", "last_error", "created_at",
            "finished_at")
_INSERT = Prepared(OUTBOX.insert(), _COLUMNS)  # straight on the driver: the engine's pages are many
_INSERT_DRAFTED = Prepared(OUTBOX.insert(), ("id", *_COLUMNS))
# The highest id (SQLite, under the write lock), or ids from the id column's sequence.
_TOP_ID = Prepared(select(func.coalesce(func.max(OUTBOX.c.id), 0)))
_NEXT_IDS = Prepared(text("SELECT nextval(pg_get_serial_sequence('outbox', 'id')) AS id "
                          "FROM generate_series(1, :b_n)").columns(id=Integer))
# What a dispatcher reads of a due row to settle and send it (and its due order): not the
# timestamps and error it rewrites, whose processing cost a third of reading a row.
TAKEN = tuple(OUTBOX.c[name] for name in (
    "id", "incident_id", "epoch", "cause", "person", "channel", "address", "urgency", "cancel_if_acked",
    "message", "attempts", "next_attempt_at"))
_DUE_OF = PreparedIn(lambda ids: select(*TAKEN).where(
    OUTBOX.c.incident_id.in_(ids), OUTBOX.c.state.in_([literal(PENDING), literal(SENDING)]),
    OUTBOX.c.next_attempt_at <= bindparam("b_now")).order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id))


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to one destination, due at `at`."""

    channel: str
    person: str | None
    address: str | None
    at: datetime
    cause: str
    message: dict[str, Any] = field(default_factory=dict)
    urgency: str = "high"
    cancel_if_acked: bool = False


def message(state: IncidentState, event: str, text: str, **extra: Any) -> dict[str, Any]:
    """What every channel renders from: the incident as it stood when decided."""
    return {
        "event": event,
        "text": text,
        "incident": {
            "id": state.id, "key": state.key, "title": state.title, "service": state.service,
            "severity": state.severity, "priority": state.priority, "status": state.status.value,
            "team": state.team, "labels": dict(state.labels),
        },
        **extra,
    }


def insert(conn: Connection, rows: Sequence[tuple[str, int, Notification]], now: datetime) -> None:
    """Outbox rows for (incident id, epoch, notification), in one statement."""
    if not rows:
        return
    _INSERT.run_rows(conn, [  # values in _COLUMNS order: no dict per row
        (incident_id, epoch, n.cause[:80], n.person, n.channel, n.address, n.urgency, n.cancel_if_acked,
         n.message, PENDING, 0, n.at, None, None, now, None)
        for incident_id, epoch, n in rows
    ])


class Drafted(NamedTuple):
    """A row decided in this transaction, its id taken, not yet written: a due row as a
    dispatcher reads it (`TAKEN`) until `write` inserts it."""

    id: int
    incident_id: str
    epoch: int
    cause: str
    person: str | None
    channel: str
    address: str | None
    urgency: str
    cancel_if_acked: bool
    message: dict[str, Any]
    attempts: int
    next_attempt_at: datetime


def draft(conn: Connection, rows: Sequence[tuple[str, int, Notification]]) -> list[Drafted]:
    """Rows for (incident id, epoch, notification) with the ids the table would give them,
    for `write` once a dispatcher has settled the due ones in the same transaction: a page
    delivered at once is then inserted `sent`, not inserted `pending`, read back and updated."""
    if not rows:
        return []
    if conn.dialect.name == "sqlite":  # the transaction holds the write lock: nobody takes ids meanwhile
        top = int(_TOP_ID.rows(conn, {})[0][0])
        ids = list(range(top + 1, top + 1 + len(rows)))
    else:
        ids = sorted(int(row.id) for row in _NEXT_IDS.rows(conn, {"b_n": len(rows)}))
    return [Drafted(row_id, incident_id, epoch, n.cause[:80], n.person, n.channel, n.address, n.urgency,
                    n.cancel_if_acked, n.message, 0, n.at)
            for row_id, (incident_id, epoch, n) in zip(ids, rows, strict=True)]


def write(conn: Connection, drafts: Sequence[Drafted], settled: Mapping[int, Mapping[str, Any]],
          now: datetime) -> None:
    """Insert drafted rows, in one statement: `pending`, or as `settled` (by id: the columns a
    dispatcher gave the row, as it would have updated them)."""
    if drafts:
        _INSERT_DRAFTED.run_rows(conn, [_drafted_row(d, settled.get(d.id, {}), now) for d in drafts])


def _drafted_row(d: Drafted, settled: Mapping[str, Any], now: datetime) -> tuple[Any, ...]:
    """A drafted row's values in `_INSERT_DRAFTED`'s order."""
    return (d.id, d.incident_id, d.epoch, d.cause, d.person, d.channel, d.address, d.urgency,
            d.cancel_if_acked, d.message, settled.get("state", PENDING), settled.get("attempts", d.attempts),
            settled.get("next_attempt_at", d.next_attempt_at), settled.get("claimed_until"),
            settled.get("last_error"), now, settled.get("finished_at"))


def due_of(conn: Connection, incident_ids: Sequence[str], now: datetime) -> list[Any]:
    """The rows of these incidents due by `now`, in the order a dispatcher takes them."""
    return _DUE_OF.rows(conn, incident_ids, {"b_now": now}) if incident_ids else []


def depth(conn: Connection) -> dict[str, int]:
    """Rows per state that still matter to an operator: pending, in flight, dead."""
    query = (select(OUTBOX.c.state, func.count()).where(OUTBOX.c.state.in_((PENDING, SENDING, DEAD)))
             .group_by(OUTBOX.c.state))
    counts = {PENDING: 0, SENDING: 0, DEAD: 0}
    counts.update({str(state): int(n) for state, n in conn.execute(query)})
    return counts
