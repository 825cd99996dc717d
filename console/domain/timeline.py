"""One line of an incident's timeline for each of its ops, for people to read."""

from __future__ import annotations

from typing import Any

from console.domain.vocabulary import HandoffKind, Kind
from console.i18n import _, _l, ngettext
from sync.ops import Op

# The fields a reassignment names, as people read them; the payload's keys stay English.
_FIELDS = {"team": _l("team {value}"), "policy": _l("policy {value}"),
           "assignee": _l("assignee {value}")}


def _fields(payload: dict[str, Any], *names: str) -> str:
    return ", ".join(str(_FIELDS[n]).format(value=payload[n]) for n in names
                     if payload.get(n) is not None)


# Reasons the console records in English when a person gives none, shown in the reader's language.
_REASONS = {"reopened from the console": _l("reopened from the console"),
            "escalated from the console": _l("escalated from the console")}


def _reason(text: str, reason: object) -> str:
    """`text`, then `: reason` when the op gives one."""
    if not reason:
        return text
    return _("{text}: {reason}").format(text=text, reason=_REASONS.get(str(reason), reason))



_NOTICES = {
    "sla_warning": _l("SLA warning: {sla} due at {due_at}"),
    "sla_breach": _l("SLA breached: {sla} was due at {due_at}"),
    "update_reminder": _l("status update due (none since {since})"),
    "exhausted": _l("escalation policy exhausted ({mode})"),
}


def _notice(p: dict[str, Any]) -> str:
    template = _NOTICES.get(str(p.get("what")))
    if template is None:
        return _("notice {what}").format(what=p.get("what"))
    return str(template).format_map({k: p.get(k, "?") for k in ("sla", "due_at", "since", "mode")})


def _notify(p: dict[str, Any]) -> str:
    """A delivery attempt, the way an auditor asks: who, how, what happened."""
    who = p.get("person") or _("every console")
    shown = p.get("address") if p.get("channel") != "console" else None
    where = f"{p.get('channel')}" + (f" {shown}" if shown else "")
    outcome = p.get("outcome")
    error = f": {p['error']}" if p.get("error") else ""
    attempt = (" " + _("(attempt {n})").format(n=p["attempt"])
               if int(p.get("attempt") or 1) > 1 else "")
    if outcome == "sent":
        merged = int(p.get("merged") or 0)
        extra = ", " + ngettext("{n} identical merged", "{n} identical merged", merged).format(
            n=merged) if merged else ""
        return _("notified {who} by {where}").format(who=who, where=where) + attempt + extra
    if outcome == "failed":
        return _("notifying {who} by {where} failed{attempt}{error}; will retry").format(
            who=who, where=where, attempt=attempt, error=error)
    if outcome == "dead":
        return _("DEAD LETTER: gave up notifying {who} by {where}{attempt}{error}").format(
            who=who, where=where, attempt=attempt, error=error)
    if outcome == "cancelled":
        return _("cancelled notifying {who} by {where}{error}").format(
            who=who, where=where, error=error)
    return _("notify {who} by {where}: {outcome}").format(who=who, where=where, outcome=outcome)


def describe(op: Op) -> str:
    p = dict(op.payload)
    match op.kind:
        case Kind.TRIGGER:
            return _("triggered {key} ({severity}, {service}): {title}").format(
                key=p.get("key"), severity=p.get("severity"), service=p.get("service"),
                title=p.get("title"))
        case Kind.RETRIGGER:
            return _reason(_("alert repeated"), p.get("summary"))
        case Kind.ACK:
            return _("acknowledged")
        case Kind.UNACK:
            return _reason(_("acknowledgement withdrawn"), p.get("reason"))
        case Kind.ESCALATE:
            text = (_("escalated to level {level} (loop {loop})") if p.get("loop")
                    else _("escalated to level {level}")).format(level=p.get("level"), loop=p.get("loop"))
            return _reason(text, p.get("reason"))
        case Kind.REASSIGN:
            return _("reassigned to {fields}").format(fields=_fields(p, "team", "policy", "assignee"))
        case Kind.NOTE:
            return _("note: {text}").format(text=p.get("text"))
        case Kind.SET_SEVERITY:
            return _("severity set to {severity}").format(severity=p.get("severity"))
        case Kind.SET_PRIORITY:
            return _("priority set to {priority}").format(priority=p.get("priority"))
        case Kind.SET_STAGE:
            return _("stage set to {stage}").format(stage=p.get("stage"))
        case Kind.RESOLVE:
            return _("resolved")
        case Kind.REOPEN:
            return _reason(_("reopened"), p.get("reason"))
        case Kind.SET_URGENCY:
            return _reason(_("urgency {urgency}").format(urgency=p.get("urgency")), p.get("reason"))
        case Kind.NOTICE:
            return _notice(p)
        case Kind.NOTIFY:
            return _notify(p)
        case Kind.UPDATE:
            return _("status update: {text}").format(text=p.get("text"))
        case HandoffKind.DRAFT:
            return _("handoff {source} → {target} drafted").format(
                source=p.get("from_region"), target=p.get("to_region"))
        case HandoffKind.SEND:
            sent = (_("handoff {source} → {target} sent automatically at shift end")
                    if p.get("automatic") else _("handoff {source} → {target} sent"))
            return sent.format(source=p.get("from_region"), target=p.get("to_region"))
        case HandoffKind.ACK:
            return _("handoff acknowledged")
        case HandoffKind.ESCALATE:
            return _("handoff not acknowledged: paged {people}").format(
                people=", ".join(p.get("people") or []) or _("nobody"))
    return _("{kind} (recorded by a newer Sunrelay; shown after upgrade)").format(kind=op.kind)

