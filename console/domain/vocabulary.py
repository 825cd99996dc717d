"""The words incidents are made of: op kinds, severities, priorities, stages, statuses."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    TRIGGER = "trigger"
    RETRIGGER = "retrigger"
    ACK = "ack"
    UNACK = "unack"
    ESCALATE = "escalate"
    REASSIGN = "reassign"
    NOTE = "note"
    SET_SEVERITY = "set_severity"
    SET_PRIORITY = "set_priority"
    SET_STAGE = "set_stage"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    # Written by the engine and the dispatcher (docs/engine.md):
    SET_URGENCY = "set_urgency"  # urgency of the incident; a raise to high starts a new epoch
    NOTICE = "notice"  # a deadline the engine recorded (SLA warning/breach, reminder, exhausted)
    NOTIFY = "notify"  # one delivery attempt of a notification: who, channel, outcome
    # A stakeholder status update (docs/data-model.md): timeline, and the SLA's update clock.
    UPDATE = "update"


class HandoffKind(StrEnum):
    """Ops on a follow-the-sun handoff (its own uuid7 entity; docs/handoffs.md)."""

    DRAFT = "handoff_draft"  # the note as drafted or edited before it is sent
    SEND = "handoff_send"  # the note handed over (by a person, or automatically at shift end)
    ACK = "handoff_ack"  # the incoming region took it
    ESCALATE = "handoff_escalate"  # nobody acknowledged in time: the incoming lead was paged


HANDOFF_KINDS = frozenset(k.value for k in HandoffKind)


class OverrideKind(StrEnum):
    """Ops on an on-call override, "I'll take this shift" (its own uuid7 entity;
    folded into `policies.ShiftOverride`s by `console.overrides`)."""

    TAKE = "override_take"  # schedule, start_ms, end_ms, user, replaces: who covers when
    CANCEL = "override_cancel"  # the override no longer applies


# Kinds this version folds; ops of other kinds (from a newer console) are kept in
# the log, relayed, and folded after an upgrade (`sunrelay db rebuild`).
KINDS = frozenset(k.value for k in Kind)


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


# Position in the status lattice within one epoch.
STATUS_LEVEL: dict[Status, int] = {Status.TRIGGERED: 0, Status.ACKNOWLEDGED: 1, Status.RESOLVED: 2}
STATUS_AT_LEVEL: tuple[Status, ...] = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.RESOLVED)

SEVERITIES: tuple[str, ...] = ("sev1", "sev2", "sev3", "sev4")
SEVERITY_ALIASES: dict[str, str] = {
    "critical": "sev1", "high": "sev2", "medium": "sev3", "low": "sev4",
}
SEVERITY_WORD: dict[str, str] = {v: k for k, v in SEVERITY_ALIASES.items()}
PRIORITIES: tuple[str, ...] = ("P1", "P2", "P3", "P4")
URGENCIES: tuple[str, ...] = ("high", "low")
# Outcomes of a delivery attempt recorded in a `notify` op.
NOTIFY_OUTCOMES: tuple[str, ...] = ("sent", "failed", "dead", "cancelled")
STAGES: tuple[str, ...] = ("new", "triage", "investigating", "mitigating", "monitoring")

# Fields whose value is the latest write by HLC, with concurrent writes kept visible.
LWW_FIELDS: tuple[str, ...] = (
    "title", "severity", "priority", "stage", "team", "policy", "assignee",
)


class VocabularyError(ValueError):
    """A value outside the vocabulary: the message lists what is allowed."""


def severity(value: str) -> str:
    """`sev2`, `SEV2`, `2` and `high` all mean sev2."""
    text = value.strip().lower()
    if text.isdigit():
        text = f"sev{text}"
    text = SEVERITY_ALIASES.get(text, text)
    if text not in SEVERITIES:
        raise VocabularyError(
            f"unknown severity {value!r}: use sev1..sev4 (critical, high, medium, low)")
    return text


def priority(value: str) -> str:
    text = value.strip().upper()
    if text.isdigit():
        text = f"P{text}"
    if text not in PRIORITIES:
        raise VocabularyError(f"unknown priority {value!r}: use P1..P4")
    return text


def stage(value: str) -> str:
    text = value.strip().lower()
    if text not in STAGES:
        raise VocabularyError(f"unknown stage {value!r}: use one of {', '.join(STAGES)}")
    return text
