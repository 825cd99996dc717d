"""An incident's ops, read as the `policies.IncidentView` the decision functions take.

The view is built from the op log rather than the projection because the
engine needs history the projection does not keep: when the current epoch
started, which deadlines were already recorded (their keys), the urgency, the
time each escalation step was due, and the spans spent in a pausing stage.

Two numbering conventions meet here. The console counts escalation levels
from 1 (level 1 is the first page, as people say it); `policies` counts
steps `(loop, level)` from 0. So an `escalate` op with level N is step
`(loop, N - 1)` of the plan, and the engine records step `(loop, k)` as
level `k + 1`. The loop is 0-based in both.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from console.domain.fold import fold, wall_ms
from console.domain.state import IncidentState
from console.domain.vocabulary import Kind
from policies import IncidentView, PolicySet
from sync.ops import Op

Urgency = Literal["high", "low"]
Severity = Literal["sev1", "sev2", "sev3", "sev4"]
Priority = Literal["P1", "P2", "P3", "P4"]


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def to_ms(at: datetime) -> int:
    return round(at.timestamp() * 1000)


def _at(op: Op) -> int:
    """When the op says it happened: the deadline it was recorded for, else its stamp.

    Engine ops carry `at_ms` so a step recorded late (the engine was down)
    still counts its delay from when it was due, and the plan keeps its pace.
    """
    at = op.payload.get("at_ms")
    return int(at) if isinstance(at, int) else wall_ms(op.hlc)


@dataclass(frozen=True, slots=True)
class Adapted:
    state: IncidentState
    view: IncidentView


def adapt(ops: Iterable[Op], pause_stages: Collection[str] = ()) -> Adapted | None:
    """The fold state and the decision view of one incident, from all its ops."""
    unique = sorted({op.op_id: op for op in ops}.values(), key=lambda o: o.sort_key)
    state = fold(unique)
    if state is None:
        return None
    urgency: Urgency = "high"
    recorded: set[str] = set()
    epoch_starts: dict[int, int] = {}
    steps: dict[tuple[int, int], int] = {}
    last_update: int | None = None
    paused: list[tuple[int, int | None]] = []
    for op in unique:
        p = op.payload
        kind = op.kind
        key = p.get("key")
        if isinstance(key, str) and kind in (Kind.NOTICE, Kind.UNACK, Kind.SET_URGENCY):
            recorded.add(key)
        if kind in (Kind.REOPEN, Kind.UNACK) or (kind == Kind.SET_URGENCY and "epoch" in p):
            started = int(p["epoch"]) + 1
            epoch_starts[started] = min(epoch_starts.get(started, _at(op)), _at(op))
        if kind == Kind.SET_URGENCY and p.get("urgency") in ("high", "low"):
            urgency = cast(Urgency, p["urgency"])
        elif kind == Kind.ESCALATE and int(p.get("epoch", -1)) == state.epoch:
            level = int(p.get("level", 0))
            if level >= 1:
                step = (int(p.get("loop", 0)), level - 1)
                steps[step] = min(steps.get(step, _at(op)), _at(op))
        elif kind in (Kind.NOTE, Kind.SET_STAGE, Kind.UPDATE):
            last_update = max(last_update or 0, wall_ms(op.hlc))
            if kind == Kind.SET_STAGE:
                in_pause = p.get("stage") in pause_stages
                open_span = bool(paused) and paused[-1][1] is None
                if in_pause and not open_span:
                    paused.append((wall_ms(op.hlc), None))
                elif not in_pause and open_span:
                    paused[-1] = (paused[-1][0], wall_ms(op.hlc))
    started_ms = epoch_starts.get(state.epoch) if state.epoch > 0 else None
    taken = {step: to_datetime(ms) for step, ms in steps.items()}
    loop, level = max(taken, default=(0, 0))
    view = IncidentView(
        id=state.id,
        key=state.key,
        service=state.service,
        severity=cast(Severity, state.severity),
        priority=cast("Priority | None", state.priority),  # a string: no typing union built per call
        status=state.status.value,
        created_at=to_datetime(state.created_at),
        policy=state.policy,
        team=state.team,
        urgency=urgency,
        epoch=state.epoch,
        epoch_started_at=to_datetime(started_ms) if started_ms is not None else None,
        acknowledged_at=to_datetime(state.acknowledged_at) if state.acknowledged_at else None,
        resolved_at=to_datetime(state.resolved_at) if state.resolved_at else None,
        last_update_at=to_datetime(last_update) if last_update is not None else None,
        loop=loop,
        level=level,
        steps_taken=taken,
        recorded=frozenset(recorded),
        labels=dict(state.labels),
        paused=tuple((to_datetime(s), to_datetime(e) if e is not None else None) for s, e in paused),
    )
    return Adapted(state, view)


def pause_stages(ps: PolicySet, ops: Sequence[Op]) -> tuple[str, ...]:
    """Stages that pause SLA clocks for this incident's priority (usually none)."""
    if not ps.sla or not any(op.kind == Kind.SET_STAGE for op in ops):
        return ()
    priorities = [op.payload.get("priority") for op in ops
                  if op.kind in (Kind.TRIGGER, Kind.SET_PRIORITY) and op.payload.get("priority")]
    target = ps.sla_for(str(priorities[-1])) if priorities else None
    return tuple(target.pause_states) if target is not None else ()
