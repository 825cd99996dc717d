"""The incident actions the console offers, as data: which domain command each
key records, what the toast says, and which ones ask before acting.

Confirmation rules: resolving a P1 asks; resolving or escalating a high-risk
incident (see `incident.is_high_risk`) needs its key typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from console.domain import commands
from console.domain.commands import Change
from console.domain.state import IncidentState

Decide = Callable[[IncidentState], Change | Sequence[Change]]


@dataclass(frozen=True, slots=True)
class Target:
    """The incident an action applies to, as the screen sees it."""

    key: str
    severity: str
    priority: str | None
    high_risk: bool


def confirmation(action: str, target: Target) -> str | None:
    """None, "confirm" (yes/no) or "type-key" (type the incident key)."""
    if action in ("resolve", "escalate") and target.high_risk:
        return "type-key"
    if action == "resolve" and target.priority == "P1":
        return "confirm"
    return None


def ack() -> Decide:
    return commands.ack


def resolve() -> Decide:
    return commands.resolve


def reopen() -> Decide:
    return lambda s: commands.reopen(s, "reopened from the console")


def escalate(reason: str) -> Decide:
    return lambda s: commands.escalate(s, reason or "escalated from the console")


def note(text: str) -> Decide:
    return lambda s: commands.note(s, text)


def update(stage: str | None, text: str) -> Decide:
    """A status update: the stage if it changed, and the message as an `update:` note
    (the SLA update clock counts from the last one)."""
    def decide(state: IncidentState) -> list[Change]:
        changes = []
        if stage and stage != state.stage:
            changes.append(commands.set_stage(state, stage))
        changes.append(commands.note(state, f"update: {text}"))
        return changes
    return decide


def set_priority(value: str) -> Decide:
    return lambda s: commands.set_priority(s, value)


def set_severity(value: str) -> Decide:
    return lambda s: commands.set_severity(s, value)


def reassign(field: str, value: str) -> Decide:
    if field == "team":
        return lambda s: commands.reassign(s, team=value)
    if field == "policy":
        return lambda s: commands.reassign(s, policy=value)
    return lambda s: commands.reassign(s, assignee=value)
