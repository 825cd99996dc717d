"""On-call figures from the op log alone: pure functions of (ops, policies, now).

Every figure comes from the ops, never from a projection, so any console
holding the same ops computes the same report. Definitions (docs/reports.md):

- an incident counts in the window when its trigger falls in [since, now);
- MTTA: trigger → first `ack` (any epoch); MTTR: trigger → the resolve that
  left it resolved (resolved incidents only);
- escalated: some step went past level 1; repeat escalation: two or more
  such steps (a further level, a repeat loop, or a later epoch);
- time to escalate: trigger → the first step past level 1;
- SLA attainment: ack and resolve goals of the incident's priority, on its
  business calendar minus pause stages; an open incident counts once its
  goal has passed (breached), not before;
- a page is one person paged by one escalation step (the same step recorded
  by two consoles counts once); its local time decides "outside working
  hours" and "night" (22:00–07:00) in the person's own zone, DST included.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from console.domain.fold import wall_ms
from console.domain.vocabulary import HANDOFF_KINDS, Kind
from console.engine.adapter import adapt, to_datetime
from console.handoff.fold import fold as fold_handoff
from policies import PolicySet, sla_clock
from policies.calendars import window_on
from policies.followthesun import region_at
from policies.models import WEEKDAYS, Window
from sync.ops import Op

GROUPINGS = ("service", "team", "region", "severity", "person")
OFFICE = Window.model_validate({"days": list(WEEKDAYS[:5]), "from": "09:00", "to": "17:00"})
NIGHT = (time(22), time(7))


@dataclass(frozen=True, slots=True)
class Stats:
    """Minutes; p90 by nearest rank."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None


def stats(minutes: Sequence[float]) -> Stats:
    if not minutes:
        return Stats(0, None, None, None)
    ordered = sorted(minutes)
    p90 = ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]
    return Stats(len(ordered), statistics.fmean(ordered), statistics.median(ordered), p90)


@dataclass(frozen=True, slots=True)
class SlaOutcome:
    key: str
    sla: str
    goal: timedelta
    due_at: datetime | None
    met: bool
    stopped_at: datetime | None


@dataclass(slots=True)
class Incident:
    """What the report needs of one incident."""

    id: str
    key: str
    title: str
    service: str
    team: str | None
    severity: str
    priority: str | None
    created: datetime
    alerts: int
    first_ack: datetime | None = None
    first_ack_by: str | None = None
    resolved: datetime | None = None
    escalations: list[datetime] = field(default_factory=list)  # steps past level 1
    pages: list[tuple[str, datetime]] = field(default_factory=list)
    sla: list[SlaOutcome] = field(default_factory=list)

    def minutes(self, end: datetime | None) -> float | None:
        return None if end is None else (end - self.created).total_seconds() / 60


def _at(op: Op) -> datetime:
    at = op.payload.get("at_ms")
    return to_datetime(int(at) if isinstance(at, int) else wall_ms(op.hlc))


def incident(ops: Sequence[Op], ps: PolicySet, now: datetime) -> Incident | None:
    target = None
    priorities = [op.payload.get("priority") for op in ops if op.kind in (Kind.TRIGGER, Kind.SET_PRIORITY)]
    if priorities and priorities[-1]:
        target = ps.sla_for(str(priorities[-1]))
    adapted = adapt(ops, target.pause_states if target else ())
    if adapted is None:
        return None
    state, view = adapted.state, adapted.view
    out = Incident(state.id, state.key, state.title, state.service, state.team, state.severity,
                   state.priority, to_datetime(state.created_at), state.alert_count,
                   resolved=to_datetime(state.resolved_at) if state.resolved_at else None)
    ordered = sorted({op.op_id: op for op in ops}.values(), key=lambda o: o.sort_key)
    steps: set[tuple[int, int, int]] = set()
    for op in ordered:
        if op.kind == Kind.ACK and out.first_ack is None:
            out.first_ack, out.first_ack_by = to_datetime(wall_ms(op.hlc)), op.actor
        elif op.kind == Kind.ESCALATE:
            step = (int(op.payload.get("epoch", 0)), int(op.payload.get("loop", 0)),
                    int(op.payload.get("level", 1)))
            if step in steps:
                continue  # the same step recorded by a second console
            steps.add(step)
            if step[1] > 0 or step[2] > 1:
                out.escalations.append(_at(op))
            out.pages += [(str(person), _at(op)) for person in
                          dict.fromkeys(str(p[0]) for p in op.payload.get("pages") or [])]
    if target is not None:
        cal = ps.calendars.get(target.calendar) if target.calendar else None
        for kind, goal, stopped in (("ack", target.ack, out.first_ack or out.resolved),
                                    ("resolve", target.resolve, out.resolved)):
            if goal is None:
                continue
            clock = sla_clock(goal, cal, out.created, view.paused, stopped or now, target.warn_at,
                              stopped_at=stopped)
            if stopped is None and not clock.breached:
                continue  # still running: neither met nor breached yet
            out.sla.append(SlaOutcome(out.key, kind, goal, clock.due_at, not clock.breached, stopped))
    return out


