"""An incident as the fold of its ops sees it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.domain.vocabulary import STATUS_AT_LEVEL, Status

SortKey = tuple[str, str, int]


@dataclass(slots=True)
class Head:
    """One write of a single-valued field that no later write has superseded."""

    op_id: str
    value: str | None
    site: str
    actor: str


@dataclass(slots=True)
class Attempt:
    """One console's execution of an escalation step (two during a partition)."""

    op_id: str
    site: str
    actor: str
    at: int
    reason: str


@dataclass(slots=True)
class Step:
    epoch: int
    loop: int
    level: int
    attempts: list[Attempt] = field(default_factory=list)


@dataclass(slots=True)
class IncidentState:
    """Everything the projection holds about one incident; times are UTC epoch ms."""

    id: str
    key: str
    key_number: int
    origin_site: str
    service: str
    dedup_key: str | None
    labels: dict[str, str]
    title: str
    severity: str
    priority: str | None
    stage: str
    team: str | None
    policy: str | None
    assignee: str | None
    alert_count: int
    epoch: int
    level: int
    created_at: int
    updated_at: int
    acknowledged_at: int | None = None
    acknowledged_by: str | None = None
    resolved_at: int | None = None
    resolved_by: str | None = None
    steps: list[Step] = field(default_factory=list)
    acks: list[tuple[int, str]] = field(default_factory=list)
    heads: dict[str, list[Head]] = field(default_factory=dict)
    last: SortKey = ("", "", 0)

    @property
    def status(self) -> Status:
        return STATUS_AT_LEVEL[self.level]

    @property
    def is_open(self) -> bool:
        return self.status is not Status.RESOLVED

    @property
    def escalation(self) -> tuple[int, int]:
        """(loop, level) reached in the current epoch; level 1 is the first page."""
        return max(((s.loop, s.level) for s in self.steps if s.epoch == self.epoch), default=(0, 1))

    def conflicts(self) -> dict[str, list[str | None]]:
        """Fields written concurrently: the shown value first, then the others."""
        out: dict[str, list[str | None]] = {}
        for name, heads in self.heads.items():
            if len(heads) > 1:
                out[name] = [heads[-1].value, *(h.value for h in reversed(heads[:-1]))]
        return out

    def head_ids(self, *names: str) -> list[str]:
        """The op ids a new write of these fields supersedes."""
        return [h.op_id for name in names for h in self.heads.get(name, [])]

    def fold_extras(self) -> dict[str, Any]:
        """The fold's bookkeeping that has no column of its own."""
        return {
            "steps": [
                {"epoch": s.epoch, "loop": s.loop, "level": s.level,
                 "attempts": [[a.op_id, a.site, a.actor, a.at, a.reason] for a in s.attempts]}
                for s in self.steps
            ],
            "acks": [list(a) for a in self.acks],
            "heads": {
                name: [[h.op_id, h.value, h.site, h.actor] for h in heads]
                for name, heads in self.heads.items()
            },
            "last": list(self.last),
        }

    def load_extras(self, extras: dict[str, Any]) -> None:
        self.steps = [
            Step(s["epoch"], s["loop"], s["level"], [Attempt(*a) for a in s["attempts"]])
            for s in extras["steps"]
        ]
        self.acks = [(int(e), str(a)) for e, a in extras["acks"]]
        self.heads = {name: [Head(*h) for h in heads] for name, heads in extras["heads"].items()}
        last = extras["last"]
        self.last = (last[0], last[1], int(last[2]))
