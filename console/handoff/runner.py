"""The handoff runner: drafts before each hand-off, sends at shift end, escalates silence.

`HandoffRunner(store, policy_set, regions=...).tick(now)`, every few seconds
in the console or `sunrelay serve` process:

1. folds the handoff ops that sync brought (`catch_up`);
2. for each hand-off of a region this console speaks for, falling within the
   group's `draft_before` (policies `[[handoffs]]`), records a draft if the
   shift has none; once the hand-off time has passed and nobody sent it,
   sends the draft automatically, marked as such;
3. a sent handoff not acknowledged within `ack_timeout` escalates like an
   incident, because it becomes one: an incident `handoff:<id>` (service
   `handoff`, no escalation policy, so the engine adds no steps of its own)
   whose level 1 pages the incoming region's lead (or its on-call when the
   group names no lead), with the pages in the outbox in the same
   transaction, delivered and recorded by the dispatcher like any page;
4. resolves that incident once the handoff is acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select

from console.domain import commands
from console.domain.commands import Change
from console.domain.state import IncidentState
from console.domain.vocabulary import HandoffKind, Kind, Status
from console.engine.adapter import to_ms
from console.handoff import store as handoffs
from console.handoff.draft import Shift, draft, shifts_ending, stamp
from console.handoff.store import HANDOFFS, catch_up
from console.notify.dispatcher import recorded
from console.notify.outbox import Notification, insert, message
from console.store import db
from console.store.store import Store
from console.store.tables import Handoff, Incident
from policies import PolicySet, on_call, pages_for
from sync import oplog
from sync.ops import Op
from sync.tables import OpLogRow

RUNNER_ACTOR = "handoff"
INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
OPS = OpLogRow.__table__  # type: ignore[attr-defined]
_OPEN = (Status.TRIGGERED.value, Status.ACKNOWLEDGED.value)
_UNANSWERED = select(HANDOFFS).where(HANDOFFS.c.status == "sent", HANDOFFS.c.escalated_at.is_(None))
_SETTLED = (
    select(INCIDENTS.c.id).join(HANDOFFS, HANDOFFS.c.escalation_incident == INCIDENTS.c.id)
    .where(HANDOFFS.c.status == "acknowledged", INCIDENTS.c.status.in_(_OPEN))
)


@dataclass(slots=True)
class RunnerReport:
    drafted: int = 0
    sent: int = 0
    escalated: int = 0
    settled: int = 0


def histories(conn: Connection, since: datetime) -> dict[str, list[Op]]:
    """The ops of every incident open now or moved since `since`: what a draft reads."""
    moved = select(OPS.c.entity).where(OPS.c.hlc >= f"{to_ms(since):013d}")
    ids = [r.id for r in conn.execute(select(INCIDENTS.c.id).where(
        INCIDENTS.c.status.in_(_OPEN) | INCIDENTS.c.id.in_(moved)))]
    return oplog.ops_for_entities(conn, ids)


def new_draft(store: Store, ps: PolicySet, shift: Shift, now: datetime, actor: str) -> Handoff:
    with db.reading(store.engine) as conn:
        ops = histories(conn, shift.start)
    return handoffs.open_draft(store, actor, shift, draft(ops, ps, shift, now))


class HandoffRunner:
    def __init__(self, store: Store, policy_set: Callable[[], PolicySet], *,
                 regions: Collection[str] | None = None, lookback: timedelta = timedelta(hours=1)) -> None:
        """`regions`: the regions this console drafts and escalates for (None: all of them);
        `lookback`: how long after a missed hand-off (the process was down) it is still sent."""
        self.store = store
        self.policy_set = policy_set
        self.regions = None if regions is None else frozenset(regions)
        self.lookback = lookback

    def _mine(self, *regions: str) -> bool:
        return self.regions is None or any(r in self.regions for r in regions)

    def tick(self, now: datetime) -> RunnerReport:
        report = RunnerReport()
        ps = self.policy_set()
        handoffs.fresh(self.store)
        for group in ps.follow_the_sun.values():
            rules = ps.handoff_rules(group.id)
            for shift in shifts_ending(group, now - self.lookback, now + rules.draft_before):
                if self._mine(shift.region):
                    self._shift(ps, shift, now, report)
        with db.reading(self.store.engine) as conn:
            waiting = [Handoff.model_construct(**r._mapping) for r in conn.execute(_UNANSWERED)]
            settled = [r.id for r in conn.execute(_SETTLED)]
        for row in waiting:
            timeout = ps.handoff_rules(row.group_id).ack_timeout
            if row.sent_at is not None and row.sent_at + timeout <= now and self._mine(
                    row.from_region, row.to_region):
                report.escalated += self._escalate(ps, row.id, now)
        for incident_id in settled:
            self.store.act(incident_id, RUNNER_ACTOR, _resolve_open)
            report.settled += 1
        return report

    def _shift(self, ps: PolicySet, shift: Shift, now: datetime, report: RunnerReport) -> None:
        rows = handoffs.handoffs(self.store, group=shift.group, region=shift.region, handoff_at=shift.end)
        if not rows:
            rows = [new_draft(self.store, ps, shift, now, RUNNER_ACTOR)]
            report.drafted += 1
        if shift.end <= now and all(r.status == "draft" for r in rows):
            first = min(rows, key=lambda r: (r.drafted_at, r.id))
            handoffs.send(self.store, first.id, RUNNER_ACTOR, automatic=True)
            report.sent += 1

    def _escalate(self, ps: PolicySet, handoff_id: str, now: datetime) -> int:
        with self.store.writing() as w:
            catch_up(w.conn)
            row = handoffs.get_row(w.conn, handoff_id)
            if row.status != "sent" or row.escalated_at is not None or row.sent_at is None:
                return 0  # acknowledged, or escalated by another process, meanwhile
            rules = ps.handoff_rules(row.group_id)
            lead = rules.leads.get(row.to_region)
            people = [lead] if lead else _on_call(ps, row, now)
            title = f"Handoff {row.from_region} → {row.to_region} not acknowledged"
            state = w.trigger(RUNNER_ACTOR, title=title, service="handoff", severity="sev2",
                              dedup_key=f"handoff:{row.id}",
                              labels={"handoff": row.id, "group": row.group_id}).state
            pages = pages_for(ps, [f"person:{p}" for p in people], now, "high")
            names = ", ".join(people) or "nobody (no lead, no one on call)"
            w.act(state.id, RUNNER_ACTOR, recorded([Change(Kind.ESCALATE, {
                "epoch": state.epoch, "loop": 0, "level": 1, "at_ms": to_ms(now),
                "reason": f"paged {names}: handoff sent {stamp(row.sent_at)} not acknowledged "
                          f"within {rules.ack_timeout}",
                "pages": [[p.person, p.channel] for p in pages]})]))
            text = f"{state.key}: {title} (sent {stamp(row.sent_at)} by {row.sent_by})"
            insert(w.conn, [(state.id, state.epoch, Notification(
                channel=p.channel, person=p.person, address=p.address, at=p.at, cause=f"handoff:{row.id}",
                message=message(state, "page", text, via=p.via, handoff=row.id), urgency="high",
                cancel_if_acked=p.at > now)) for p in pages], now)
            handoffs.record(w, RUNNER_ACTOR, row.id, HandoffKind.ESCALATE,
                            {"incident": state.id, "key": state.key, "people": people, "at_ms": to_ms(now)})
        return 1


def _on_call(ps: PolicySet, row: Handoff, now: datetime) -> list[str]:
    group = ps.follow_the_sun.get(row.group_id)
    region = next((r for r in group.regions if r.name == row.to_region), None) if group else None
    schedule = ps.schedules.get(region.schedule) if region else None
    return list(on_call(schedule, now)) if schedule else []


def _resolve_open(state: IncidentState) -> list[Change]:
    """Resolve the escalation incident of a handoff someone acknowledged (unless done meanwhile)."""
    return [commands.resolve(state)] if state.is_open else []
