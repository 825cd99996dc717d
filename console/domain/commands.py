"""What a person may do to an incident in its current state, as the op to record.

Each function checks the transition against the state the person sees and
returns the op's kind and payload; it records nothing. Status ops carry the
epoch the actor saw, which is what lets the fold merge them across consoles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.domain import vocabulary as v
from console.domain.state import IncidentState
from console.domain.vocabulary import Kind, Status

MAX_TITLE = 1024
MAX_NOTE = 64 * 1024


class IllegalTransition(ValueError):
    """The action makes no sense for the incident as it stands; nothing was recorded."""


@dataclass(frozen=True, slots=True)
class Change:
    kind: Kind
    payload: dict[str, Any]


def _text(value: str, what: str, limit: int) -> str:
    text = value.strip()
    if not text:
        raise IllegalTransition(f"{what} is empty")
    if len(text) > limit:
        raise IllegalTransition(f"{what} is longer than {limit} characters")
    return text


def trigger(
    *, key: str, key_number: int, title: str, service: str, severity: str,
    priority: str | None = None, team: str | None = None, policy: str | None = None,
    dedup_key: str | None = None, labels: dict[str, str] | None = None,
) -> Change:
    payload: dict[str, Any] = {
        "key": key, "key_number": key_number, "title": _text(title, "the title", MAX_TITLE),
        "service": _text(service, "the service", 200), "severity": v.severity(severity),
        "stage": "new", "labels": dict(labels or {}),
    }
    optional = {"priority": v.priority(priority) if priority else None, "team": team,
                "policy": policy, "dedup_key": dedup_key}
    payload.update({k: val for k, val in optional.items() if val is not None})
    return Change(Kind.TRIGGER, payload)


def retrigger(state: IncidentState, summary: str | None = None) -> Change:
    if not state.is_open:
        raise IllegalTransition(f"{state.key} is resolved: a repeat alert opens a new incident")
    return Change(Kind.RETRIGGER, {"summary": summary} if summary else {})


def ack(state: IncidentState) -> Change:
    if state.status is Status.RESOLVED:
        raise IllegalTransition(f"{state.key} is resolved: reopen it before acknowledging")
    if state.status is Status.ACKNOWLEDGED:
        raise IllegalTransition(f"{state.key} is already acknowledged by {state.acknowledged_by}")
    return Change(Kind.ACK, {"epoch": state.epoch, "supersedes": state.head_ids("assignee")})


def unack(state: IncidentState, reason: str = "") -> Change:
    if state.status is not Status.ACKNOWLEDGED:
        raise IllegalTransition(f"{state.key} is {state.status.value}, not acknowledged")
    return Change(Kind.UNACK, {"epoch": state.epoch, "reason": reason})


def resolve(state: IncidentState) -> Change:
    if state.status is Status.RESOLVED:
        raise IllegalTransition(f"{state.key} is already resolved")
    return Change(Kind.RESOLVE, {"epoch": state.epoch})


def reopen(state: IncidentState, reason: str = "") -> Change:
    if state.status is not Status.RESOLVED:
        raise IllegalTransition(f"{state.key} is {state.status.value}: only a resolved incident reopens")
    return Change(Kind.REOPEN, {"epoch": state.epoch, "reason": reason})


def escalate(state: IncidentState, reason: str, loop: int | None = None,
             level: int | None = None) -> Change:
    """To the given step, else one level up from where the incident stands."""
    if not state.is_open:
        raise IllegalTransition(f"{state.key} is resolved: there is no one left to escalate to")
    current_loop, current_level = state.escalation
    target = (current_loop if loop is None else loop,
              current_level + 1 if level is None else level)
    if target[1] < 1 or target[0] < 0:
        raise IllegalTransition(f"escalation level must be >= 1 and loop >= 0, got {target}")
    return Change(Kind.ESCALATE, {"epoch": state.epoch, "loop": target[0], "level": target[1],
                                  "reason": reason})


def note(state: IncidentState, text: str) -> Change:
    return Change(Kind.NOTE, {"text": _text(text, "the note", MAX_NOTE)})


def _set(state: IncidentState, name: str, value: str, kind: Kind) -> Change:
    if getattr(state, name) == value and len(state.heads.get(name, [])) <= 1:
        raise IllegalTransition(f"{state.key} already has {name} {value}")
    return Change(kind, {name: value, "supersedes": state.head_ids(name)})


def set_severity(state: IncidentState, value: str) -> Change:
    return _set(state, "severity", v.severity(value), Kind.SET_SEVERITY)


def set_priority(state: IncidentState, value: str) -> Change:
    return _set(state, "priority", v.priority(value), Kind.SET_PRIORITY)


def set_stage(state: IncidentState, value: str) -> Change:
    return _set(state, "stage", v.stage(value), Kind.SET_STAGE)


def reassign(state: IncidentState, *, team: str | None = None, policy: str | None = None,
             assignee: str | None = None) -> Change:
    values = {k: val for k, val in
              (("team", team), ("policy", policy), ("assignee", assignee)) if val is not None}
    if not values:
        raise IllegalTransition("reassign needs a team, a policy or an assignee")
    return Change(Kind.REASSIGN, {**values, "supersedes": state.head_ids(*values)})
