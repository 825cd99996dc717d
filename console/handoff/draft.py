"""The handoff note for the end of a region's shift: pure, from the incidents' ops.

`draft(histories, ps, shift, now)` reads the ops of the incidents that are
open or moved during the shift and answers what the incoming region must
know: open incidents with status, level, owner and next deadline; what was
opened, resolved and noted during the shift; SLA deadlines and update
reminders falling before the end of the next shift; pages nobody answered;
maintenance windows starting before then. The same ops, policies and `now`
give the same note on every console (tested with injected time).

The facts are data (they travel in the handoff's ops and stay English); the
Markdown is for people, in the drafting console's language: the outgoing
engineer edits and signs it.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from console.domain.fold import wall_ms
from console.domain.vocabulary import Kind
from console.engine.adapter import adapt, to_datetime
from console.i18n import _, _l
from policies import FollowTheSun, IncidentView, PolicySet, due, sla_clock
from policies.followthesun import duties
from sync.ops import Op


@dataclass(frozen=True, slots=True)
class Shift:
    """One region's duty in a group, the hand-off at its end, and the duty after it."""

    group: str
    region: str
    start: datetime
    end: datetime
    next_region: str
    next_end: datetime


@dataclass(frozen=True, slots=True)
class HandoffNote:
    facts: dict[str, Any]
    markdown: str


def shifts_ending(group: FollowTheSun, start: datetime, end: datetime) -> list[Shift]:
    """Every hand-off of the group in [start, end], with the shifts on both sides of it."""
    margin = timedelta(days=3)
    spans = duties(group, start - margin, end + margin)
    return [
        Shift(group.id, a.region, a.start, a.end, b.region, b.end)
        for a, b in itertools.pairwise(spans)
        if start <= a.end <= end
    ]


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%MZ")


def _ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _unanswered(ops: Sequence[Op], key: str, since: int, until: int) -> list[dict[str, Any]]:
    """Pages of the shift after which the incident stayed unacknowledged until the next step."""
    steps = [op for op in ops if op.kind == Kind.ESCALATE]
    acks = [(int(op.payload.get("epoch", -1)), wall_ms(op.hlc)) for op in ops if op.kind == Kind.ACK]
    out: list[dict[str, Any]] = []
    for i, op in enumerate(steps):
        at = wall_ms(op.hlc)
        if not since <= at < until:
            continue
        epoch = int(op.payload.get("epoch", 0))
        later = [wall_ms(s.hlc) for s in steps[i + 1:] if int(s.payload.get("epoch", 0)) == epoch]
        horizon = min(later, default=until)
        if any(e == epoch and at <= t < horizon for e, t in acks):
            continue
        people = list(dict.fromkeys(str(p[0]) for p in op.payload.get("pages") or []))
        out.append({"key": key, "level": int(op.payload.get("level", 0)), "people": people,
                    "at": stamp(to_datetime(at))})
    return out


def _deadlines(view: IncidentView, ps: PolicySet, now: datetime, until: datetime) -> list[dict[str, Any]]:
    """SLA goals and the next update reminder of an open incident that fall in [now, until)."""
    target = ps.sla_for(view.priority)
    if target is None:
        return []
    cal = ps.calendars.get(target.calendar) if target.calendar else None
    out: list[tuple[datetime, str]] = []
    for kind, goal, stopped in (("ack", target.ack, view.acknowledged_at),
                                ("resolve", target.resolve, view.resolved_at)):
        if goal is None or stopped is not None:
            continue
        clock = sla_clock(goal, cal, view.created_at, view.paused, now, target.warn_at)
        if clock.due_at is not None and now <= clock.due_at < until:
            out.append((clock.due_at, f"{kind} SLA"))
    if target.update_interval:
        base = view.last_update_at or view.created_at
        k = max(1, int((now - base) / target.update_interval) + 1)
        reminder = base + k * target.update_interval
        if reminder < until:
            out.append((reminder, "status update"))
    return [{"key": view.key, "what": what, "at": stamp(at)} for at, what in out]


