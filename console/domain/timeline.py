"""One line of an incident's timeline for each of its ops, for people to read."""

from __future__ import annotations

from typing import Any

from console.domain.vocabulary import HandoffKind, Kind
from sync.ops import Op


def _fields(payload: dict[str, Any], *names: str) -> str:
    return ", ".join(f"{n} {payload[n]}" for n in names if payload.get(n) is not None)


_NOTICES = {
    "sla_warning": "SLA warning: {sla} due at {due_at}",
    "sla_breach": "SLA breached: {sla} was due at {due_at}",
    "update_reminder": "status update due (none since {since})",
    "exhausted": "escalation policy exhausted ({mode})",
}


def _notice(p: dict[str, Any]) -> str:
    template = _NOTICES.get(str(p.get("what")))
    if template is None:
        return f"notice {p.get('what')}"
    return template.format_map({k: p.get(k, "?") for k in ("sla", "due_at", "since", "mode")})


def _notify(p: dict[str, Any]) -> str:
    """A delivery attempt, the way an auditor asks: who, how, what happened."""
    who = p.get("person") or "every console"
    shown = p.get("address") if p.get("channel") != "console" else None
    where = f"{p.get('channel')}" + (f" {shown}" if shown else "")
    outcome = p.get("outcome")
    error = f": {p['error']}" if p.get("error") else ""
    attempt = f" (attempt {p['attempt']})" if int(p.get("attempt") or 1) > 1 else ""
    if outcome == "sent":
        merged = int(p.get("merged") or 0)
        extra = f", {merged} identical merged" if merged else ""
        return f"notified {who} by {where}{attempt}{extra}"
    if outcome == "failed":
        return f"notifying {who} by {where} failed{attempt}{error}; will retry"
    if outcome == "dead":
        return f"DEAD LETTER: gave up notifying {who} by {where}{attempt}{error}"
    if outcome == "cancelled":
        return f"cancelled notifying {who} by {where}{error}"
    return f"notify {who} by {where}: {outcome}"


def describe(op: Op) -> str:
    p = dict(op.payload)
    match op.kind:
        case Kind.TRIGGER:
            return f"triggered {p.get('key')} ({p.get('severity')}, {p.get('service')}): {p.get('title')}"
        case Kind.RETRIGGER:
            summary = p.get("summary")
            return "alert repeated" + (f": {summary}" if summary else "")
        case Kind.ACK:
            return "acknowledged"
        case Kind.UNACK:
            reason = p.get("reason")
            return "acknowledgement withdrawn" + (f": {reason}" if reason else "")
        case Kind.ESCALATE:
            loop = f" (loop {p['loop']})" if p.get("loop") else ""
            reason = p.get("reason")
            return f"escalated to level {p.get('level')}{loop}" + (f": {reason}" if reason else "")
        case Kind.REASSIGN:
            return "reassigned to " + _fields(p, "team", "policy", "assignee")
        case Kind.NOTE:
            return f"note: {p.get('text')}"
        case Kind.SET_SEVERITY:
            return f"severity set to {p.get('severity')}"
        case Kind.SET_PRIORITY:
            return f"priority set to {p.get('priority')}"
        case Kind.SET_STAGE:
            return f"stage set to {p.get('stage')}"
        case Kind.RESOLVE:
            return "resolved"
        case Kind.REOPEN:
            reason = p.get("reason")
            return "reopened" + (f": {reason}" if reason else "")
        case Kind.SET_URGENCY:
            reason = p.get("reason")
            return f"urgency {p.get('urgency')}" + (f": {reason}" if reason else "")
        case Kind.NOTICE:
            return _notice(p)
        case Kind.NOTIFY:
            return _notify(p)
        case Kind.UPDATE:
            return f"status update: {p.get('text')}"
        case HandoffKind.DRAFT:
            return f"handoff {p.get('from_region')} → {p.get('to_region')} drafted"
        case HandoffKind.SEND:
            how = " automatically at shift end" if p.get("automatic") else ""
            return f"handoff {p.get('from_region')} → {p.get('to_region')} sent{how}"
        case HandoffKind.ACK:
            return "handoff acknowledged"
        case HandoffKind.ESCALATE:
            return f"handoff not acknowledged: paged {', '.join(p.get('people') or []) or 'nobody'}"
    return f"{op.kind} (recorded by a newer Sunrelay; shown after upgrade)"
