"""The engine's decisions: what is due for an incident now, and when next.

`due(view, policy_set, now)` is a pure function.  The console calls it
whenever an incident's `next_due_at` passes (or its state changes), records
the actions it returns as ops, and calls it again: an action whose step or
key is recorded in the view is never returned again, so calling it every
second is harmless.

Escalation timing is a plan walked from the epoch's start: level 1 at the
start; each next step after the current level's delay for the incident's
severity, counted from when the current step was actually taken (or was
due, if it has not been recorded yet).  Steps are keyed by (loop, level),
0-based, the key the op log merges escalations on.  When several steps are
overdue at once (the engine was down) each is returned: a duplicate page
beats a missed one.  Only repeats of the exhausted tail collapse into the
latest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from . import calendars
from .followthesun import group_on_call
from .models import Channel, EscalationPolicy, Level, Priority, Severity, Urgency
from .policyset import PolicySet
from .routing import maintenance_applies
from .schedule import ShiftOverride, on_call
from .sla import sla_clock

Status = Literal["triggered", "acknowledged", "resolved"]
Step = tuple[int, int]


@dataclass(frozen=True, slots=True)
class IncidentView:
    """What the decision functions need to know about an incident.

    `steps_taken` maps each (loop, level) escalation step recorded in the
    current epoch to when it was taken; `recorded` holds the keys of every
    other action already recorded (see each action's `key`).  `paused` are
    spans in a pausing state (end None: still paused).  An epoch starts at
    creation and again at each re-trigger, reopen or urgency raise
    (`epoch_started_at`, defaulting to `created_at`).
    """

    id: str
    key: str
    service: str
    severity: Severity
    priority: Priority | None
    status: Status
    created_at: datetime
    policy: str | None = None
    team: str | None = None
    urgency: Urgency = "high"
    epoch: int = 0
    epoch_started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    last_update_at: datetime | None = None
    loop: int = 0
    level: int = 0
    steps_taken: Mapping[Step, datetime] = field(default_factory=dict)
    recorded: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=dict)
    paused: tuple[tuple[datetime, datetime | None], ...] = ()

    @property
    def started(self) -> datetime:
        return self.epoch_started_at or self.created_at


@dataclass(frozen=True, slots=True)
class Page:
    """One notification to send: a person, a channel, when, and which target led there."""

    person: str
    channel: Channel
    address: str | None
    at: datetime
    via: str


@dataclass(frozen=True, slots=True)
class Escalate:
    """Page a level (or notify it, for low urgency).  Record as steps_taken[(loop, level)]."""

    epoch: int
    loop: int
    level: int
    at: datetime
    targets: tuple[Page, ...]
    notify_only: bool = False

    @property
    def step(self) -> Step:
        return (self.loop, self.level)

    @property
    def key(self) -> str:
        return f"escalate:{self.epoch}:{self.loop}:{self.level}"

    @property
    def people(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.person for p in self.targets))


@dataclass(frozen=True, slots=True)
class RetriggerStaleAck:
    """An acknowledgement older than the policy's ack_timeout: back to triggered, new epoch."""

    epoch: int
    at: datetime
    acknowledged_at: datetime

    @property
    def key(self) -> str:
        return f"retrigger:{self.epoch}"


@dataclass(frozen=True, slots=True)
class RaiseUrgency:
    """Support hours began for a low-urgency incident: make it high, new epoch from `at`."""

    epoch: int
    at: datetime

    @property
    def key(self) -> str:
        return f"raise-urgency:{self.epoch}"


@dataclass(frozen=True, slots=True)
class SlaWarning:
    kind: Literal["ack", "resolve"]
    at: datetime
    due_at: datetime

    @property
    def key(self) -> str:
        return f"sla-warning:{self.kind}"


@dataclass(frozen=True, slots=True)
class SlaBreach:
    kind: Literal["ack", "resolve"]
    at: datetime

    @property
    def key(self) -> str:
        return f"sla-breach:{self.kind}"


@dataclass(frozen=True, slots=True)
class UpdateReminder:
    """No status update for the SLA's update interval."""

    at: datetime
    last_update_at: datetime

    @property
    def key(self) -> str:
        return f"update:{self.at.isoformat()}"


@dataclass(frozen=True, slots=True)
class Exhausted:
    """The policy ran out of levels and repeats; `targets` pages the fallback, if any."""

    epoch: int
    at: datetime
    mode: Literal["stop", "keep_last", "fallback"]
    targets: tuple[Page, ...] = ()

    @property
    def key(self) -> str:
        return f"exhausted:{self.epoch}"


Action = Escalate | RetriggerStaleAck | RaiseUrgency | SlaWarning | SlaBreach | UpdateReminder | Exhausted


@dataclass(frozen=True, slots=True)
class DueResult:
    actions: list[Action]
    next_due_at: datetime | None


# --- resolving targets ----------------------------------------------------------------------


def resolve_target(
    ps: PolicySet,
    target: str,
    at: datetime,
    overrides: Sequence[ShiftOverride] = (),
    _seen: frozenset[str] = frozenset(),
) -> tuple[str, ...]:
    """The people a target (person:, schedule:, team:, follow_the_sun:, policy:) means at `at`."""
    kind, _, ident = target.partition(":")
    if kind == "person":
        return (ident,) if ident in ps.people else ()
    if kind == "schedule":
        sched = ps.schedules.get(ident)
        return on_call(sched, at, overrides) if sched is not None else ()
    if kind == "team":
        team = ps.teams.get(ident)
        return tuple(team.members) if team is not None else ()
    if kind == "follow_the_sun":
        group = ps.follow_the_sun.get(ident)
        if group is None:
            return ()
        return group_on_call(group, ps.schedules, at, overrides).people
    if kind == "policy":
        pol = ps.escalation_policies.get(ident)
        if pol is None or target in _seen:
            return ()
        out: list[str] = []
        for t in pol.levels[0].targets:
            for p in resolve_target(ps, t, at, overrides, _seen | {target}):
                if p not in out:
                    out.append(p)
        return tuple(out)
    return ()


def pages_for(
    ps: PolicySet,
    targets: Iterable[str],
    at: datetime,
    urgency: Urgency,
    overrides: Sequence[ShiftOverride] = (),
) -> tuple[Page, ...]:
    """Resolve targets in parallel and expand each person's notification rules."""
    out: list[Page] = []
    seen: set[str] = set()
    for t in targets:
        for pid in resolve_target(ps, t, at, overrides):
            if pid in seen:
                continue
            seen.add(pid)
            person = ps.people.get(pid)
            if person is None:
                continue
            for rule in person.rules_for(urgency):
                out.append(Page(pid, rule.channel, person.address(rule.channel), at + rule.after, t))
    return tuple(out)


# --- the plan ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    """Step order: loop 0 over all levels, then `repeat` loops from repeat_from_level."""

    n_levels: int
    first_repeat_level: int
    repeats: int
    tail: bool  # keep paging the last level after exhaustion

    @property
    def last_regular(self) -> int:
        return self.n_levels + self.repeats * (self.n_levels - self.first_repeat_level) - 1

    def index(self, step: Step) -> int | None:
        loop, level = step
        if not 0 <= level < self.n_levels or loop < 0:
            return None
        if loop == 0:
            return level
        if loop <= self.repeats:
            if level < self.first_repeat_level:
                return None
            per = self.n_levels - self.first_repeat_level
            return self.n_levels + (loop - 1) * per + (level - self.first_repeat_level)
        if self.tail and level == self.n_levels - 1:
            return self.last_regular + (loop - self.repeats)
        return None

    def step(self, index: int) -> Step:
        if index < self.n_levels:
            return (0, index)
        if index <= self.last_regular:
            per = self.n_levels - self.first_repeat_level
            off = index - self.n_levels
            return (1 + off // per, self.first_repeat_level + off % per)
        return (self.repeats + (index - self.last_regular), self.n_levels - 1)


def _plan(pol: EscalationPolicy) -> _Plan:
    return _Plan(len(pol.levels), pol.repeat_from_level - 1, pol.repeat, pol.on_exhausted == "keep_last")


def _windows(ps: PolicySet, view: IncidentView) -> list[tuple[datetime, datetime, str]]:
    """Maintenance windows that cover this incident's service and labels."""
    out: list[tuple[datetime, datetime, str]] = []
    for w in ps.maintenance.values():
        if maintenance_applies(w, view.service, view.labels, w.start):
            out.append((w.start, w.end, w.mode))
    return out


def _in_window(windows: list[tuple[datetime, datetime, str]], at: datetime) -> datetime | None:
    """End of the window covering `at`, if any."""
    for s, e, _ in windows:
        if s <= at < e:
            return e
    return None


def _escalation(
    view: IncidentView,
    ps: PolicySet,
    pol: EscalationPolicy,
    now: datetime,
    overrides: Sequence[ShiftOverride],
    windows: list[tuple[datetime, datetime, str]],
) -> tuple[list[Action], datetime | None]:
    actions: list[Action] = []
    plan = _plan(pol)
    sev = view.severity
    taken: dict[int, datetime] = {}
    for st, when in view.steps_taken.items():
        i = plan.index(st)
        if i is not None:
            taken[i] = when
    if taken:
        cur = max(taken)
        t = taken[cur]
        done = True
    else:
        if view.status != "triggered":
            return actions, None  # acknowledged before the first page: nothing to send
        cur, t, done = 0, view.started, False
    exhausted_key = f"exhausted:{view.epoch}"
    for _ in range(10_000):
        loop, level_ix = plan.step(cur)
        level: Level = pol.levels[level_ix]
        in_tail = cur > plan.last_regular
        skipped = False
        if not done:
            if t > now:
                return actions, t
            if in_tail and cur == plan.last_regular + 1 and exhausted_key not in view.recorded:
                actions.append(Exhausted(view.epoch, t, "keep_last"))
            if in_tail and t + level.delay_for(sev) <= now:
                pass  # a later repeat of the tail is also overdue: only the latest pages
            elif _in_window(windows, t) is None:
                pages = pages_for(ps, level.targets, t, "high", overrides)
                if not pages and pol.skip_empty_levels and not in_tail:
                    skipped = True
                else:
                    actions.append(Escalate(view.epoch, loop, level_ix, t, pages))
        if level.condition == "not_acknowledged" and view.status == "acknowledged":
            return actions, None
        t_next = t if skipped else t + level.delay_for(sev)
        if cur == plan.last_regular and not plan.tail:
            if exhausted_key in view.recorded:
                return actions, None
            if t_next > now:
                return actions, t_next
            targets: tuple[Page, ...] = ()
            if pol.on_exhausted == "fallback" and pol.fallback is not None:
                targets = pages_for(ps, [f"person:{pol.fallback}"], t_next, "high", overrides)
            actions.append(Exhausted(view.epoch, t_next, pol.on_exhausted, targets))
            return actions, None
        cur, t, done = cur + 1, t_next, False
    return actions, None


def _low_urgency(
    view: IncidentView,
    ps: PolicySet,
    pol: EscalationPolicy,
    now: datetime,
    overrides: Sequence[ShiftOverride],
    windows: list[tuple[datetime, datetime, str]],
) -> tuple[list[Action], datetime | None]:
    """Low urgency notifies level 1 once and never escalates, until support hours raise it."""
    actions: list[Action] = []
    nxt: datetime | None = None
    start = view.started
    if (0, 0) not in view.steps_taken:
        if start > now:
            nxt = start
        elif _in_window(windows, start) is None:
            pages = pages_for(ps, pol.levels[0].targets, start, "low", overrides)
            actions.append(Escalate(view.epoch, 0, 0, start, pages, notify_only=True))
    cal = ps.calendars.get(pol.support_hours) if pol.support_hours else None
    key = f"raise-urgency:{view.epoch}"
    if cal is not None and key not in view.recorded and view.status == "triggered":
        opens = calendars.next_open(cal, start)
        if opens is not None:
            if opens <= now:
                actions.append(RaiseUrgency(view.epoch, opens))
            else:
                nxt = _min(nxt, opens)
    return actions, nxt


def _sla(view: IncidentView, ps: PolicySet, now: datetime) -> tuple[list[Action], datetime | None]:
    target = ps.sla_for(view.priority)
    if target is None:
        return [], None
    cal = ps.calendars.get(target.calendar) if target.calendar else None
    actions: list[Action] = []
    nxt: datetime | None = None
    clocks: list[tuple[Literal["ack", "resolve"], timedelta | None, datetime | None]] = [
        ("ack", target.ack, view.acknowledged_at or view.resolved_at),
        ("resolve", target.resolve, view.resolved_at),
    ]
    for kind, goal, stopped in clocks:
        if goal is None or stopped is not None:
            continue
        clock = sla_clock(goal, cal, view.created_at, view.paused, now, target.warn_at)
        breach_key, warn_key = f"sla-breach:{kind}", f"sla-warning:{kind}"
        if clock.due_at is not None and clock.due_at <= now:
            if breach_key not in view.recorded:
                actions.append(SlaBreach(kind, clock.due_at))
            continue
        if clock.paused:
            continue  # the clock stands still; a pause ending is a state change
        if clock.warn_at is not None and warn_key not in view.recorded:
            if clock.warn_at <= now:
                actions.append(SlaWarning(kind, clock.warn_at, clock.due_at or now))
            else:
                nxt = _min(nxt, clock.warn_at)
        if clock.due_at is not None:
            nxt = _min(nxt, clock.due_at)
    if target.update_interval is not None and target.update_interval > timedelta(0):
        base = view.last_update_at or view.created_at
        k = int((now - base) / target.update_interval)
        if k >= 1:
            at = base + k * target.update_interval
            reminder = UpdateReminder(at, base)
            if reminder.key not in view.recorded:
                actions.append(reminder)
        nxt = _min(nxt, base + (k + 1) * target.update_interval)
    return actions, nxt


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def due(
    view: IncidentView,
    policy_set: PolicySet,
    now: datetime,
    overrides: Sequence[ShiftOverride] = (),
) -> DueResult:
    """The actions due for an incident at `now` and the next instant anything becomes due."""
    if view.status == "resolved":
        return DueResult([], None)
    actions: list[Action] = []
    nxt: datetime | None = None
    windows = _windows(policy_set, view)
    record_only = any(
        s <= view.created_at < e and mode == "record_only" for s, e, mode in windows
    )
    pol = policy_set.escalation_policies.get(view.policy) if view.policy else None
    if pol is not None and not record_only:
        if view.urgency == "low":
            acts, n = _low_urgency(view, policy_set, pol, now, overrides, windows)
        else:
            acts, n = _escalation(view, policy_set, pol, now, overrides, windows)
        actions += acts
        nxt = _min(nxt, n)
        if (
            view.status == "acknowledged"
            and pol.ack_timeout is not None
            and view.acknowledged_at is not None
        ):
            stale = RetriggerStaleAck(
                view.epoch, view.acknowledged_at + pol.ack_timeout, view.acknowledged_at
            )
            if stale.key not in view.recorded:
                if stale.at > now:
                    nxt = _min(nxt, stale.at)
                else:
                    until = _in_window(windows, now)
                    if until is None:
                        actions.append(stale)
                    else:
                        nxt = _min(nxt, until)
    sla_actions, n = _sla(view, policy_set, now)
    actions += sla_actions
    nxt = _min(nxt, n)
    if nxt is not None and nxt <= now:
        nxt = None
    return DueResult(actions, nxt)
