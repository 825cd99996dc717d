"""`policies check`: references, cycles and coverage of a loaded policy set.

Schema errors are found by the loader; this looks across objects and ahead
in time.  Coverage: every span in [now, now + days) where a schedule, a
follow-the-sun group or an escalation level resolves to nobody.  A level
that pages nobody is an error (an alert would reach no one); a schedule or
group gap is a warning unless a level depends on it alone, where the
level's error says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from .followthesun import group_timeline, out_of_hours
from .i18n import _
from .intervals import Span, complement, normalize, subtract
from .models import EscalationPolicy
from .policyset import PolicySet
from .problems import Problem
from .routing import Alert, render_dedup
from .schedule import timeline
from .timeutil import format_duration, zone

MAX_SPANS_SHOWN = 4


def check(policy_set: PolicySet, now: datetime, days: int = 90) -> list[Problem]:
    """Every cross-object problem and coverage gap; severity 'error' or 'warning'."""
    problems = static_problems(policy_set)
    problems += _coverage(policy_set, now, now + timedelta(days=days))
    return problems


def static_problems(policy_set: PolicySet) -> list[Problem]:
    """The checks that do not depend on time: references and cycles."""
    return [*_references(policy_set), *_cycles(policy_set)]


def _p(ps: PolicySet, kind: str, ident: str, *sub: str | int, msg: str, warn: bool = False) -> Problem:
    file, line, key = ps.locate(kind, ident, *sub)
    return Problem(file, line, key, msg, "warning" if warn else "error")


# --- references ------------------------------------------------------------------------


def _unknown_person(name: str | None) -> str:
    return _("unknown person {name!r}").format(name=name)


def _unknown_team(name: str | None) -> str:
    return _("unknown team {name!r}").format(name=name)


def _unknown_policy(name: str | None) -> str:
    return _("unknown escalation policy {name!r}").format(name=name)


def _unknown_calendar(name: str | None) -> str:
    return _("unknown calendar {name!r}").format(name=name)


def _references(ps: PolicySet) -> Iterator[Problem]:
    people, teams, pols = ps.people, ps.teams, ps.escalation_policies
    logins: dict[str, str] = {}
    for p in people.values():
        for i, login in enumerate(p.logins):
            if login in logins and logins[login] != p.id:
                yield _p(ps, "people", p.id, "logins", i,
                         msg=_("login {login!r} already belongs to {person!r}").format(
                             login=login, person=logins[login]))
            logins[login] = p.id
        for urgency in ("high", "low"):
            rules = getattr(p.notify, urgency) or []
            for i, rule in enumerate(rules):
                if rule.channel != "console" and not getattr(p.contacts, rule.channel):
                    yield _p(ps, "people", p.id, "notify", urgency, i, "channel",
                             msg=_("{channel} rule but no {channel} contact").format(channel=rule.channel))
    for t in teams.values():
        for i, m in enumerate(t.members):
            if m not in people:
                yield _p(ps, "teams", t.id, "members", i, msg=_unknown_person(m))
        if t.lead is not None and t.lead not in people:
            yield _p(ps, "teams", t.id, "lead", msg=_unknown_person(t.lead))
        if t.escalation_policy is not None and t.escalation_policy not in pols:
            yield _p(ps, "teams", t.id, "escalation_policy",
                     msg=_unknown_policy(t.escalation_policy))
    for s in ps.schedules.values():
        for li, layer in enumerate(s.layers):
            for mi, m in enumerate(layer.members):
                if m not in people:
                    yield _p(ps, "schedules", s.id, "layers", li, "members", mi,
                             msg=_unknown_person(m))
        for oi, o in enumerate(s.overrides):
            for key, who in (("user", o.user), ("replaces", o.replaces)):
                if who is not None and who not in people:
                    yield _p(ps, "schedules", s.id, "overrides", oi, key,
                             msg=_unknown_person(who))
        for ti, tmp in enumerate(s.temporary):
            for si, shift in enumerate(tmp.shifts):
                for who in shift.people:
                    if who not in people:
                        yield _p(ps, "schedules", s.id, "temporary", ti, "shifts", si, "people",
                                 msg=_unknown_person(who))
    for g in ps.follow_the_sun.values():
        for ri, r in enumerate(g.regions):
            if r.schedule not in ps.schedules:
                yield _p(ps, "follow_the_sun", g.id, "regions", ri, "schedule",
                         msg=_("unknown schedule {name!r}").format(name=r.schedule))
    for pol in pols.values():
        for li, level in enumerate(pol.levels):
            for ti, target in enumerate(level.targets):
                kind, _sep, ident = target.partition(":")
                store: dict[str, object] = {
                    "person": people, "schedule": ps.schedules, "team": teams,
                    "follow_the_sun": ps.follow_the_sun, "policy": pols,
                }[kind]  # type: ignore[assignment]
                if ident not in store:
                    yield _p(ps, "escalation_policies", pol.id, "levels", li, "targets", ti,
                             msg=_("unknown {kind} {name!r}").format(kind=kind.replace("_", "-"), name=ident))
        if pol.fallback is not None and pol.fallback not in people:
            yield _p(ps, "escalation_policies", pol.id, "fallback",
                     msg=_unknown_person(pol.fallback))
        if pol.support_hours is not None and pol.support_hours not in ps.calendars:
            yield _p(ps, "escalation_policies", pol.id, "support_hours",
                     msg=_unknown_calendar(pol.support_hours))
    probe = Alert(service="probe", severity="sev2", summary="probe", labels={"alertname": "x"})
    for ri, route in enumerate(ps.routes):
        rid = str(ri)
        if route.set_.policy is not None and route.set_.policy not in pols:
            yield _p(ps, "routes", rid, "set", "policy",
                     msg=_unknown_policy(route.set_.policy))
        if route.set_.team is not None and route.set_.team not in teams:
            yield _p(ps, "routes", rid, "set", "team", msg=_unknown_team(route.set_.team))
        if route.set_.dedup_key:
            try:
                render_dedup(route.set_.dedup_key, probe)
            except (KeyError, IndexError, ValueError, AttributeError) as exc:
                yield _p(ps, "routes", rid, "set", "dedup_key",
                         msg=_("bad dedup_key template: {error!r}").format(error=exc))
    for sla in ps.sla.values():
        if sla.calendar is not None and sla.calendar not in ps.calendars:
            yield _p(ps, "sla", sla.priority, "calendar", msg=_unknown_calendar(sla.calendar))
    for sh in ps.stakeholders.values():
        for i, team in enumerate(sh.teams):
            if team not in teams:
                yield _p(ps, "stakeholders", sh.id, "teams", i, msg=_unknown_team(team))
    for h in ps.handoffs.values():
        group = ps.follow_the_sun.get(h.group)
        if group is None:
            yield _p(ps, "handoffs", h.group, "group",
                     msg=_("unknown follow-the-sun group {name!r}").format(name=h.group))
            continue
        regions = {r.name for r in group.regions}
        for region, lead in h.leads.items():
            if region not in regions:
                yield _p(ps, "handoffs", h.group, "leads", region,
                         msg=_("group {group!r} has no region {region!r}").format(
                             group=h.group, region=region))
            if lead not in people:
                yield _p(ps, "handoffs", h.group, "leads", region, msg=_unknown_person(lead))
    d = ps.defaults
    if d.escalation_policy is not None and d.escalation_policy not in pols:
        yield _p(ps, "defaults", "", "escalation_policy",
                 msg=_unknown_policy(d.escalation_policy))
    if d.team is not None and d.team not in teams:
        yield _p(ps, "defaults", "", "team", msg=_unknown_team(d.team))


# --- cycles ---------------------------------------------------------------------------------


def _cycles(ps: PolicySet) -> Iterator[Problem]:
    """Policies that hand over to each other (policy: targets) in a loop."""
    graph: dict[str, list[tuple[str, int, int]]] = {}
    for pol in ps.escalation_policies.values():
        edges = []
        for li, level in enumerate(pol.levels):
            for ti, target in enumerate(level.targets):
                kind, _sep, ident = target.partition(":")
                if kind == "policy" and ident in ps.escalation_policies:
                    edges.append((ident, li, ti))
        graph[pol.id] = edges
    reported: set[frozenset[str]] = set()
    for start in sorted(graph):
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt, li, ti in graph.get(node, []):
                if nxt == start:
                    cyc = frozenset(path)
                    if cyc not in reported:
                        reported.add(cyc)
                        chain = " -> ".join([*path, start])
                        yield _p(ps, "escalation_policies", node, "levels", li, "targets", ti,
                                 msg=_("escalation cycle: {chain}").format(chain=chain))
                elif nxt not in path and len(path) < 50:
                    stack.append((nxt, [*path, nxt]))


# --- coverage -------------------------------------------------------------------------------


def _fmt_spans(spans: list[Span], tz_name: str) -> str:
    tz = zone(tz_name)

    def f(ts: float) -> str:
        return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M")

    shown = [f"{f(s)} → {f(e)}" for s, e in spans[:MAX_SPANS_SHOWN]]
    more = len(spans) - MAX_SPANS_SHOWN
    total = sum(e - s for s, e in spans)
    if more > 0:
        shown.append(_("+{count} more").format(count=more))
    return _("{spans} (local time {zone}; total {total})").format(
        spans="; ".join(shown), zone=tz_name, total=format_duration(timedelta(seconds=total)))


class _Coverage:
    """Covered spans per target over the horizon, memoised."""

    def __init__(self, ps: PolicySet, start: datetime, end: datetime) -> None:
        self.ps, self.start, self.end = ps, start, end
        self.a, self.b = start.timestamp(), end.timestamp()
        self.memo: dict[str, list[Span]] = {}

    def target(self, target: str, seen: frozenset[str] = frozenset()) -> list[Span]:
        if target in self.memo:
            return self.memo[target]
        kind, _sep, ident = target.partition(":")
        ps = self.ps
        full = [(self.a, self.b)]
        spans: list[Span] = []
        if kind == "person":
            spans = full if ident in ps.people else []
        elif kind == "team":
            team = ps.teams.get(ident)
            spans = full if team and any(m in ps.people for m in team.members) else []
        elif kind == "schedule":
            sched = ps.schedules.get(ident)
            if sched is not None:
                spans = normalize(
                    (s, e) for s, e, p in timeline(sched, self.start, self.end) if p
                )
        elif kind == "follow_the_sun":
            group = ps.follow_the_sun.get(ident)
            if group is not None:
                spans = normalize(
                    (s, e)
                    for s, e, _region, p in group_timeline(group, ps.schedules, self.start, self.end)
                    if p
                )
        elif kind == "policy":
            pol = ps.escalation_policies.get(ident)
            if pol is not None and target not in seen:
                spans = normalize(
                    x for t in pol.levels[0].targets for x in self.target(t, seen | {target})
                )
        self.memo[target] = spans
        return spans

    def gaps(self, covered: list[Span]) -> list[Span]:
        return complement(covered, self.a, self.b)


def _coverage(ps: PolicySet, start: datetime, end: datetime) -> Iterator[Problem]:
    cov = _Coverage(ps, start, end)
    used_by_level: set[str] = set()
    in_groups: set[str] = set()
    for pol in ps.escalation_policies.values():
        for level in pol.levels:
            used_by_level.update(level.targets)
    for g in ps.follow_the_sun.values():
        in_groups.update(r.schedule for r in g.regions)
    for sched in ps.schedules.values():
        ref = f"schedule:{sched.id}"
        if sched.id in in_groups and ref not in used_by_level:
            continue  # only matters while its region is on duty: checked via the group
        gaps = cov.gaps(cov.target(ref))
        if gaps:
            yield _p(ps, "schedules", sched.id, warn=True,
                     msg=_("schedule {name!r} resolves to nobody: {spans}").format(
                         name=sched.id, spans=_fmt_spans(gaps, sched.time_zone)))
    for group in ps.follow_the_sun.values():
        gaps = cov.gaps(cov.target(f"follow_the_sun:{group.id}"))
        if gaps:
            yield _p(ps, "follow_the_sun", group.id, warn=True,
                     msg=_("follow-the-sun group {name!r} resolves to nobody: {spans}").format(
                         name=group.id, spans=_fmt_spans(gaps, group.regions[0].time_zone)))
        by_region: dict[str, list[Span]] = {}
        for name, span in out_of_hours(group, start, end):
            by_region.setdefault(name, []).append(span)
        for ri, region in enumerate(group.regions):
            spans = normalize(by_region.get(region.name, []))
            if spans:
                yield _p(ps, "follow_the_sun", group.id, "regions", ri, "working_hours",
                         warn=True,
                         msg=_("region {name!r} holds the pager after its working hours: {spans}")
                         .format(name=region.name, spans=_fmt_spans(spans, region.time_zone)))
    for pol in ps.escalation_policies.values():
        yield from _policy_coverage(ps, cov, pol)


def _policy_coverage(ps: PolicySet, cov: _Coverage, pol: EscalationPolicy) -> Iterator[Problem]:
    tz = _policy_zone(ps, pol)
    union: list[Span] = []
    for li, level in enumerate(pol.levels):
        covered = normalize(x for t in level.targets for x in cov.target(t))
        union = normalize([*union, *covered])
        gaps = cov.gaps(covered)
        if gaps:
            yield _p(ps, "escalation_policies", pol.id, "levels", li,
                     warn=pol.skip_empty_levels,
                     msg=_("level {level} of {policy!r} pages nobody: {spans}").format(
                         level=li + 1, policy=pol.id, spans=_fmt_spans(gaps, tz)))
    if pol.skip_empty_levels:
        gaps = subtract([(cov.a, cov.b)], union)
        if gaps:
            yield _p(ps, "escalation_policies", pol.id,
                     msg=_("every level of {policy!r} pages nobody: {spans}").format(
                         policy=pol.id, spans=_fmt_spans(gaps, tz)))


def _policy_zone(ps: PolicySet, pol: EscalationPolicy) -> str:
    """The zone to print a policy's gaps in: its first schedule's, else UTC."""
    for level in pol.levels:
        for t in level.targets:
            kind, _sep, ident = t.partition(":")
            if kind == "schedule" and ident in ps.schedules:
                return ps.schedules[ident].time_zone
            if kind == "follow_the_sun" and ident in ps.follow_the_sun:
                return ps.follow_the_sun[ident].regions[0].time_zone
    return "UTC"