def draft(histories: Mapping[str, Sequence[Op]], ps: PolicySet, shift: Shift, now: datetime) -> HandoffNote:
    """The note: `histories` holds the ops of every incident open now or moved since the shift began."""
    since, until = _ms(shift.start), _ms(now)
    open_: list[dict[str, Any]] = []
    opened: list[dict[str, Any]] = []
    resolved: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    deadlines: list[dict[str, Any]] = []
    unanswered: list[dict[str, Any]] = []
    for ops in histories.values():
        adapted = adapt(ops)
        if adapted is None:
            continue
        state, view = adapted.state, adapted.view
        brief = {"key": state.key, "title": state.title, "severity": state.severity,
                 "priority": state.priority, "status": state.status.value}
        if state.is_open:
            nxt = due(view, ps, now).next_due_at
            open_.append({**brief, "level": state.escalation[1] if state.steps else 0,
                          "owner": state.assignee, "next_deadline": stamp(nxt) if nxt else None})
            deadlines += _deadlines(view, ps, now, shift.next_end)
        if since <= state.created_at < until:
            opened.append(brief)
        if state.resolved_at is not None and since <= state.resolved_at < until:
            resolved.append({**brief, "resolved_by": state.resolved_by})
        notes += [{"key": state.key, "at": stamp(to_datetime(wall_ms(op.hlc))), "author": op.actor,
                   "kind": op.kind, "text": str(op.payload.get("text", ""))}
                  for op in ops if op.kind in (Kind.NOTE, Kind.UPDATE)
                  and since <= wall_ms(op.hlc) < until]
        unanswered += _unanswered(ops, state.key, since, until)
    maintenance = [
        {"id": w.id, "reason": w.reason, "start": stamp(w.start), "end": stamp(w.end), "mode": w.mode,
         "services": list(w.services)}
        for w in sorted(ps.maintenance.values(), key=lambda w: (w.start, w.id))
        if now <= w.start < shift.next_end
    ]
    severity_first = sorted(open_, key=lambda i: (i["severity"], i["key"]))
    facts: dict[str, Any] = {
        "group": shift.group, "from_region": shift.region, "to_region": shift.next_region,
        "shift_start": stamp(shift.start), "handoff_at": stamp(shift.end),
        "next_shift_end": stamp(shift.next_end), "drafted_at": stamp(now),
        "open": severity_first,
        "opened": sorted(opened, key=lambda i: i["key"]),
        "resolved": sorted(resolved, key=lambda i: i["key"]),
        "notes": sorted(notes, key=lambda n: (n["at"], n["key"])),
        "deadlines": sorted(deadlines, key=lambda d: (d["at"], d["key"])),
        "unanswered_pages": sorted(unanswered, key=lambda u: (u["at"], u["key"])),
        "maintenance": maintenance,
    }
    return HandoffNote(facts, render(facts))


# The facts' names for deadlines, as the note shows them.
_DEADLINES = {"ack SLA": _l("ack SLA"), "resolve SLA": _l("resolve SLA"),
              "status update": _l("status update")}


def _bullets(items: list[str]) -> list[str]:
    return [f"- {item}" for item in items] or ["- " + _("none")]


def _heading(title: str) -> list[str]:
    return ["", f"## {title}", ""]


def render(f: Mapping[str, Any]) -> str:
    """The note as Markdown, from its facts."""
    lines = [
        "# " + _("Handoff: {from_region} → {to_region} ({group})").format(
            from_region=f["from_region"], to_region=f["to_region"], group=f["group"]), "",
        _("Shift {start} – {end}; next shift until {next_end}. Drafted {drafted}.").format(
            start=f["shift_start"], end=f["handoff_at"], next_end=f["next_shift_end"],
            drafted=f["drafted_at"]),
        *_heading(_("Open incidents ({count})").format(count=len(f["open"]))),
    ]
    if f["open"]:
        columns = (_("Key"), _("Sev"), _("Pri"), _("Status"), _("Level"), _("Owner"), _("Next deadline"),
                   _("Title"))
        lines += ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
        lines += [f"| {i['key']} | {i['severity']} | {i['priority'] or '-'} | {i['status']} | "
                  f"{i['level']} | {i['owner'] or '-'} | {i['next_deadline'] or '-'} | {i['title']} |"
                  for i in f["open"]]
    else:
        lines.append("- " + _("none"))
    lines += _heading(_("Opened this shift ({count})").format(count=len(f["opened"])))
    lines += _bullets([f"{i['key']} {i['severity']} — {i['title']} ({i['status']})" for i in f["opened"]])
    lines += _heading(_("Resolved this shift ({count})").format(count=len(f["resolved"])))
    lines += _bullets([_("{key} — {title} (by {who})").format(key=i["key"], title=i["title"],
                                                              who=i["resolved_by"]) for i in f["resolved"]])
    lines += _heading(_("Notes and updates this shift"))
    lines += _bullets([f"{n['at']} {n['key']} {n['author']}"
                       f"{_(' (update)') if n['kind'] == 'update' else ''}: {n['text']}" for n in f["notes"]])
    lines += _heading(_("Deadlines before the next shift ends"))
    lines += _bullets([f"{d['at']} {d['key']} {_DEADLINES.get(d['what'], d['what'])}"
                       for d in f["deadlines"]])
    lines += _heading(_("Unanswered pages"))
    lines += _bullets([f"{u['at']} {u['key']} " + _("level {level}: {people}").format(
        level=u["level"], people=", ".join(u["people"]) or _("nobody")) for u in f["unanswered_pages"]])
    lines += _heading(_("Maintenance starting soon"))
    lines += _bullets([f"{m['start']} – {m['end']} {m['id']} ({m['mode']}; {', '.join(m['services'])})"
                       + (f": {m['reason']}" if m["reason"] else "") for m in f["maintenance"]])
    return "\n".join(lines) + "\n"
