"""The engine cycle: what is due, recorded as ops with its notifications, in one commit.

One `tick(now)` does, in this order:

1. **Probe.** One read: the op-log version vector (a row per site) and the
   earliest `next_due_at` and heartbeat expiry (two index probes). If nobody
   wrote since the last tick and nothing is due, the tick ends here, whatever
   the number of open incidents.
2. **Changes.** Incidents touched by ops the engine did not write itself (a
   person's ack in another console process, an op synced from a peer) get
   `next_due_at = now`, and the cursor moves, in one transaction. Ops that
   never change what is due (`_QUIET`) are left out.
3. **Heartbeats.** A monitor whose ping is overdue opens an incident (routed
   like any alert), marked due now, so step 4 pages it in this same tick.
4. **Due incidents**, oldest deadline first, in batches: for each, the pure
   `policies.due` on a view built from its ops answers what is due (level
   escalations and repeats, exhaustion, stale-ack re-trigger, urgency raise at
   support hours, SLA warnings and breaches, update reminders; steps inside a
   maintenance window page nobody). The engine records each action as an op,
   writes the notifications to the outbox and the new `next_due_at`, all in
   the batch's transaction.

`within` runs steps 2 and 4 inside a caller's transaction instead: ingest's
group commit, whose new incidents are then paged in the commit that opens them.

On-call is resolved when each page is decided (`pages_for` at the step's
time), never cached for a step's delay. `fence` runs first in every write
transaction and raises when this process no longer holds the engine lease,
so a paused process that wakes after losing the lease writes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from console.domain.commands import Change
from console.domain.vocabulary import Kind, OverrideKind
from console.engine import queries
from console.engine.adapter import Adapted, adapt, pause_stages, to_ms
from console.engine.incidents import open_or_repeat
from console.engine.metrics import Metrics
from console.engine.ownership import Ownership
from console.notify.dispatcher import DISPATCH_ACTOR, recorded
from console.notify.outbox import Drafted, Notification, draft, due_of, insert, message, write
from console.store.store import Store, Writes
from policies import (
    Alert,
    Escalate,
    Exhausted,
    Page,
    PolicySet,
    RaiseUrgency,
    RetriggerStaleAck,
    ShiftOverride,
    SlaBreach,
    SlaWarning,
    UpdateReminder,
    due,
    route,
)
from policies.escalation import Action
from sync import oplog
from sync.ops import Op

log = logging.getLogger("sunrelay.engine")
ENGINE_ACTOR = "engine"
SLOW_CYCLE = timedelta(seconds=5)
# Actions after which the incident is in a new epoch and must be asked again at once.
_NEW_EPOCH = (RetriggerStaleAck, RaiseUrgency)
# Ops that never change what is due, whoever wrote them: a delivery's outcome, and a
# repeat alert (it counts one more alert, which no decision reads). Under ingest a fifth
# of the events are repeats; looking at each again cost an op-history read and a decision.
_QUIET = (Kind.NOTIFY.value, Kind.RETRIGGER.value)
_OVERRIDE_KINDS = tuple(sorted(k.value for k in OverrideKind))
Fence = Callable[[Connection], None]
# Settles, in a turn's transaction, the due outbox rows of the incidents it paged (their status
# and epoch as they stand in it), in due order; returns, by id, the columns each row not yet
# written (the ids given) ends with (`Dispatcher.within`).
Settle = Callable[[Writes, Mapping[str, tuple[str, int]], Sequence[Any], Collection[int]],
                  Mapping[int, Mapping[str, Any]]]


@dataclass(slots=True)
class TickReport:
    """What one tick did; `lag` is how far behind its oldest deadline the tick ran;
    `paged`: the incidents it wrote notifications for, with their status and epoch after
    its ops; `cursor` (`within` only): where the engine stands once its transaction commits."""

    idle: bool = True
    looked: int = 0
    actions: int = 0
    notifications: int = 0
    heartbeats: int = 0
    lag: timedelta = timedelta(0)
    seconds: float = 0.0
    next_due_at: datetime | None = None
    paged: dict[str, tuple[str, int]] = field(default_factory=dict)
    cursor: dict[str, int] = field(default_factory=dict)


class Engine:
    def __init__(
        self, store: Store, policy_set: Callable[[], PolicySet], *, batch: int = 500,
        overrides: Callable[[], Sequence[ShiftOverride]] = lambda: (),
        metrics: Metrics | None = None, ownership: Ownership | None = None,
    ) -> None:
        """`ownership`: with peers, who runs which incident's timers (None: this
        console runs them all, as a console without peers must)."""
        self.store = store
        self.ownership = ownership
        self.policy_set = policy_set
        self.batch = batch
        self.overrides = overrides
        self.metrics = metrics
        self._cursor: dict[str, int] | None = None
        # The overrides as last asked, and the op-log vectors of the last two looks.
        self._shifts: Sequence[ShiftOverride] = ()
        self._looked_at: tuple[dict[str, int] | None, dict[str, int] | None] = (None, None)

    # -- the cycle -------------------------------------------------------------------------

    def tick(self, now: datetime, fence: Fence | None = None) -> TickReport:
        started = time.perf_counter()
        report = TickReport()
        with self.store.engine.connect() as conn, conn.execution_options(sqlite_begin="DEFERRED").begin():
            upto = queries.vector(conn)
            next_due = queries.next_due(conn)
            next_hb = queries.next_heartbeat(conn)
            if self._cursor is None:
                self._cursor = queries.load_cursor(conn) or {}
        changed = upto != self._cursor
        if not changed and not _reached(next_due, now) and not _reached(next_hb, now):
            report.next_due_at = _earliest(next_due, next_hb)
            report.seconds = time.perf_counter() - started
            return report
        report.idle = False
        if changed:
            with self.store.writing() as w:
                if fence is not None:
                    fence(w.conn)
                upto = self._changes(w, now, self._cursor or {})
            self._cursor = upto
        if _reached(next_hb, now):
            report.heartbeats = self._heartbeats(now, fence)
        while self._due_batch(now, fence, report):
            pass
        with self.store.engine.connect() as conn, conn.execution_options(sqlite_begin="DEFERRED").begin():
            report.next_due_at = _earliest(queries.next_due(conn), queries.next_heartbeat(conn))
        report.seconds = time.perf_counter() - started
        if self.metrics is not None:
            self.metrics.observe("sunrelay_engine_cycle_seconds", report.seconds)
        if report.seconds > SLOW_CYCLE.total_seconds():
            log.warning("engine cycle took %.1f s (looked at %d incidents): it is falling behind",
                        report.seconds, report.looked)
        return report

    def within(self, w: Writes, now: datetime, fence: Fence, limit: int, settle: Settle) -> TickReport:
        """A turn inside a caller's write transaction (ingest's group commit, whose new
        incidents are due at once): the changes since the cursor, then up to `limit` due
        incidents, oldest deadline first, recorded in that transaction.

        An incident paged here costs no transaction of its own, and its ops and row are
        read back before the commit. Its outbox rows due now are settled by `settle` (the
        dispatcher: console pages delivered) before they are written, with those written
        before: a page delivered at once is inserted `sent`, not inserted `pending`, read
        back and updated. The reads come before the engine's ops are recorded, and the
        dispatcher's ops after them: a read issues every write buffered in `w`, so both
        join in one write of each incident.

        The cursor it moved to is not written (an update of the lease row in every group
        transaction): the caller runs `committed(report)` once the transaction has
        committed, and the engine continues from there; the next tick that finds ops
        writes it. Until then the stored cursor lags, which costs a later engine (after a
        crash) only looks that find nothing new. A transaction that rolls back leaves the
        engine's cursor unknown, to be read back from the store, its incidents still due.
        """
        since, self._cursor = self._cursor, None
        fence(w.conn)
        if since is None:
            since = queries.load_cursor(w.conn) or {}
        report = TickReport(idle=False)
        report.cursor = self._changes(w, now, since, save=False)
        self._look(w, now, report, limit, settle=settle, upto=report.cursor)
        return report

    def committed(self, report: TickReport) -> None:
        """The transaction of `within`'s `report` committed: the engine stands at its cursor."""
        self._cursor = report.cursor

    def _changes(self, w: Writes, now: datetime, since: dict[str, int], *,
                 save: bool = True) -> dict[str, int]:
        """Mark due what others touched since `since`; return the new cursor (`save`d)."""
        upto = queries.vector(w.conn)
        touched = queries.changed_entities(
            w.conn, since, upto, local_site=self.store.site.site,
            own_actors=(ENGINE_ACTOR, DISPATCH_ACTOR), quiet_kinds=_QUIET)
        if touched:
            queries.mark_due(w.conn, queries.not_due(w.conn, sorted(touched), now), now)
        if save:
            queries.save_cursor(w.conn, upto, holder=ENGINE_ACTOR, now=now)
        return upto

    def _heartbeats(self, now: datetime, fence: Fence | None) -> int:
        ps = self.policy_set()
        opened = 0
        with self.store.writing() as w:
            if fence is not None:
                fence(w.conn)
            for hb in w.conn.execute(queries.EXPIRED_HEARTBEATS, {"b_now": now, "b_limit": self.batch}).all():
                alert = Alert(
                    service=hb.service, severity=hb.severity, source="heartbeat",
                    summary=f"Heartbeat {hb.name} missed: no ping since "
                            f"{hb.last_ping_at:%Y-%m-%d %H:%M:%S}Z (expected every {hb.interval_s}s)",
                    labels={"heartbeat": hb.name})
                decision = route(alert, ps, now)
                incident_id = None
                if decision.maintenance_mode != "drop":
                    triggered = open_or_repeat(w, ENGINE_ACTOR, alert=alert, decision=decision,
                                               dedup_key=f"heartbeat:{hb.name}", now=now)
                    incident_id = triggered.state.id
                    opened += 1
                w.conn.execute(queries.HEARTBEATS.update().where(queries.HEARTBEATS.c.name == hb.name)
                               .values(expires_at=None, incident_id=incident_id))
        return opened

    def _due_batch(self, now: datetime, fence: Fence | None, report: TickReport) -> bool:
        """One transaction over up to `batch` due incidents; True when more are waiting."""
        with self.store.writing() as w:
            if fence is not None:
                fence(w.conn)
            looked = self._look(w, now, report, self.batch)
        return looked == self.batch

    def _look(self, w: Writes, now: datetime, report: TickReport, limit: int, *,
              settle: Settle | None = None, upto: dict[str, int] | None = None) -> int:
        """Decide and record up to `limit` due incidents in `w`; how many were due. The
        outbox rows are written before the ops, or with `settle` (see `within`) after
        them, as settled. `upto`: the op-log vector, when the caller read it in this
        transaction and wrote no op since."""
        rows = queries.DUE_IDS.rows(w.conn, {"b_now": now, "b_limit": limit})
        if not rows:
            return 0
        ps = self.policy_set()
        if upto is None:
            upto = queries.vector(w.conn)
        overrides = self._overrides(w.conn, upto)
        if report.looked == 0:
            report.lag = max(timedelta(0), now - rows[0].next_due_at)
        histories = oplog.ops_for_entities(w.conn, [r.id for r in rows])
        sites = list(upto) if self.ownership is not None else []
        next_due: dict[str, datetime | None] = {}
        notifications: list[tuple[str, int, Notification]] = []
        acts: list[tuple[str, list[Change]]] = []
        for row in rows:
            next_due[row.id] = self._handle(w, row.id, histories.get(row.id, []), ps, overrides,
                                            now, report, notifications, acts, sites)
        earlier: list[Any] = []  # with `settle`: rows of these incidents written before, due now
        drafts: list[Drafted] = []  # and this look's, not written yet
        if settle is None:
            insert(w.conn, notifications, now)
        else:
            earlier = due_of(w.conn, sorted(report.paged), now)
            drafts = draft(w.conn, notifications)
        for incident_id, changes in acts:
            w.act(incident_id, ENGINE_ACTOR, recorded(changes))
        if settle is not None and (earlier or drafts):
            due = sorted([*earlier, *(d for d in drafts if d.next_attempt_at <= now)], key=_due_order)
            settled = settle(w, report.paged, due, [d.id for d in drafts])  # before `w.conn` issues the ops
            write(w.conn, drafts, settled, now)
        w.set_next_due(next_due)
        report.looked += len(rows)
        return len(rows)

    def _overrides(self, conn: Connection, upto: dict[str, int]) -> Sequence[ShiftOverride]:
        """The on-call overrides in force, asked of `overrides` (an `OverrideLog`: a read
        transaction of its own, once per group transaction under ingest) only when override
        ops were written since the look before last. Not since the last: an op this look's
        own transaction holds would be counted here but not yet readable there; by the next
        look it is committed (or gone). The first two looks ask (no scan from the log's start)."""
        before_last, last = self._looked_at
        if before_last is None or queries.any_of_kinds(conn, before_last, upto, _OVERRIDE_KINDS):
            self._shifts = self.overrides()
        self._looked_at = (last, upto)
        return self._shifts

    def _handle(self, w: Writes, incident_id: str, ops: list[Op], ps: PolicySet,
                overrides: Sequence[ShiftOverride], now: datetime, report: TickReport,
                outbox: list[tuple[str, int, Notification]], acts: list[tuple[str, list[Change]]],
                sites: Sequence[str]) -> datetime | None:
        """Decide on one incident: its notifications go to `outbox`; its changes to `acts`,
        for `_look` to record, unless they open a new epoch (recorded here, as the new
        epoch's ops are read back and asked again at once)."""
        for _ in range(4):
            adapted = adapt(ops, pause_stages(ps, ops))
            if adapted is None:
                return None
            result = due(adapted.view, ps, now, overrides)
            if not result.actions:
                return result.next_due_at
            if self.ownership is not None:
                hold = self.ownership.hold_until(adapted.state.origin_site, incident_id,
                                                 min(a.at for a in result.actions), now, sites)
                if hold is not None:  # the owner should act; look again when it may not have
                    return hold
            changes, notifications = _record(adapted, result.actions, ps, now)
            new_epoch = any(isinstance(a, _NEW_EPOCH) for a in result.actions)
            if new_epoch:
                state = w.act(incident_id, ENGINE_ACTOR, recorded(changes))
                standing = (state.status.value, state.epoch)
            else:  # escalations and notices move neither status nor epoch
                acts.append((incident_id, changes))
                standing = (adapted.state.status.value, adapted.state.epoch)
            if notifications:
                outbox += [(incident_id, adapted.state.epoch, n) for n in notifications]
                report.paged[incident_id] = standing
            report.actions += len(result.actions)
            report.notifications += len(notifications)
            if self.metrics is not None:
                for action in result.actions:
                    self.metrics.inc("sunrelay_engine_actions_total", kind=type(action).__name__)
            if not new_epoch:
                return result.next_due_at
            ops = oplog.ops_for_entity(w.conn, incident_id)
        return now


