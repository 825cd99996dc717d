"""The fold: an incident's state from its ops, the same on every console.

Ops are applied in `(hlc, site, seq)` order, so any two consoles holding the
same ops hold the same state, whatever order the ops arrived in. The merge
rules (DESIGN §3, research/sync-design.md §2.3):

- status is the lexicographic max of `(epoch, level)` with levels triggered <
  acknowledged < resolved; `reopen(e)` and `unack(e)` propose `(e+1, 0)`, so
  two concurrent reopens of one epoch collapse into one, and an ack or resolve
  made before a reopen the actor had not seen changes nothing but the timeline;
- single-valued fields take the latest write; writes that did not see each
  other (neither lists the other in `supersedes`) both stay as heads, and the
  console shows the conflict until the next write supersedes them;
- escalation steps are keyed by (epoch, loop, level): two consoles escalating
  the same step yield one step with two attempts;
- the alert count, acks and notes only grow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from console.domain.state import Attempt, Head, IncidentState, Step
from console.domain.vocabulary import KINDS, Kind
from sync.ops import Op


def wall_ms(hlc: str) -> int:
    return int(hlc.partition("-")[0])


def _new_incident(op: Op) -> IncidentState:
    p = op.payload
    at = wall_ms(op.hlc)
    # Positional: keyword arguments cost four times the call itself with this many fields.
    state = IncidentState(
        op.entity, p["key"], p["key_number"], op.site, p["service"], p.get("dedup_key"),
        dict(p.get("labels", {})), p["title"], p["severity"], p.get("priority"),
        p.get("stage", "new"), p.get("team"), p.get("policy"), p.get("assignee"),
        1, 0, 0, at, at,  # alert_count, epoch, level, created_at, updated_at
    )
    state.last = op.sort_key
    state.trigger = (op.op_id, op.site, op.actor)
    return state


def _write(state: IncidentState, op: Op, values: dict[str, str | None]) -> None:
    """Last write wins; heads it did not supersede stay as concurrent values."""
    seen = set(op.payload.get("supersedes", ()))
    for name, value in values.items():
        kept = [h for h in state.heads_of(name) if h.op_id not in seen]
        kept.append(Head(op.op_id, value, op.site, op.actor))
        state.written[name] = kept
        setattr(state, name, value)


def _status(state: IncidentState, op: Op, candidate: tuple[int, int]) -> None:
    if candidate > (state.epoch, state.level):
        if candidate[0] > state.epoch:
            state.acknowledged_at = state.acknowledged_by = None
            state.resolved_at = state.resolved_by = None
        state.epoch, state.level = candidate


def _retrigger(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
    state.alert_count += 1


def _ack(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
    epoch = int(p["epoch"])
    _status(state, op, (epoch, 1))
    state.acks.append((epoch, op.actor))
    if epoch == state.epoch and state.acknowledged_at is None:
        state.acknowledged_at, state.acknowledged_by = at, op.actor
        _write(state, op, {"assignee": op.actor})


def _resolve(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
    epoch = int(p["epoch"])
    _status(state, op, (epoch, 2))
    if epoch == state.epoch and state.level == 2 and state.resolved_at is None:
        state.resolved_at, state.resolved_by = at, op.actor


def _new_epoch(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
    _status(state, op, (int(p["epoch"]) + 1, 0))


def _escalate(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
    key = (int(p["epoch"]), int(p["loop"]), int(p["level"]))
    attempt = Attempt(op.op_id, op.site, op.actor, at, str(p.get("reason", "")))
    step = next((s for s in state.steps if (s.epoch, s.loop, s.level) == key), None)
    if step is None:
        state.steps.append(Step(*key, attempts=[attempt]))
        state.steps.sort(key=lambda s: (s.epoch, s.loop, s.level))
    else:
        step.attempts.append(attempt)


def _reassign(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
    _write(state, op, {k: p[k] for k in ("team", "policy", "assignee") if k in p})


def _set(name: str) -> Callable[[IncidentState, Op, Mapping[str, Any], int], None]:
    def handle(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
        _write(state, op, {name: p[name]})
    return handle


def _set_urgency(state: IncidentState, op: Op, p: Mapping[str, Any], at: int) -> None:
    # Raising a low-urgency incident to high pages it afresh: a new epoch, like a reopen.
    # Without an epoch the urgency itself is read from the log by the engine.
    if "epoch" in p:
        _new_epoch(state, op, p, at)


# What each kind changes besides the time the incident last moved. NOTE, NOTICE, UPDATE,
# NOTIFY and TRIGGER (a second trigger of one entity) change nothing else, and
# have no entry: the hottest kind, a note, costs one failed lookup.
_HANDLERS: dict[str, Callable[[IncidentState, Op, Mapping[str, Any], int], None]] = {
    Kind.RETRIGGER: _retrigger, Kind.ACK: _ack, Kind.RESOLVE: _resolve,
    Kind.REOPEN: _new_epoch, Kind.UNACK: _new_epoch, Kind.ESCALATE: _escalate,
    Kind.REASSIGN: _reassign, Kind.SET_SEVERITY: _set("severity"),
    Kind.SET_PRIORITY: _set("priority"), Kind.SET_STAGE: _set("stage"),
    Kind.SET_URGENCY: _set_urgency,
}


def apply(state: IncidentState | None, op: Op) -> IncidentState | None:
    """Apply one op that sorts after every op already in `state` (mutates it).

    Ops before the trigger has been seen change nothing: the trigger sorts
    first, and its arrival makes the store fold the incident from the log.
    """
    kind = op.kind
    if kind not in KINDS:
        return state  # a newer console's op: no effect until this one learns it
    if state is None:
        return _new_incident(op) if kind == Kind.TRIGGER else None
    at = wall_ms(op.hlc)
    handle = _HANDLERS.get(kind)
    if handle is not None:
        handle(state, op, op.payload, at)
    if at > state.updated_at:
        state.updated_at = at
    state.last = op.sort_key
    return state


S = TypeVar("S")


def fold_with(step: Callable[[S | None, Op], S], ops: Iterable[Op]) -> S | None:
    """Any entity's state from any collection of its ops: each op once, in (hlc, site, seq)
    order, so every console that holds the same ops folds the same state."""
    unique = {op.op_id: op for op in ops}
    state: S | None = None
    for op in sorted(unique.values(), key=lambda o: o.sort_key):
        state = step(state, op)
    return state


def fold(ops: Iterable[Op]) -> IncidentState | None:
    """The state of one incident from any collection of its ops (duplicates allowed)."""
    return fold_with(apply, ops)


def notes(ops: Iterable[Op]) -> list[Op]:
    """The note ops of an incident, in fold order."""
    unique = {op.op_id: op for op in ops if op.kind == Kind.NOTE}
    return sorted(unique.values(), key=lambda o: o.sort_key)
