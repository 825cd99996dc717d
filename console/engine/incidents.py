"""Recording alerts as incidents: shared by HTTP ingest and the heartbeat monitor.

Routing (`policies.route`) is pure and runs before this; here the decision
becomes ops in the caller's transaction, and the incident is marked for the
engine to look at now, so its first page does not wait for the op-log scan.
"""

from __future__ import annotations

from datetime import datetime

from console.domain import commands
from console.domain.commands import MAX_NOTE, Change
from console.domain.vocabulary import Kind
from console.notify.dispatcher import recorded
from console.store.store import Triggered, Writes
from policies import Alert, RouteDecision


def open_or_repeat(
    w: Writes, actor: str, *, alert: Alert, decision: RouteDecision, dedup_key: str,
    now: datetime, details: str | None = None,
) -> Triggered:
    """Trigger (or retrigger the open incident with `dedup_key`) as routed."""
    triggered = w.trigger(
        actor, title=alert.summary, service=alert.service, severity=decision.severity,
        dedup_key=dedup_key, labels=dict(alert.labels), priority=decision.priority,
        team=decision.team, policy=decision.policy,
    )
    if not triggered.created:
        return triggered
    state = triggered.state
    extra: list[Change] = []
    if decision.urgency == "low":
        extra.append(Change(Kind.SET_URGENCY, {"urgency": "low", "reason": "routed as low urgency"}))
    if decision.suppressed_by_maintenance:
        extra.append(commands.note(state, (
            f"opened during maintenance window {decision.suppressed_by_maintenance} "
            f"({decision.maintenance_mode}): recorded, nobody is paged")))
    if details and details.strip():
        extra.append(commands.note(state, details[:MAX_NOTE]))
    if extra:
        w.act(state.id, actor, recorded(extra))
    w.set_next_due({state.id: now})
    return triggered