def _group_key(by: str, ps: PolicySet) -> Callable[[Incident], str]:
    def region(i: Incident) -> str:
        for group in ps.follow_the_sun.values():
            r, _ = region_at(group, i.created)
            if r is not None:
                return r.name
        return "-"

    keys: dict[str, Callable[[Incident], str]] = {
        "service": lambda i: i.service, "team": lambda i: i.team or "-",
        "severity": lambda i: i.severity, "person": lambda i: i.first_ack_by or "-", "region": region,
    }
    return keys[by]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def summary(incidents: Sequence[Incident]) -> dict[str, Any]:
    """The figures of a set of incidents (the whole window, or one group of it)."""
    n = len(incidents)
    escalated = [i for i in incidents if i.escalations]
    sla: dict[str, float | None] = {}
    for kind in ("ack", "resolve"):
        outcomes = [o for i in incidents for o in i.sla if o.sla == kind]
        sla[kind] = _rate(sum(o.met for o in outcomes), len(outcomes))
    return {
        "incidents": n,
        "mtta": stats([m for i in incidents if (m := i.minutes(i.first_ack)) is not None]),
        "mttr": stats([m for i in incidents if (m := i.minutes(i.resolved)) is not None]),
        "escalation_rate": _rate(len(escalated), n),
        "repeat_escalation_rate": _rate(sum(len(i.escalations) >= 2 for i in incidents), n),
        "time_to_escalate": stats([(i.escalations[0] - i.created).total_seconds() / 60 for i in escalated]),
        "sla_ack": sla["ack"],
        "sla_resolve": sla["resolve"],
    }


def working_hours(ps: PolicySet) -> dict[str, Window]:
    """A person's working hours: their follow-the-sun region's, else Mon–Fri 09:00–17:00."""
    out: dict[str, Window] = {}
    for group in ps.follow_the_sun.values():
        for region in group.regions:
            schedule = ps.schedules.get(region.schedule)
            for layer in schedule.layers if schedule else ():
                for person in layer.members:
                    out.setdefault(person, region.working_hours)
    return out


def _inside(window: Window, local: datetime, tz: str) -> bool:
    ts = local.timestamp()
    for d in (local.date() - timedelta(days=1), local.date()):
        if WEEKDAYS[d.weekday()] in window.days:
            start, end = window_on(window, d, tz)
            if start <= ts < end:
                return True
    return False


def _night(local: datetime) -> date | None:
    """The evening's date of the night a local time falls in, or None by day."""
    if local.time() >= NIGHT[0]:
        return local.date()
    if local.time() < NIGHT[1]:
        return local.date() - timedelta(days=1)
    return None


def fatigue(incidents: Iterable[Incident], ps: PolicySet, since: datetime,
            now: datetime) -> list[dict[str, Any]]:
    hours = working_hours(ps)
    weeks = max((now - since) / timedelta(weeks=1), 1 / 7)
    pages: dict[str, list[datetime]] = defaultdict(list)
    for i in incidents:
        for person, at in i.pages:
            if since <= at < now:
                pages[person].append(at)
    out = []
    for person, times in sorted(pages.items()):
        tz = ps.people[person].time_zone if person in ps.people else "UTC"
        local = [at.astimezone(ZoneInfo(tz)) for at in times]
        window = hours.get(person, OFFICE)
        out.append({
            "person": person, "time_zone": tz, "pages": len(times),
            "pages_per_week": len(times) / weeks,
            "outside_working_hours": sum(not _inside(window, t, tz) for t in local),
            "nights_interrupted": len({n for t in local if (n := _night(t)) is not None}),
        })
    return sorted(out, key=lambda f: (-f["pages"], f["person"]))


def handoff_delays(handoff_ops: Mapping[str, Sequence[Op]], since: datetime, now: datetime) -> dict[str, Any]:
    sent, delays, unacknowledged = 0, [], 0
    for ops in handoff_ops.values():
        h = fold_handoff(ops)
        if h is None or h.sent_at is None or not since <= to_datetime(h.sent_at) < now:
            continue
        sent += 1
        if h.acknowledged_at is None:
            unacknowledged += 1
        else:
            delays.append((h.acknowledged_at - h.sent_at) / 60000)
    return {"sent": sent, "unacknowledged": unacknowledged, "delay": stats(delays)}


def report(histories: Mapping[str, Sequence[Op]], ps: PolicySet, since: datetime, now: datetime,
           by: str | None = None) -> dict[str, Any]:
    """Every figure of the window [since, now); `histories` maps each entity to its ops."""
    handoff_ops = {e: ops for e, ops in histories.items() if ops and ops[0].kind in HANDOFF_KINDS}
    every = [i for e, ops in histories.items() if e not in handoff_ops
             and (i := incident(ops, ps, now)) is not None]
    incidents = sorted((i for i in every if since <= i.created < now), key=lambda i: (i.created, i.key))
    groups: dict[str, list[Incident]] = defaultdict(list)
    if by is not None:
        key = _group_key(by, ps)
        for i in incidents:
            groups[key(i)].append(i)
    services = Counter(i.service for i in incidents)
    alerts = Counter[str]()
    for i in incidents:
        alerts[i.service] += i.alerts
    return {
        "since": since, "until": now, "by": by,
        "all": summary(incidents),
        "groups": {name: summary(members) for name, members in sorted(groups.items())},
        "handoffs": handoff_delays(handoff_ops, since, now),
        "sla_breaches": [o for i in incidents for o in i.sla if not o.met],
        "fatigue": fatigue(every, ps, since, now),  # pages in the window, whenever opened
        "noisiest_services": [
            {"service": s, "incidents": n, "alerts": alerts[s], "deduplicated": alerts[s] - n}
            for s, n in sorted(services.items(), key=lambda kv: (-alerts[kv[0]], kv[0]))[:10]],
    }
