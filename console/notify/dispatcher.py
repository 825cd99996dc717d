"""Drains the outbox: claim, deliver, record, with retries and a dead letter.

A row moves `pending -> sending -> sent`, or back to `pending` after a
failure (next attempt after an exponential backoff with a cap), or to `dead`
after the last attempt. A page or notice can also end `cancelled` (its
incident was resolved, re-triggered into a new epoch, or acknowledged before a
delayed page was due); a stakeholder update never is, as it was already posted
(the closing update is posted just before resolving, and its delivery may
still be retrying). A row can end `merged` (an identical pending notification
to the same destination was sent instead).

Crash safety, per row:

- decided but not claimed: the row is `pending` and is sent after a restart;
- sent and recorded: the row is `sent` and is never taken again;
- claimed, and the process died during the send: the claim expires and the
  row is sent again with the same delivery id. That window is the length of
  one send; a page may then arrive twice, never zero times (DESIGN §5), and
  the delivery id lets the receiver drop the copy.

Rows of an in-process channel (`InProcess`: the console) are never claimed:
their delivery is a call with no I/O, so it is recorded `sent` in the
transaction that finds the row due (a pass's claim, or, through `within`, the
ingest transaction whose engine turn decided it: there the row is inserted as it
ended, never `pending` first), and the toast is shown only
once that transaction has committed. A rolled-back transaction shows nothing
(the row is still pending, or was never written and its incident is still
due); a process that dies between the commit and the toast took with it every
console that would have shown it (consoles in other processes have the
`notify` op on the timeline). So a console notification is shown once.

Every outcome is recorded as a `notify` op on the incident, in the same
transaction as the row's new state, so the timeline says who was told what,
by which channel, and when.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar

from sqlalchemy import Connection, bindparam, literal, select

from console.domain.commands import Change
from console.domain.state import IncidentState
from console.domain.vocabulary import Kind, Status
from console.engine.metrics import Metrics
from console.i18n import _
from console.notify.bus import BUS, Bus, ConsoleNotice
from console.notify.channels import Channel, Delivery, DeliveryFailed, InProcess, Post
from console.notify.outbox import CANCELLED, DEAD, MERGED, OUTBOX, PENDING, SENDING, SENT, TAKEN, UPDATE
from console.store import db
from console.store.store import Store, Writes
from console.store.tables import Incident
from sync.oplog import Prepared, PreparedIn

log = logging.getLogger("sunrelay.dispatcher")
INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
DISPATCH_ACTOR = "dispatcher"
# The statements of every claim and record run as `Prepared` (straight on the driver):
# through `Connection.execute`, an update a row cost more than the rest of its handling.
_DUE = Prepared(
    select(*TAKEN)
    .where(OUTBOX.c.state.in_([literal(PENDING), literal(SENDING)]),
           OUTBOX.c.next_attempt_at <= bindparam("b_now"))
    .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id).limit(bindparam("b_limit"))
)
_STATUS = PreparedIn(lambda ids: select(INCIDENTS.c.id, INCIDENTS.c.status, INCIDENTS.c.epoch)
                     .where(INCIDENTS.c.id.in_(ids)))
# One update statement per set of changed columns (claimed, done, retry): few sets occur.
_UPDATES: dict[tuple[str, ...], Prepared] = {}
Fence = Callable[[Connection], None]
P = ParamSpec("P")
T = TypeVar("T")


class Offload(Protocol):
    """Runs blocking store work off the event loop: `asyncio.to_thread`, or the
    ingest writer thread's `GroupCommitter.call`, so the work takes turns with ingest."""

    def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Attempt n waits base * 2^(n-1), capped; after `attempts` tries the row is dead."""

    base: timedelta = timedelta(seconds=15)
    cap: timedelta = timedelta(minutes=10)
    attempts: int = 6

    def delay(self, attempt: int) -> timedelta:
        return min(self.cap, self.base * (1 << max(0, attempt - 1)))


@dataclass(slots=True)
class DispatchReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    merged: int = 0
    outcomes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead + self.cancelled + self.merged


@dataclass(frozen=True, slots=True)
class _Claimed:
    row_id: int
    delivery: Delivery
    merged: tuple[int, ...]
    cause: str


class Dispatcher:
    def __init__(
        self, store: Store, channels: Mapping[str, Channel], *, backoff: Backoff = Backoff(),
        batch: int = 200, claim_for: timedelta = timedelta(minutes=2), concurrency: int = 32,
        metrics: Metrics | None = None, bus: Bus = BUS,
    ) -> None:
        self.store = store
        self.channels = channels
        # Asked once: `isinstance` against a runtime-checkable protocol costs microseconds a row.
        self._in_process = {name: c for name, c in channels.items() if isinstance(c, InProcess)}
        self.backoff = backoff
        self.batch = batch
        self.claim_for = claim_for
        self.concurrency = concurrency
        self.metrics = metrics
        self.bus = bus

    async def run_once(self, now: datetime, fence: Fence | None = None,
                       offload: Offload = asyncio.to_thread) -> DispatchReport:
        """One pass: claim what is due, deliver it concurrently, record the outcomes.

        Rows of an in-process channel (`InProcess`: the console) are delivered and
        recorded in the claim's own transaction instead: their delivery is a call, with
        no I/O to wait for, so a claim and a second transaction would only cost CPU.
        The claim and the record run on `offload`'s thread.
        """
        report = DispatchReport()
        claimed = await offload(self._claim, now, fence, report)
        if not claimed:
            return report
        gate = asyncio.Semaphore(self.concurrency)

        async def deliver(item: _Claimed) -> str | None:
            async with gate:
                channel = self.channels.get(item.delivery.channel)
                if channel is None:
                    return f"no {item.delivery.channel} channel in this console"
                try:
                    await channel.send(item.delivery)
                except DeliveryFailed as exc:
                    return str(exc) or type(exc).__name__
                return None

        errors = await asyncio.gather(*(deliver(item) for item in claimed))
        await offload(self._finish, list(zip(claimed, errors, strict=True)), now, fence, report)
        return report

    def within(self, w: Writes, now: datetime, paged: Mapping[str, tuple[str, int]],
               rows: Sequence[Any], fresh: Collection[int]) -> tuple[Callable[[], None], bool,
                                                                   dict[int, dict[str, Any]]]:
        """Deliver, inside a caller's transaction, the in-process ones of `rows` (the due
        rows of the incidents it paged, in due order; `paged`: their status and epoch as
        they stand in it), cancelled or merged as a pass would, each outcome recorded in it.
        No claim and no transaction of their own: a new incident's console page commits
        with its trigger. The ops are recorded before any row is updated (which issues every
        write buffered in `w`): ops of incidents it wrote already join their other ops there.
        Rows whose id is in `fresh` are not written yet (`outbox.draft`): their new columns
        are returned, by id, for the caller to insert them so, instead of updated.

        Returns what to run once that transaction has committed (the toasts), whether rows
        of other channels are due, for a pass (`run_once`) to send, and those columns.
        """
        mine = [r for r in rows if r.channel in self._in_process]
        posts: list[Post] = []
        settled: dict[int, dict[str, Any]] = {row_id: {} for row_id in fresh}
        if mine:
            self._take(w, mine, paged, now, DispatchReport(), posts, settled)
        return functools.partial(_post, posts), len(mine) < len(rows), settled

    # -- claiming (one transaction) ------------------------------------------------------

    def _claim(self, now: datetime, fence: Fence | None, report: DispatchReport) -> list[_Claimed]:
        with db.reading(self.store.engine) as conn:  # nothing due: an index probe, no write lock
            if not _DUE.rows(conn, {"b_now": now, "b_limit": 1}):
                return []
        posts: list[Post] = []
        with self.store.writing() as w:
            if fence is not None:
                fence(w.conn)
            rows = _DUE.rows(w.conn, {"b_now": now, "b_limit": self.batch})
            if not rows:
                return []
            ids = sorted({r.incident_id for r in rows})
            status = {r.id: (r.status, r.epoch) for r in _STATUS.rows(w.conn, ids)}
            claimed = self._take(w, rows, status, now, report, posts)
        _post(posts)
        return claimed

    def _take(self, w: Writes, rows: Sequence[Any], status: Mapping[str, tuple[str, int]],
              now: datetime, report: DispatchReport, posts: list[Post],
              fresh: dict[int, dict[str, Any]] | None = None) -> list[_Claimed]:
        """Settle due `rows` (in due order) in `w`: cancel those their incident (`status`)
        no longer wants, merge identical ones into the first, deliver and record the
        in-process ones (their posting appended to `posts`); claim and return the rest.
        Rows whose id is a key of `fresh` are not written yet: their new columns go there
        instead of to an update."""
        updates: list[dict[str, Any]] = []
        ops: dict[str, list[Change]] = {}
        claimed: list[_Claimed] = []
        groups: dict[tuple[str, str, str | None, str | None], list[Any]] = {}
        for row in rows:
            reason = _cancel_reason(row, status.get(row.incident_id))
            if reason is not None:
                updates.append(_done(row.id, CANCELLED, now, reason))
                ops.setdefault(row.incident_id, []).append(_op(row, "cancelled", row.attempts, reason))
                report.cancelled += 1
                report.outcomes.append((row.id, CANCELLED))
                continue
            groups.setdefault((row.incident_id, row.channel, row.address, row.person), []).append(row)
        for group in groups.values():
            first, rest = group[0], group[1:]
            for dup in rest:
                updates.append(_done(dup.id, MERGED, now, f"merged into delivery {first.id}"))
                report.merged += 1
                report.outcomes.append((dup.id, MERGED))
            attempt = first.attempts + 1
            item = _Claimed(first.id, Delivery(
                id=f"{self.store.site.site[:12]}-{first.id}", incident_id=first.incident_id,
                person=first.person, channel=first.channel, address=first.address,
                urgency=first.urgency, attempt=attempt, message=dict(first.message),
            ), tuple(d.id for d in rest), first.cause)
            in_process = self._in_process.get(first.channel)
            if in_process is not None:
                self._outcome(item, _prepared(in_process, item.delivery, posts), now, report, updates, ops,
                              posts)
                continue
            until = now + self.claim_for
            updates.append({"b_id": first.id, "state": SENDING, "attempts": attempt,
                            "next_attempt_at": until, "claimed_until": until})
            claimed.append(item)
        if fresh:
            fresh.update((u["b_id"], u) for u in updates if u["b_id"] in fresh)
            updates = [u for u in updates if u["b_id"] not in fresh]
        self._write(w, updates, ops)
        return claimed

    # -- recording (one transaction) ----------------------------------------------------------

    def _finish(self, results: Sequence[tuple[_Claimed, str | None]], now: datetime,
                fence: Fence | None, report: DispatchReport) -> None:
        posts: list[Post] = []
        with self.store.writing() as w:
            if fence is not None:
                fence(w.conn)
            updates: list[dict[str, Any]] = []
            ops: dict[str, list[Change]] = {}
            for item, error in results:
                self._outcome(item, error, now, report, updates, ops, posts)
            self._write(w, updates, ops)
        _post(posts)

    def _outcome(self, item: _Claimed, error: str | None, now: datetime, report: DispatchReport,
                 updates: list[dict[str, Any]], ops: dict[str, list[Change]], posts: list[Post]) -> None:
        """Record one delivery's outcome: the row's new state and the `notify` op (and,
        for a dead letter, its toast to post after the commit)."""
        d = item.delivery
        if error is None:
            updates.append({**_done(item.row_id, SENT, now, None), "attempts": d.attempt})
            outcome = SENT
            report.sent += 1
        elif d.attempt >= self.backoff.attempts:
            updates.append({**_done(item.row_id, DEAD, now, error), "attempts": d.attempt})
            outcome = DEAD
            report.dead += 1
            posts.append(functools.partial(self._dead_letter, item))
        else:
            retry_at = now + self.backoff.delay(d.attempt)
            updates.append({"b_id": item.row_id, "state": PENDING, "attempts": d.attempt,
                            "next_attempt_at": retry_at, "claimed_until": None, "last_error": error})
            outcome = "failed"
            report.failed += 1
        report.outcomes.append((item.row_id, outcome))
        payload: dict[str, Any] = {
            "outbox": item.row_id, "delivery": d.id, "cause": item.cause, "person": d.person,
            "channel": d.channel, "address": d.address, "outcome": outcome,
            "attempt": d.attempt}
        if error is not None:
            payload["error"] = error
        if item.merged:
            payload["merged"] = len(item.merged)
        ops.setdefault(d.incident_id, []).append(Change(Kind.NOTIFY, payload))
        if self.metrics is not None:
            self.metrics.inc("sunrelay_notifications_total", channel=d.channel, outcome=outcome)

    def _dead_letter(self, item: _Claimed) -> None:
        """A toast in every console for a row given up on (after its transaction committed)."""
        d = item.delivery
        log.warning("dead letter: %s by %s to %s: giving up after %d attempts",
                    d.incident.get("key"), d.channel, d.person, d.attempt)
        self.bus.publish(ConsoleNotice(
            person=None, key=str(d.incident.get("key", "")), title=str(d.incident.get("title", "")),
            severity=str(d.incident.get("severity", "")), event="dead_letter",
            text=_("could not notify {person} by {channel} after {attempts} attempts").format(
                person=d.person, channel=d.channel, attempts=d.attempt),
            bell=False, delivery=d.id))

    def _write(self, w: Writes, updates: list[dict[str, Any]], ops: dict[str, list[Change]]) -> None:
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for update in updates:  # rows differ in which columns change: one executemany per set
            by_columns.setdefault(tuple(sorted(k for k in update if k != "b_id")), []).append(update)
        for incident_id, changes in ops.items():  # first: buffered, issued with the updates
            w.act(incident_id, DISPATCH_ACTOR, recorded(changes))
        for columns, rows in by_columns.items():
            _update(columns).run(w.conn, rows)


def _update(columns: tuple[str, ...]) -> Prepared:
    update = _UPDATES.get(columns)
    if update is None:
        update = _UPDATES[columns] = Prepared(
            OUTBOX.update().where(OUTBOX.c.id == bindparam("b_id")), columns)
    return update


def recorded(changes: list[Change]) -> Callable[[IncidentState], list[Change]]:
    """A `decide` for `Writes.act` that records changes already decided."""
    return lambda _state: changes


def _prepared(channel: InProcess, delivery: Delivery, posts: list[Post]) -> str | None:
    """Prepare an in-process delivery, its posting added to `posts`; None when it can be
    made, else the error for the timeline."""
    try:
        posts.append(channel.prepare(delivery))
    except DeliveryFailed as exc:
        return str(exc) or type(exc).__name__
    return None


def _post(posts: Sequence[Post]) -> None:
    """Post what waited for its transaction's commit (toasts). A subscriber that raises is
    logged: the delivery is recorded, and the others still get theirs."""
    for post in posts:
        try:
            post()
        except Exception:
            log.exception("a console notification could not be posted")


def _cancel_reason(row: Any, status: tuple[str, int] | None) -> str | None:
    if status is None:
        return "the incident is not in this store"
    if row.message.get("event") == UPDATE:
        return None
    state, epoch = status
    if state == Status.RESOLVED.value:
        return "the incident was resolved"
    if epoch != row.epoch:
        return "the incident was re-triggered since"
    if row.cancel_if_acked and state == Status.ACKNOWLEDGED.value:
        return "acknowledged before this delayed page was due"
    return None


def _done(row_id: int, state: str, now: datetime, error: str | None) -> dict[str, Any]:
    return {"b_id": row_id, "state": state, "finished_at": now, "claimed_until": None,
            "last_error": error}


def _op(row: Any, outcome: str, attempt: int, error: str | None) -> Change:
    payload: dict[str, Any] = {"outbox": row.id, "cause": row.cause, "person": row.person,
                               "channel": row.channel, "address": row.address, "outcome": outcome,
                               "attempt": attempt}
    if error:
        payload["error"] = error
    return Change(Kind.NOTIFY, payload)
