"""One line of an incident's timeline for each of its ops, for people to read."""

from __future__ import annotations

from typing import Any

from console.domain.vocabulary import Kind
from sync.ops import Op


def _fields(payload: dict[str, Any], *names: str) -> str:
    return ", ".join(f"{n} {payload[n]}" for n in names if payload.get(n) is not None)


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
    return f"{op.kind} (recorded by a newer Sunrelay; shown after upgrade)"
