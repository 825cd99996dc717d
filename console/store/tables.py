"""The incident projection: rebuildable at any time from the op log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from console.store.types import UTCDateTime


class Incident(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (
        Index("ix_incident_open", "status", "severity", "created_at"),
        Index("ix_incident_team", "team", "status"),
        Index("ix_incident_service", "service", "status"),
        Index("ix_incident_dedup", "dedup_key", "status"),
        Index("ix_incident_next_due", "next_due_at"),
        Index("ix_incident_origin_number", "origin_site", "key_number"),
    )

    id: str = Field(primary_key=True, max_length=36)
    key: str = Field(max_length=40, unique=True)
    key_number: int
    origin_site: str = Field(max_length=64)
    title: str = Field(sa_column=Column(Text, nullable=False))
    service: str = Field(max_length=200)
    severity: str = Field(max_length=8)
    priority: str | None = Field(default=None, max_length=4)
    stage: str = Field(max_length=20)
    status: str = Field(max_length=16)
    epoch: int = 0
    team: str | None = Field(default=None, max_length=200)
    policy: str | None = Field(default=None, max_length=200)
    assignee: str | None = Field(default=None, max_length=200)
    dedup_key: str | None = Field(default=None, max_length=255)
    alert_count: int = 1
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    esc_loop: int = 0
    esc_level: int = 1
    conflicted: bool = False
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    acknowledged_by: str | None = Field(default=None, max_length=200)
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    resolved_by: str | None = Field(default=None, max_length=200)
    # Written by the engine, not by the fold: when this incident next needs a look.
    next_due_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    fold_state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class IncidentNote(SQLModel):
    """A note as shown: read from its `note` op in the log, not kept a second time."""

    op_id: str
    incident_id: str
    hlc: str
    site: str
    seq: int
    author: str
    text: str
    created_at: datetime


class Outbox(SQLModel, table=True):
    """Notifications decided by the engine, written in the same transaction as the
    ops that caused them, and drained by the dispatcher (console/notify)."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "next_attempt_at"),
        Index("ix_outbox_incident", "incident_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    incident_id: str = Field(max_length=36)
    epoch: int
    # The engine action that decided it (e.g. escalate:0:0:1), for the audit trail.
    cause: str = Field(max_length=80)
    person: str | None = Field(default=None, max_length=200)
    channel: str = Field(max_length=16)
    address: str | None = Field(default=None, sa_column=Column(Text))
    urgency: str = Field(max_length=8)
    # A delayed page (a rule's `after`) is cancelled when the incident is acknowledged first.
    cancel_if_acked: bool = False
    message: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # pending -> sending -> sent | dead | cancelled | merged (pending again after a failure)
    state: str = Field(max_length=12)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class EngineLease(SQLModel, table=True):
    """Who runs the engine on this store (SQLite election), and how far it has looked
    through the op log for incidents changed by others."""

    __tablename__ = "engine_lease"

    name: str = Field(primary_key=True, max_length=32)
    holder: str = Field(max_length=200)
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    cursor: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Heartbeat(SQLModel, table=True):
    """A monitor that must ping every `interval_s`; a missed ping opens an incident."""

    __tablename__ = "heartbeat"
    __table_args__ = (Index("ix_heartbeat_expires", "expires_at"),)

    name: str = Field(primary_key=True, max_length=200)
    routing_key: str = Field(max_length=200)
    service: str = Field(max_length=200)
    interval_s: int
    severity: str = Field(max_length=8)
    last_ping_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # None once the miss has opened an incident: the engine does not probe it again.
    expires_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    incident_id: str | None = Field(default=None, max_length=36)


class Handoff(SQLModel, table=True):
    """A follow-the-sun handoff note, folded from its `handoff_*` ops (console/handoff)."""

    __tablename__ = "handoff"
    __table_args__ = (
        Index("ix_handoff_shift", "group_id", "from_region", "handoff_at"),
        Index("ix_handoff_status", "status", "handoff_at"),
    )

    id: str = Field(primary_key=True, max_length=36)
    group_id: str = Field(max_length=200)
    from_region: str = Field(max_length=200)
    to_region: str = Field(max_length=200)
    origin_site: str = Field(max_length=64)
    shift_start: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    handoff_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    # draft -> sent -> acknowledged
    status: str = Field(max_length=16)
    automatic: bool = False
    markdown: str = Field(sa_column=Column(Text, nullable=False))
    facts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    drafted_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    drafted_by: str = Field(max_length=200)
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    sent_by: str | None = Field(default=None, max_length=200)
    acknowledged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    acknowledged_by: str | None = Field(default=None, max_length=200)
    escalated_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    escalated_to: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    escalation_incident: str | None = Field(default=None, max_length=36)


class HandoffCursor(SQLModel, table=True):
    """How far, per site, the handoff fold has read the op log: ops that arrive by
    sync are folded on the next look (console/handoff/store.py)."""

    __tablename__ = "handoff_cursor"

    name: str = Field(primary_key=True, max_length=32)
    cursor: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
