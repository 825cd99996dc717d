"""One incident in full for the incident screen: fields, SLA clocks, what the
policy says is due next, and the timeline with where each op came from.

Here the console can afford the exact answer (`policies.due`, `sla_clock`)
because it computes it for one incident, not ten thousand.

`policies`, and the engine's adapter that brings it, are imported by the
functions that use them: the queue imports this module before its first frame,
and the policy set is read after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Engine, func, select

from console import i18n
from console.domain.fold import wall_ms
from console.domain.timeline import describe
from console.i18n import _, _l
from console.store import db
from console.store.projection import ms_to_dt
from console.store.store import Store
from console.store.tables import Incident

if TYPE_CHECKING:
    from policies import PolicySet
    from policies.escalation import Action, IncidentView

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
# The store's status values as people read them.
STATUSES = {"triggered": _l("triggered"), "acknowledged": _l("acknowledged"),
            "resolved": _l("resolved")}


def when(at: datetime) -> str:
    """A moment of the incident's life in UTC, as the language writes dates:
    'Tue, Mar 10, 2026, 02:02Z' / 'Sel, 10 Mar 2026 02.02Z'."""
    return i18n.moment(at, UTC) + "Z"


def status_text(status: str) -> str:
    return str(STATUSES.get(status, status))



@dataclass(frozen=True, slots=True)
class Clock:
    """An SLA clock: goal `kind` (`ack`, `resolve`) falls due at `due_at`."""

    kind: str
    due_at: datetime | None
    stopped: bool
    warn_at: datetime | None


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    actor: str
    text: str
    origin: str  # "" for this console, else the site the op came from
    kind: str


@dataclass(frozen=True, slots=True)
class Coming:
    """Something the policy says falls due; passed ones are overdue (no engine acted)."""

    at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class Detail:
    key: str
    id: str
    title: str
    status: str
    severity: str
    priority: str | None
    high_risk: bool
    fields: list[tuple[str, str]]
    labels: dict[str, str]
    clocks: list[Clock]
    coming: list[Coming]
    timeline: list[Entry]
    conflicts: dict[str, list[str | None]] = field(default_factory=dict)


def is_high_risk(priority: str | None, severity: str, labels: dict[str, str]) -> bool:
    """Resolving these needs the key typed: P1 at sev1, or any incident whose
    route marked it `risk=high` (a label the policy's routes and alerts carry)."""
    return (priority == "P1" and severity == "sev1") or labels.get("risk") == "high"


def site_names(engine: Engine) -> dict[str, str]:
    """Site id -> the key prefix its incidents carry (JKT), as far as this store knows."""
    with db.reading(engine) as conn:
        rows = conn.execute(select(INCIDENTS.c.origin_site, func.min(INCIDENTS.c.key))
                            .group_by(INCIDENTS.c.origin_site))
        return {site: key.rpartition("-")[0] for site, key in rows}


def describe_action(action: Action, ps: PolicySet) -> str:
    from policies.escalation import (
        Escalate,
        Exhausted,
        RaiseUrgency,
        RetriggerStaleAck,
        SlaBreach,
        SlaWarning,
        UpdateReminder,
    )

    if isinstance(action, Escalate):
        people = ", ".join(ps.people[p].name if p in ps.people else p for p in action.people)
        text = _("notify level {level}: {people}") if action.notify_only else _(
            "page level {level}: {people}")
        return text.format(level=action.level + 1, people=people or _("nobody"))
    if isinstance(action, SlaWarning):
        return _("SLA warning: time to {goal}").format(goal=action.kind)
    if isinstance(action, SlaBreach):
        return _("SLA breach: time to {goal}").format(goal=action.kind)
    if isinstance(action, UpdateReminder):
        return _("status update due")
    if isinstance(action, RetriggerStaleAck):
        return _("acknowledgement goes stale: re-trigger")
    if isinstance(action, RaiseUrgency):
        return _("support hours open: urgency raised")
    if isinstance(action, Exhausted):
        return _("escalation policy exhausted ({mode})").format(mode=action.mode)
    return type(action).__name__


def coming(view: IncidentView, ps: PolicySet, now: datetime) -> list[Coming]:
    """Overdue actions, then the next one the policy foresees."""
    from policies import due

    result = due(view, ps, now)
    out = [Coming(a.at, describe_action(a, ps)) for a in result.actions]
    if result.next_due_at is not None:
        ahead = due(view, ps, result.next_due_at)
        named = [a for a in ahead.actions if a.at >= now] or ahead.actions
        text = describe_action(named[0], ps) if named else _("the engine looks again")
        out.append(Coming(result.next_due_at, text))
    return out


def clocks(view: IncidentView, ps: PolicySet, now: datetime) -> list[Clock]:
    from policies import sla_clock

    target = ps.sla_for(view.priority)
    if target is None:
        return []
    cal = ps.calendars.get(target.calendar) if target.calendar else None
    out = []
    for kind, goal, stopped in (("ack", target.ack, view.acknowledged_at or view.resolved_at),
                                ("resolve", target.resolve, view.resolved_at)):
        if goal is None:
            continue
        c = sla_clock(goal, cal, view.created_at, view.paused, now, target.warn_at, stopped)
        out.append(Clock(kind, c.due_at, c.stopped, c.warn_at))
    return out


def load(store: Store, key: str, ps: PolicySet | None, now: datetime) -> Detail:
    from console.engine.adapter import adapt, pause_stages

    row = store.find(key)
    state = store.get(row.id)
    ops = store.timeline(row.id)
    local = store.site.site
    names = site_names(store.engine) if any(op.site != local for op in ops) else {}
    timeline = [Entry(ms_to_dt(wall_ms(op.hlc)), op.actor, describe(op),
                      "" if op.site == local else names.get(op.site, op.site[:8]), op.kind)
                for op in ops]
    # The engine's own view of the incident, so the screen shows what the engine will do.
    adapted = adapt(ops, pause_stages(ps, ops) if ps is not None else ())
    assert adapted is not None  # the incident exists, so its trigger is in `ops`
    view = adapted.view
    by = _("{time} by {person}")
    level = (_("level {level}, loop {loop}") if row.esc_loop else _("level {level}")).format(
        level=row.esc_level, loop=row.esc_loop)
    fields = [
        (_("Status"), _("{status} (epoch {epoch})").format(status=status_text(row.status),
                                                           epoch=row.epoch)),
        (_("Severity"), row.severity), (_("Priority"), row.priority or "-"), (_("Stage"), row.stage),
        (_("Service"), row.service), (_("Team"), row.team or "-"), (_("Policy"), row.policy or "-"),
        (_("Assignee"), row.assignee or "-"), (_("Escalation"), level),
        (_("Alerts"), str(row.alert_count)), (_("Dedup key"), row.dedup_key or "-"),
        (_("Created"), when(row.created_at)),
        (_("Acknowledged"), by.format(time=when(row.acknowledged_at), person=row.acknowledged_by)
         if row.acknowledged_at else "-"),
        (_("Resolved"), by.format(time=when(row.resolved_at), person=row.resolved_by)
         if row.resolved_at else "-"),
    ]
    return Detail(
        key=row.key, id=row.id, title=row.title, status=row.status, severity=row.severity,
        priority=row.priority, high_risk=is_high_risk(row.priority, row.severity, row.labels),
        fields=fields, labels=dict(row.labels),
        clocks=clocks(view, ps, now) if ps is not None else [],
        coming=coming(view, ps, now) if ps is not None and row.status != "resolved" else [],
        timeline=timeline, conflicts=state.conflicts(),
    )
