"""`policies simulate`: replay `route` and `due` for one hypothetical alert.

The simulation drives the same pure functions the engine uses, jumping from
one `next_due_at` to the next, and records what the engine would record, so
what it prints is what would happen.  A scripted responder may acknowledge
(`ack_after`, counted from each time the incident is (re)triggered) and
resolve (`resolve_after`, counted from the alert).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from .escalation import (
    Action,
    Escalate,
    Exhausted,
    IncidentView,
    Page,
    RaiseUrgency,
    RetriggerStaleAck,
    SlaBreach,
    SlaWarning,
    UpdateReminder,
    due,
)
from .i18n import _
from .policyset import PolicySet
from .routing import Alert, RouteDecision, route
from .schedule import ShiftOverride
from .sla import sla_clock
from .timeutil import format_duration, zone

Outcome = Literal["resolved", "exhausted", "horizon", "dropped", "record_only"]


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    kind: str
    text: str
    person: str | None = None


@dataclass
class Simulation:
    alert: Alert
    started: datetime
    decision: RouteDecision
    entries: list[Entry] = field(default_factory=list)
    outcome: Outcome = "horizon"

    def paged(self) -> list[tuple[datetime, str, str]]:
        """(when, person, channel) of every page sent, in order."""
        return [(e.at, e.person or "", e.kind.removeprefix("page:"))
                for e in self.entries if e.kind.startswith("page:")]


def _record(view: IncidentView, action: Action) -> IncidentView:
    """What the engine would record for an action (mirrors the console's fold)."""
    if isinstance(action, Escalate):
        steps = dict(view.steps_taken)
        steps[action.step] = action.at
        return replace(view, steps_taken=steps, loop=action.loop, level=action.level)
    recorded = view.recorded | {action.key}
    if isinstance(action, RetriggerStaleAck | RaiseUrgency):
        return replace(
            view,
            status="triggered",
            urgency="high",
            epoch=view.epoch + 1,
            epoch_started_at=action.at,
            acknowledged_at=None,
            steps_taken={},
            loop=0,
            level=0,
            recorded=recorded,
        )
    return replace(view, recorded=recorded)


def _describe(ps: PolicySet, action: Action) -> list[Entry]:
    if isinstance(action, Escalate):
        text = _("notify loop {loop} level {level}: {people}") if action.notify_only \
            else _("escalate to loop {loop} level {level}: {people}")
        head = Entry(action.at, "escalate", text.format(
            loop=action.loop + 1, level=action.level + 1, people=", ".join(action.people) or _("nobody")))
        return [head, *(_page(ps, p) for p in action.targets)]
    if isinstance(action, RetriggerStaleAck):
        return [Entry(action.at, "retrigger", _("acknowledgement went stale: re-triggered"))]
    if isinstance(action, RaiseUrgency):
        return [Entry(action.at, "urgency", _("support hours began: urgency raised to high"))]
    if isinstance(action, SlaWarning):
        return [Entry(action.at, "sla-warning", _("SLA warning: time to {kind} due {time} UTC").format(
            kind=action.kind, time=f"{action.due_at:%H:%M}"))]
    if isinstance(action, SlaBreach):
        return [Entry(action.at, "sla-breach", _("SLA breached: time to {kind}").format(kind=action.kind))]
    if isinstance(action, UpdateReminder):
        return [Entry(action.at, "reminder", _("status update due"))]
    if isinstance(action, Exhausted):
        out = [Entry(action.at, "exhausted", _("policy exhausted ({mode})").format(mode=action.mode))]
        return out + [_page(ps, p) for p in action.targets]
    return []


def _page(ps: PolicySet, p: Page) -> Entry:
    person = ps.people.get(p.person)
    local = ""
    if person is not None:
        local = f" ({p.at.astimezone(zone(person.time_zone)):%H:%M} {person.time_zone})"
    dest = f" {p.address}" if p.address and p.channel != "console" else ""
    text = _("page {person}{local_time} by {channel}{address} [{via}]").format(
        person=p.person, local_time=local, channel=p.channel, address=dest, via=p.via)
    return Entry(p.at, f"page:{p.channel}", text, p.person)


def simulate(
    policy_set: PolicySet,
    alert: Alert,
    at: datetime,
    ack_after: timedelta | None = None,
    resolve_after: timedelta | None = None,
    horizon: timedelta = timedelta(hours=12),
    overrides: Sequence[ShiftOverride] = (),
) -> Simulation:
    """What would happen to `alert` arriving at `at`, until resolution, exhaustion or horizon."""
    ps = policy_set
    decision = route(alert, ps, at)
    sim = Simulation(alert, at, decision)
    sim.entries.append(Entry(at, "route", _route_text(decision)))
    if decision.maintenance_mode == "drop":
        sim.outcome = "dropped"
        return sim
    view = IncidentView(
        id="simulated", key="SIM-1", service=alert.service, severity=decision.severity,
        priority=decision.priority, status="triggered", created_at=at, policy=decision.policy,
        team=decision.team, urgency=decision.urgency, labels=dict(alert.labels),
    )
    sim.entries += _sla_entries(ps, decision, at)
    resolve_at = at + resolve_after if resolve_after is not None else None
    end = at + horizon
    pending: list[Entry] = []
    t = at
    for _step in range(5000):
        for _settle in range(20):  # a re-trigger starts an epoch whose first step is due now
            result = due(view, ps, t, overrides)
            for action in result.actions:
                for entry in _describe(ps, action):
                    (pending if entry.at > t else sim.entries).append(entry)
                view = _record(view, action)
                if isinstance(action, Exhausted) and action.mode != "keep_last":
                    sim.outcome = "exhausted"
            if not result.actions:
                break
        ack_at = None
        if ack_after is not None and view.status == "triggered":
            ack_at = view.started + ack_after
        cands = [x for x in (result.next_due_at, ack_at, resolve_at) if x is not None and x > t]
        cands += [e.at for e in pending]
        if sim.outcome == "exhausted" and not pending:
            break
        nt = min(cands) if cands else None
        if nt is None or nt > end:
            break
        t = nt
        sim.entries += [e for e in pending if e.at <= t]
        pending = [e for e in pending if e.at > t]
        if ack_at is not None and t >= ack_at:
            view = replace(view, status="acknowledged", acknowledged_at=t)
            sim.entries.append(Entry(t, "ack", _("acknowledged (scripted)")))
            pending = _cancel(pending, sim, t, _("cancelled (acknowledged): {page}"))
        if resolve_at is not None and t >= resolve_at:
            sim.entries.append(Entry(t, "resolve", _("resolved (scripted)")))
            _cancel(pending, sim, t, _("cancelled (resolved): {page}"))
            sim.outcome = "resolved"
            break
    if decision.maintenance_mode == "record_only" and sim.outcome == "horizon":
        sim.outcome = "record_only"
    sim.entries.sort(key=lambda e: e.at)
    return sim


def _cancel(pending: list[Entry], sim: Simulation, t: datetime, why: str) -> list[Entry]:
    """Delayed pages (e.g. email after 5m) are not sent once someone responded; `why`
    says so around the page's own text ({page})."""
    for e in pending:
        if e.kind.startswith("page:"):
            sim.entries.append(Entry(t, "cancelled", why.format(page=e.text), e.person))
    return [e for e in pending if not e.kind.startswith("page:")]


def _route_text(d: RouteDecision) -> str:
    text = _("routed by {rules}: policy={policy} team={team} {priority} {severity} urgency={urgency} "
             "dedup_key={dedup_key}").format(
        rules=", ".join(d.matched) or _("no rule (defaults)"), policy=d.policy, team=d.team,
        priority=d.priority, severity=d.severity, urgency=d.urgency, dedup_key=d.dedup_key)
    if d.suppressed_by_maintenance:
        text += " — " + _("maintenance {window} ({mode}): nobody paged").format(
            window=d.suppressed_by_maintenance, mode=d.maintenance_mode)
    return text


def _sla_entries(ps: PolicySet, d: RouteDecision, at: datetime) -> list[Entry]:
    target = ps.sla_for(d.priority)
    if target is None:
        return []
    cal = ps.calendars.get(target.calendar) if target.calendar else None
    out = []
    for kind, goal in (("ack", target.ack), ("resolve", target.resolve)):
        if goal is None:
            continue
        clock = sla_clock(goal, cal, at, (), at, target.warn_at)
        if clock.due_at is not None:
            text = _("SLA time to {kind}: {goal} on calendar {calendar}, due {due} UTC") if target.calendar \
                else _("SLA time to {kind}: {goal} (24x7), due {due} UTC")
            out.append(Entry(at, "sla", text.format(kind=kind, goal=format_duration(goal),
                                                    calendar=target.calendar,
                                                    due=f"{clock.due_at:%Y-%m-%d %H:%M}")))
    return out


def render(sim: Simulation, tz_name: str) -> list[str]:
    """Timeline lines: local wall time, minutes since the alert, what happened."""
    tz = zone(tz_name)
    lines = []
    for e in sim.entries:
        minutes = int((e.at - sim.started).total_seconds() // 60)
        lines.append(f"{e.at.astimezone(tz):%Y-%m-%d %H:%M}  +{minutes:>4}m  {e.kind:<12} {e.text}")
    lines.append({
        "resolved": _("outcome: resolved"),
        "exhausted": _("outcome: exhausted"),
        "horizon": _("outcome: horizon"),
        "dropped": _("outcome: dropped"),
        "record_only": _("outcome: record_only"),
    }[sim.outcome])
    return lines
