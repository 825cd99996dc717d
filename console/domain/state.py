"""An incident as the fold of its ops sees it."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from operator import attrgetter
from typing import Any

from console.domain.vocabulary import STATUS_AT_LEVEL, Status

SortKey = tuple[str, str, int]
# The single-valued fields: each keeps its heads (writes nobody superseded).
SINGLE_VALUED = ("title", "severity", "priority", "stage", "team", "policy", "assignee")


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
    # The heads of the fields written after the trigger (see `heads`).
    written: dict[str, list[Head]] = field(default_factory=dict)
    # (op id, site, actor) of the trigger, whose write is the one head of every
    # single-valued field not in `written`: most fields are never written again,
    # and seven heads made for each incident read or folded cost more than the fold.
    trigger: tuple[str, str, str] | None = None
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
        if not self.steps:
            return (0, 1)
        return max(((s.loop, s.level) for s in self.steps if s.epoch == self.epoch), default=(0, 1))

    @property
    def heads(self) -> dict[str, list[Head]]:
        """Every single-valued field's heads (writes nobody superseded), as a new dict."""
        heads = {name: self.heads_of(name) for name in SINGLE_VALUED
                 if self.trigger is not None or name in self.written}
        heads.update(self.written)
        return heads

    def heads_of(self, name: str) -> list[Head]:
        written = self.written.get(name)
        if written is not None:
            return written
        if self.trigger is None or name not in SINGLE_VALUED:
            return []
        op_id, site, actor = self.trigger
        return [Head(op_id, getattr(self, name), site, actor)]

    @property
    def conflicted(self) -> bool:
        return any(len(heads) > 1 for heads in self.written.values())

    def conflicts(self) -> dict[str, list[str | None]]:
        """Fields written concurrently: the shown value first, then the others."""
        out: dict[str, list[str | None]] = {}
        for name, heads in self.heads.items():
            if len(heads) > 1:
                out[name] = [heads[-1].value, *(h.value for h in reversed(heads[:-1]))]
        return out

    def head_ids(self, *names: str) -> list[str]:
        """The op ids a new write of these fields supersedes."""
        return [h.op_id for name in names for h in self.heads_of(name)]

    def copy(self) -> IncidentState:
        """A copy that `fold.apply` may change without changing this one.

        Built positionally from every field at once: `dataclasses.replace` passes
        them by keyword, which cost four times as much (a transaction that acts
        on an incident again copies it each time)."""
        state = IncidentState(*_EVERY_FIELD(self))
        state.labels = dict(self.labels)
        state.acks = list(self.acks)
        state.steps = [Step(s.epoch, s.loop, s.level, list(s.attempts)) for s in self.steps]
        state.written = {name: list(heads) for name, heads in self.written.items()}
        return state

    def fold_extras(self) -> dict[str, Any]:
        """The fold's bookkeeping that has no column of its own, compactly: the trigger's
        head once as `ref`, and only the heads written since. It is read and written on
        every write to the incident, so its size counts."""
        extras: dict[str, Any] = {"last": list(self.last)}
        if self.trigger is not None:
            extras["ref"] = list(self.trigger)
        if self.written:
            extras["heads"] = {name: [[h.op_id, h.value, h.site, h.actor] for h in hs]
                               for name, hs in self.written.items()}
        if self.steps:
            extras["steps"] = [
                {"epoch": s.epoch, "loop": s.loop, "level": s.level,
                 "attempts": [[a.op_id, a.site, a.actor, a.at, a.reason] for a in s.attempts]}
                for s in self.steps
            ]
        if self.acks:
            extras["acks"] = [list(a) for a in self.acks]
        return extras

    def load_extras(self, extras: dict[str, Any]) -> None:
        """The inverse of `fold_extras`, over the columns already loaded.

        Without `ref` (as an earlier version stored every head), the trigger is
        the title's one head, and the fields whose one head is its write of the
        value they hold are left to it, so the state equals the fold's.
        """
        steps = extras.get("steps")
        self.steps = [Step(s["epoch"], s["loop"], s["level"], [Attempt(*a) for a in s["attempts"]])
                      for s in steps] if steps else []
        acks = extras.get("acks")
        self.acks = [(int(e), str(a)) for e, a in acks] if acks else []
        stored = extras.get("heads")
        written = {name: [Head(*h) for h in hs] for name, hs in stored.items()} if stored else {}
        ref = extras.get("ref")
        if ref is not None:
            op_id, site, actor = ref
            self.trigger = (op_id, site, actor)
        elif len(title := written.get("title", [])) == 1:
            op_id, site, actor = self.trigger = (title[0].op_id, title[0].site, title[0].actor)
            written = {name: hs for name, hs in written.items()
                       if len(hs) != 1 or name not in SINGLE_VALUED
                       or hs[0] != Head(op_id, getattr(self, name), site, actor)}
        else:
            self.trigger = None
        self.written = written
        last = extras["last"]
        self.last = (last[0], last[1], int(last[2]))


# Every field of `IncidentState` in its constructor's order, read at once (`copy`).
_EVERY_FIELD = attrgetter(*(f.name for f in fields(IncidentState)))
