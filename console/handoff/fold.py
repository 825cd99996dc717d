"""A handoff's state from its ops, the same on every console whatever order they came in.

Merge rules (docs/handoffs.md): status is a lattice draft < sent <
acknowledged; the note's text is the latest draft until the handoff is sent,
then the send's, and a person's send beats an automatic one made concurrently
on another console; the first ack and the first escalation (in fold order)
are the ones shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from console.domain.fold import fold_with, wall_ms
from console.domain.vocabulary import HandoffKind
from sync.ops import Op

STATUSES = ("draft", "sent", "acknowledged")


@dataclass(slots=True)
class HandoffState:
    """Times are UTC epoch ms."""

    id: str
    group: str
    from_region: str
    to_region: str
    origin_site: str
    shift_start: int
    handoff_at: int
    markdown: str
    facts: dict[str, Any]
    drafted_at: int
    drafted_by: str
    status: str = "draft"
    automatic: bool = False
    sent_at: int | None = None
    sent_by: str | None = None
    acknowledged_at: int | None = None
    acknowledged_by: str | None = None
    escalated_at: int | None = None
    escalated_to: list[str] = field(default_factory=list)
    escalation_incident: str | None = None

    def _raise(self, status: str) -> None:
        if STATUSES.index(status) > STATUSES.index(self.status):
            self.status = status


def _new(op: Op) -> HandoffState:
    p = op.payload
    return HandoffState(
        id=op.entity, group=str(p["group"]), from_region=str(p["from_region"]),
        to_region=str(p["to_region"]), origin_site=op.site, shift_start=int(p["shift_start_ms"]),
        handoff_at=int(p["handoff_at_ms"]), markdown=str(p["markdown"]),
        facts=dict(p.get("facts") or {}), drafted_at=wall_ms(op.hlc), drafted_by=op.actor,
    )


def apply(state: HandoffState | None, op: Op) -> HandoffState | None:
    """Apply one op that sorts after every op already in `state` (mutates it)."""
    p = op.payload
    at = wall_ms(op.hlc)
    if state is None:
        # Only a draft or a send carries the note's header; other ops wait for one.
        if op.kind not in (HandoffKind.DRAFT, HandoffKind.SEND):
            return None
        state = _new(op)
    if op.kind == HandoffKind.DRAFT and state.status == "draft":
        state.markdown, state.facts = str(p["markdown"]), dict(p.get("facts") or {})
    elif op.kind == HandoffKind.SEND:
        automatic = bool(p.get("automatic"))
        if state.sent_at is None or (state.automatic and not automatic):
            state.sent_at, state.sent_by, state.automatic = at, op.actor, automatic
            state.markdown, state.facts = str(p["markdown"]), dict(p.get("facts") or {})
        state._raise("sent")
    elif op.kind == HandoffKind.ACK:
        state._raise("acknowledged")
        if state.acknowledged_at is None:
            state.acknowledged_at, state.acknowledged_by = at, op.actor
    elif op.kind == HandoffKind.ESCALATE and state.escalated_at is None:
        state.escalated_at = at
        state.escalated_to = [str(x) for x in p.get("people") or []]
        state.escalation_incident = p.get("incident")
    return state


def fold(ops: Iterable[Op]) -> HandoffState | None:
    return fold_with(apply, ops)
