"""Between the fold's state and the projection's rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from console.domain.state import IncidentState

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Every column the fold owns: all but `next_due_at`, which the engine owns.
FOLD_COLUMNS = (
    "id", "key", "key_number", "origin_site", "title", "service", "severity", "priority",
    "stage", "status", "epoch", "team", "policy", "assignee", "dedup_key", "alert_count",
    "labels", "esc_loop", "esc_level", "conflicted", "created_at", "updated_at",
    "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "fold_state",
)


def ms_to_dt(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms)


def dt_to_ms(value: datetime) -> int:
    return (value - EPOCH) // timedelta(milliseconds=1)


def _opt_dt(ms: int | None) -> datetime | None:
    return None if ms is None else ms_to_dt(ms)


def _opt_ms(value: datetime | None) -> int | None:
    return None if value is None else dt_to_ms(value)


def incident_values(state: IncidentState) -> dict[str, Any]:
    """The values of `FOLD_COLUMNS`."""
    loop, level = state.escalation
    return {
        "id": state.id, "key": state.key, "key_number": state.key_number,
        "origin_site": state.origin_site, "title": state.title, "service": state.service,
        "severity": state.severity, "priority": state.priority, "stage": state.stage,
        "status": state.status.value, "epoch": state.epoch, "team": state.team,
        "policy": state.policy, "assignee": state.assignee, "dedup_key": state.dedup_key,
        "alert_count": state.alert_count, "labels": state.labels,
        "esc_loop": loop, "esc_level": level,
        "conflicted": any(len(heads) > 1 for heads in state.heads.values()),
        "created_at": ms_to_dt(state.created_at), "updated_at": ms_to_dt(state.updated_at),
        "acknowledged_at": _opt_dt(state.acknowledged_at),
        "acknowledged_by": state.acknowledged_by,
        "resolved_at": _opt_dt(state.resolved_at), "resolved_by": state.resolved_by,
        "fold_state": state.fold_extras(),
    }


def state_from_row(row: Any) -> IncidentState:
    """The fold's state back from a projection row (`Row` or `Incident`)."""
    state = IncidentState(
        id=row.id, key=row.key, key_number=row.key_number, origin_site=row.origin_site,
        service=row.service, dedup_key=row.dedup_key, labels=dict(row.labels),
        title=row.title, severity=row.severity, priority=row.priority, stage=row.stage,
        team=row.team, policy=row.policy, assignee=row.assignee, alert_count=row.alert_count,
        epoch=row.epoch, level=("triggered", "acknowledged", "resolved").index(row.status),
        created_at=dt_to_ms(row.created_at), updated_at=dt_to_ms(row.updated_at),
        acknowledged_at=_opt_ms(row.acknowledged_at), acknowledged_by=row.acknowledged_by,
        resolved_at=_opt_ms(row.resolved_at), resolved_by=row.resolved_by,
    )
    state.load_extras(row.fold_state)
    return state