def _due_order(row: Any) -> tuple[datetime, int]:
    """An outbox row's place in the order a dispatcher takes due rows (`outbox.due_of`)."""
    return row.next_attempt_at, row.id


def _reached(at: datetime | None, now: datetime) -> bool:
    return at is not None and at <= now


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return min((x for x in (a, b) if x is not None), default=None)


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%MZ")


def _names(pages: Sequence[Page]) -> str:
    people = list(dict.fromkeys(p.person for p in pages))
    return ", ".join(people) if people else "nobody (no one is on call)"


def _pages(adapted: Adapted, pages: Sequence[Page], decided: datetime, cause: str, event: str,
           text: str, urgency: str) -> list[Notification]:
    state = adapted.state
    return [
        Notification(channel=p.channel, person=p.person, address=p.address, at=p.at, cause=cause,
                     message=message(state, event, text, via=p.via), urgency=urgency,
                     cancel_if_acked=p.at > decided)
        for p in pages
    ]


def _record(adapted: Adapted, actions: Sequence[Action], ps: PolicySet,
            now: datetime) -> tuple[list[Change], list[Notification]]:
    """Each action as the op that records it and the notifications it sends."""
    state, view = adapted.state, adapted.view
    changes: list[Change] = []
    out: list[Notification] = []
    for a in actions:
        if isinstance(a, Escalate):
            level = a.level + 1
            urgency = "low" if a.notify_only else "high"
            what = "notified" if a.notify_only else "paged"
            reason = f"{what} {_names(a.targets)} (policy {view.policy}, level {level}"
            reason += f", repeat {a.loop})" if a.loop else ")"
            changes.append(Change(Kind.ESCALATE, {
                "epoch": a.epoch, "loop": a.loop, "level": level, "reason": reason, "at_ms": to_ms(a.at),
                "pages": [[p.person, p.channel] for p in a.targets]}))
            text = f"{state.key} {state.severity.upper()} {state.title} — level {level} of {view.policy}"
            out += _pages(adapted, a.targets, a.at, a.key, "page" if not a.notify_only else "notify",
                          text, urgency)
        elif isinstance(a, RetriggerStaleAck):
            changes.append(Change(Kind.UNACK, {
                "epoch": a.epoch, "key": a.key, "at_ms": to_ms(a.at),
                "reason": f"acknowledged at {_iso(a.acknowledged_at)} and still open: paging again"}))
        elif isinstance(a, RaiseUrgency):
            changes.append(Change(Kind.SET_URGENCY, {
                "urgency": "high", "epoch": a.epoch, "key": a.key, "at_ms": to_ms(a.at),
                "reason": "support hours began"}))
        elif isinstance(a, SlaWarning | SlaBreach):
            what = "sla_warning" if isinstance(a, SlaWarning) else "sla_breach"
            due_at = a.due_at if isinstance(a, SlaWarning) else a.at
            changes.append(Change(Kind.NOTICE, {"what": what, "key": a.key, "sla": a.kind,
                                                "due_at": _iso(due_at), "at_ms": to_ms(a.at)}))
            verb = "is due" if isinstance(a, SlaWarning) else "was breached"
            text = f"{state.key}: the {a.kind} SLA {verb} at {_iso(due_at)}"
            out.append(_notice(adapted, a.key, what, text, now))
        elif isinstance(a, UpdateReminder):
            changes.append(Change(Kind.NOTICE, {"what": "update_reminder", "key": a.key,
                                                "since": _iso(a.last_update_at), "at_ms": to_ms(a.at)}))
            out.append(_notice(adapted, a.key, "update_reminder",
                               f"{state.key}: a status update is due (none since {_iso(a.last_update_at)})",
                               now))
        elif isinstance(a, Exhausted):
            changes.append(Change(Kind.NOTICE, {"what": "exhausted", "key": a.key, "mode": a.mode,
                                                "at_ms": to_ms(a.at)}))
            text = f"{state.key} {state.title}: escalation policy {view.policy} exhausted"
            out += _pages(adapted, a.targets, a.at, a.key, "page", text, "high")
            out.append(_notice(adapted, a.key, "exhausted", text, now))
    return changes, out


def _notice(adapted: Adapted, cause: str, event: str, text: str, now: datetime) -> Notification:
    """A toast in the consoles: the assignee's, or every console when nobody is assigned."""
    person = adapted.state.assignee
    return Notification(channel="console", person=person, address=person, at=now, cause=cause,
                        message=message(adapted.state, event, text), urgency="high")
