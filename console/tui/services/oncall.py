"""Who is on call, now and next, per schedule and follow-the-sun group, in each
person's local time; the 24-hour coverage strip of each region; whether the
person running the console holds the pager; and the shift they may take over.

Every answer counts the overrides recorded as ops (`console.overrides`), as the
engine does when it pages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from console import i18n
from console.i18n import _
from console.overrides import Override
from policies import PolicySet, ShiftOverride
from policies.followthesun import duties, group_on_call
from policies.schedule import next_change, on_call
from policies.timeutil import zone

from ..model import Lane, span
from .queue import Me


@dataclass(frozen=True, slots=True)
class Person:
    id: str
    name: str
    local: str  # "Tue 09:14 Asia/Jakarta"


@dataclass(frozen=True, slots=True)
class Rota:
    """One schedule or follow-the-sun group: who now, who next and when."""

    kind: str  # "schedule" or "follow-the-sun"
    id: str
    name: str
    region: str | None
    now: list[Person]
    next: list[Person]
    next_region: str | None
    handoff_at: datetime | None
    handoff_in: str  # "3h05m" / "3j05m"


def _person(ps: PolicySet, pid: str, at: datetime) -> Person:
    p = ps.people.get(pid)
    if p is None:
        return Person(pid, pid, "")
    local = at.astimezone(zone(p.time_zone))
    return Person(pid, p.name, f"{weekday_time(local)} {p.time_zone}")


def weekday_time(at: datetime) -> str:
    """'Tue 09:14' / 'Sel 09.14' in `at`'s own zone."""
    return i18n.moment(at, at.tzinfo or UTC, None, "EHm")


def _until(at: datetime | None, now: datetime) -> str:
    return span((at - now).total_seconds()) if at is not None else "-"


def rotas(ps: PolicySet, now: datetime, overrides: Sequence[ShiftOverride] = ()) -> list[Rota]:
    out: list[Rota] = []
    for gid, group in sorted(ps.follow_the_sun.items()):
        g = group_on_call(group, ps.schedules, now, overrides)
        after = (group_on_call(group, ps.schedules, g.handoff_at, overrides) if g.handoff_at
                 else None)
        out.append(Rota(
            "follow-the-sun", gid, group.name or gid, g.region,
            [_person(ps, p, now) for p in g.people],
            [_person(ps, p, g.handoff_at) for p in after.people] if after and g.handoff_at else [],
            g.next_region, g.handoff_at, _until(g.handoff_at, now)))
    for sid, sched in sorted(ps.schedules.items()):
        change = next_change(sched, now, overrides)
        out.append(Rota(
            "schedule", sid, sched.name or sid, None,
            [_person(ps, p, now) for p in on_call(sched, now, overrides)],
            [_person(ps, p, change.start) for p in change.people] if change else [],
            None, change.start if change else None, _until(change.start if change else None, now)))
    return out


def lanes(ps: PolicySet, now: datetime) -> list[Lane]:
    """Regions hold the pager by the hours of their group, which overrides do not move."""
    start = now.replace(minute=0, second=0, microsecond=0)
    hours = [start + timedelta(hours=h) for h in range(24)]
    out: list[Lane] = []
    for gid, group in sorted(ps.follow_the_sun.items()):
        spans = duties(group, start, start + timedelta(hours=24))
        for region in group.regions:
            mine = [(d.start, d.end) for d in spans if d.region == region.name]
            cells = [any(s <= h + timedelta(minutes=30) < e for s, e in mine) for h in hours]
            tz = zone(region.time_zone)
            out.append(Lane(gid, region.name, region.time_zone, cells,
                            [h.astimezone(tz).hour for h in hours]))
    return out


def my_duty(ps: PolicySet | None, me: Me, now: datetime,
            overrides: Sequence[ShiftOverride] = ()) -> tuple[bool, str | None]:
    """(on call now, my region): on call in any schedule or through a group."""
    if ps is None or me.person is None:
        return False, None
    region = None
    for group in ps.follow_the_sun.values():
        for r in group.regions:
            sched = ps.schedules.get(r.schedule)
            if sched is not None and any(me.person in layer.members for layer in sched.layers):
                region = r.name
    for sched in ps.schedules.values():
        if me.person in on_call(sched, now, overrides):
            return True, region
    return False, region


@dataclass(frozen=True, slots=True)
class Takeable:
    """A schedule's current stretch, which "I'll take this shift" covers: from now
    until the people on call next change."""

    schedule: str
    name: str
    now: tuple[str, ...]  # person ids
    until: datetime
    mine: bool  # I am on call for it already


def takeable(ps: PolicySet, me: Me, now: datetime,
             overrides: Sequence[ShiftOverride] = ()) -> list[Takeable]:
    out = []
    for sid, sched in sorted(ps.schedules.items()):
        change = next_change(sched, now, overrides)
        if change is None:
            continue
        people = on_call(sched, now, overrides)
        out.append(Takeable(sid, sched.name or sid, people, change.start, me.person in people))
    return out


def override_lines(ps: PolicySet, active: Sequence[Override], now: datetime) -> list[str]:
    """The overrides in force or ahead, for the screen: who covers what until when."""
    def name(pid: str | None) -> str:
        return ps.people[pid].name if pid in ps.people else (pid or "")

    return [_("{schedule}: {who}").format(schedule=o.schedule, who=name(o.user))
            + (" " + _("for {whom}").format(whom=name(o.replaces)) if o.replaces else "")
            + f" {weekday_time(o.start.astimezone(UTC))}Z – {weekday_time(o.end.astimezone(UTC))}Z"

            + (" " + _("(now)") if o.start <= now else "")
            + ", " + _("by {who}").format(who=o.by) + f" [{o.id[-8:]}]"
            for o in active if o.end > now]
