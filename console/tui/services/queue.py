"""The queue's data: open incidents as plain rows with their next deadline,
the filter language, the views (mine, my team, all, resolved today), and the
in-memory index a keystroke in the filter bar searches.

The deadline of a row is the earliest of what the console can know cheaply:
the engine's own `next_due_at`, the next escalation step (from the policy's
delay for the current level, counted from when that step began), and the SLA
goals to acknowledge and to resolve. Calling `policies.due` per row would be
exact but costs about half a millisecond each, five seconds for 10,000 rows;
the incident screen calls it for the one incident it shows.

`policies` is imported where a policy set is at hand, never by this module:
the queue's first screenful is shown before the policy set is read.
"""

from __future__ import annotations

import fnmatch
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, func, select

from console.domain.fold import wall_ms
from console.i18n import _l
from console.store import db
from console.store.projection import ms_to_dt
from console.store.tables import Incident
from sync.tables import OpLogRow

from ..model import QueueRow

if TYPE_CHECKING:
    from policies import PolicySet
    from policies.models import Calendar

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
OPS = OpLogRow.__table__  # type: ignore[attr-defined]
OPEN = ("triggered", "acknowledged")
# The ops after which the current escalation step's delay starts counting.
STEP_KINDS = ("escalate", "reopen", "unack")
_COLUMNS = [INCIDENTS.c[name] for name in (
    "id", "key", "title", "service", "severity", "priority", "stage", "status", "team", "policy",
    "assignee", "alert_count", "labels", "esc_loop", "esc_level", "created_at", "updated_at",
    "acknowledged_at", "acknowledged_by", "resolved_at", "next_due_at", "conflicted")]
VIEWS = ("all", "mine", "team", "resolved")
VIEW_TITLES = {"all": _l("All open"), "mine": _l("Mine"), "team": _l("My teams"),
               "resolved": _l("Resolved today")}
# What the table says when a view has nothing (whole sentences: each language words its own).
VIEW_EMPTY = {"all": _l("no incidents in all open"), "mine": _l("no incidents in mine"),
              "team": _l("no incidents in my teams"), "resolved": _l("no incidents in resolved today")}


@dataclass(frozen=True, slots=True)
class Me:
    """Who runs this console: the actor name written on ops, and the person and
    teams the policy set knows them as (None and empty when it does not)."""

    actor: str
    person: str | None = None
    name: str | None = None
    time_zone: str | None = None
    teams: frozenset[str] = frozenset()

    @property
    def names(self) -> frozenset[str]:
        return frozenset(n for n in (self.actor, self.person) if n)


def who_am_i(actor: str, ps: PolicySet | None) -> Me:
    person = ps.person_by_login(actor) if ps is not None else None
    if ps is None or person is None:
        return Me(actor)
    teams = frozenset(t.id for t in ps.teams.values() if person.id in t.members)
    return Me(actor, person.id, person.name, person.time_zone, teams)


class BusinessClock:
    """`calendars.add` for many start instants over one calendar: the calendar's
    open spans are expanded once, from the earliest start onwards, and each due
    instant is a walk from a bisection into them. A queue of 10,000 incidents
    on business-hours SLAs costs milliseconds instead of seconds."""

    STEP = 14 * 86400.0

    def __init__(self, calendar: Calendar | None, earliest: datetime) -> None:
        self.calendar = calendar
        self.lo = self.hi = earliest.timestamp()
        self.spans: list[tuple[float, float]] = []
        self.starts: list[float] = []

    def _extend(self) -> None:
        from policies.calendars import open_spans

        spans = open_spans(self.calendar, self.hi, self.hi + self.STEP)
        self.spans += spans
        self.starts += [a for a, _ in spans]
        self.hi += self.STEP

    def add(self, start: datetime, goal: timedelta) -> datetime | None:
        at, need = start.timestamp(), goal.total_seconds()
        if at < self.lo or need <= 0:
            from policies.calendars import add

            return add(self.calendar, start, goal, [])
        i = max(0, bisect_right(self.starts, at) - 1)
        limit = at + 3660 * 86400.0
        while self.hi < limit:
            while i >= len(self.spans) and self.hi < limit:
                self._extend()
            if i >= len(self.spans):
                break
            a, b = self.spans[i]
            a = max(a, at)
            if b > a:
                if b - a >= need:
                    return datetime.fromtimestamp(a + need, UTC)
                need -= b - a
            i += 1
        return None


class Deadlines:
    """The SLA due instants of one load, one `BusinessClock` per calendar."""

    def __init__(self, ps: PolicySet, earliest: datetime) -> None:
        self.ps = ps
        self.earliest = earliest
        self.clocks: dict[str | None, BusinessClock] = {}

    def sla_due(self, calendar: str | None, start: datetime, goal: timedelta) -> datetime | None:
        clock = self.clocks.get(calendar)
        if clock is None:
            cal = self.ps.calendars.get(calendar) if calendar else None
            clock = self.clocks[calendar] = BusinessClock(cal, self.earliest)
        return clock.add(start, goal)


def deadline(raw: Any, ps: PolicySet | None, step_started: datetime | None,
             sla: Deadlines | None = None) -> tuple[datetime | None, str]:
    """The earliest coming (or passed) deadline of an open incident row, and its kind."""
    if raw.status not in OPEN:
        return None, ""
    found: list[tuple[datetime, str]] = []
    if raw.next_due_at is not None:
        found.append((raw.next_due_at, "due"))
    if ps is not None:
        policy = ps.escalation_policies.get(raw.policy) if raw.policy else None
        if policy is not None:
            index = min(max(raw.esc_level, 1), len(policy.levels)) - 1
            level = policy.levels[index]
            escalating = raw.status == "triggered" or level.condition == "not_resolved"
            last = index == len(policy.levels) - 1 and raw.esc_loop >= policy.repeat
            if escalating and not (last and policy.on_exhausted == "stop"):
                started = max(raw.created_at, step_started or raw.created_at)
                found.append((started + level.delay_for(raw.severity), "esc"))
        target = ps.sla_for(raw.priority)
        if target is not None:
            sla = sla or Deadlines(ps, raw.created_at)
            if target.ack is not None and raw.status == "triggered":
                at = sla.sla_due(target.calendar, raw.created_at, target.ack)
                if at is not None:
                    found.append((at, "ack"))
            if target.resolve is not None:
                at = sla.sla_due(target.calendar, raw.created_at, target.resolve)
                if at is not None:
                    found.append((at, "fix"))
    if not found:
        return None, ""
    return min(found)


def _row(raw: Any, ps: PolicySet | None, step_started: datetime | None,
         sla: Deadlines | None) -> QueueRow:
    at, kind = deadline(raw, ps, step_started, sla)
    return QueueRow(
        id=raw.id, key=raw.key, title=raw.title, service=raw.service, severity=raw.severity,
        priority=raw.priority, status=raw.status, stage=raw.stage, team=raw.team,
        policy=raw.policy, assignee=raw.assignee, alert_count=raw.alert_count,
        level=raw.esc_level, created_at=raw.created_at, updated_at=raw.updated_at,
        resolved_at=raw.resolved_at, deadline=at, deadline_kind=kind,
        labels=dict(raw.labels or {}), conflicted=bool(raw.conflicted),
    )


_FAR = datetime.max.replace(tzinfo=None)


def urgency_key(row: QueueRow) -> tuple[str, int, datetime, datetime]:
    """Most urgent first: severity, then unacknowledged, then nearest deadline, then oldest."""
    due = row.deadline.replace(tzinfo=None) if row.deadline is not None else _FAR
    return (row.severity, 0 if row.status == "triggered" else 1, due,
            row.created_at.replace(tzinfo=None))


def load(engine: Engine, ps: PolicySet | None, resolved_since: datetime,
         limit: int | None = None) -> list[QueueRow]:
    """Every open incident, most urgent first, then those resolved since `resolved_since`.

    With `limit`, only that many of the most severe (by the open-incident index):
    a first screenful to show while the whole queue loads."""
    query = select(*_COLUMNS).where(INCIDENTS.c.status.in_(OPEN))
    if limit is not None:
        query = query.order_by(INCIDENTS.c.severity, INCIDENTS.c.created_at).limit(limit)
    with db.reading(engine) as conn:
        open_rows = list(conn.execute(query))
        resolved = list(conn.execute(
            select(*_COLUMNS).where(INCIDENTS.c.status == "resolved",
                                    INCIDENTS.c.resolved_at >= resolved_since)
            .order_by(INCIDENTS.c.resolved_at.desc())))
        steps: dict[str, datetime] = {}
        if open_rows:
            query = (select(OPS.c.entity, func.max(OPS.c.hlc)).where(OPS.c.kind.in_(STEP_KINDS))
                     .group_by(OPS.c.entity))
            if limit is not None:  # a screenful: its own ops (the entity index), not the whole log
                query = query.where(OPS.c.entity.in_([r.id for r in open_rows]))
            steps = {entity: ms_to_dt(wall_ms(hlc)) for entity, hlc in conn.execute(query)}
    earliest = min((r.created_at for r in open_rows), default=resolved_since)
    sla = Deadlines(ps, earliest) if ps is not None else None
    rows = [_row(r, ps, steps.get(r.id), sla) for r in open_rows]
    rows.sort(key=urgency_key)
    return rows + [_row(r, ps, None, None) for r in resolved]


# -- the filter bar ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed filter: `s:sev1` (also `sev:1`), `p:P1`, `svc:payments*`, `team:db`,
    `st:ack`, `me`, and free words matched against key, title and service."""

    severities: frozenset[str] = frozenset()
    priorities: frozenset[str] = frozenset()
    services: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    mine: bool = False
    words: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return self == Filter()


def _severity(value: str) -> str:
    text = value.lower()
    return f"sev{text}" if text.isdigit() else text


def parse_filter(text: str) -> Filter:
    severities: set[str] = set()
    priorities: set[str] = set()
    services: list[str] = []
    teams: list[str] = []
    statuses: list[str] = []
    words: list[str] = []
    mine = False
    for token in text.split():
        name, sep, value = token.partition(":")
        name = name.lower()
        if not sep or not value:
            if token.lower() == "me":
                mine = True
            else:
                words.append(token.lower())
        elif name in ("s", "sev", "severity"):
            severities.update(_severity(v) for v in value.split(","))
        elif name in ("p", "pri", "priority"):
            priorities.update(v.upper() if v.upper().startswith("P") else f"P{v}"
                              for v in value.split(","))
        elif name in ("svc", "service"):
            services.append(value.lower())
        elif name == "team":
            teams.append(value.lower())
        elif name in ("st", "status", "stage"):
            statuses.append(value.lower())
        else:
            words.append(token.lower())
    return Filter(frozenset(severities), frozenset(priorities), tuple(services), tuple(teams),
                  tuple(statuses), mine, tuple(words))


def _service_matches(pattern: str, service: str) -> bool:
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(service, pattern)
    return pattern in service


def text_of(row: QueueRow) -> str:
    """What the filter's free words are matched against."""
    return f"{row.key} {row.title} {row.service}".lower()


def matches(row: QueueRow, f: Filter, me: Me, text: str | None = None) -> bool:
    """`text`: the row's `text_of`, when the caller keeps it."""
    if f.severities and row.severity not in f.severities:
        return False
    if f.priorities and row.priority not in f.priorities:
        return False
    service = row.service.lower()
    if f.services and not any(_service_matches(p, service) for p in f.services):
        return False
    team = (row.team or "").lower()
    if f.teams and not any(team.startswith(t) for t in f.teams):
        return False
    if f.statuses and not any(row.status.startswith(s) or row.stage.startswith(s)
                              for s in f.statuses):
        return False
    if f.mine and row.assignee not in me.names:
        return False
    if f.words:
        haystack = text if text is not None else text_of(row)
        if not all(w in haystack for w in f.words):
            return False
    return True


def in_view(row: QueueRow, view: str, me: Me) -> bool:
    if view == "resolved":
        return row.status == "resolved"
    if row.status == "resolved":
        return False
    if view == "mine":
        return row.assignee in me.names
    if view == "team":
        return row.team in me.teams
    return True


def narrows(before: Filter, after: Filter) -> bool:
    """Whether every row `after` matches also matches `before`: the same fields, and each
    word of `before` inside some word of `after` (typing on in a word, or adding one)."""
    return (before.severities == after.severities and before.priorities == after.priorities
            and before.services == after.services and before.teams == after.teams
            and before.statuses == after.statuses and before.mine == after.mine
            and all(any(b in a for a in after.words) for b in before.words))


class QueueIndex:
    """One load of the queue, indexed for the filter bar: each view's rows, its count,
    and each row's lowercase text are worked out once, in the loading worker, so a
    keystroke only tests rows against the filter, one cheap test per pass (severity,
    priority, each word) before the general one; a filter that narrows the last one
    tests only the rows the last one kept."""

    def __init__(self, rows: Sequence[QueueRow], me: Me) -> None:
        self.rows = list(rows)
        self.me = me
        views = {v: [r for r in self.rows if in_view(r, v, me)] for v in VIEWS}
        self._views = {v: (rs, [(r, text_of(r)) for r in rs]) for v, rs in views.items()}
        self.counts = {v: len(rs) for v, rs in views.items()}
        self._last: tuple[str, Filter, list[tuple[QueueRow, str]]] | None = None

    def select(self, view: str, f: Filter) -> list[QueueRow]:
        """The rows the queue shows, most urgent first."""
        rows, pairs = self._views[view]
        if f.empty:
            return rows
        last = self._last
        if last is not None and last[0] == view and narrows(last[1], f):
            pairs = last[2]
        if f.severities:
            pairs = [p for p in pairs if p[0].severity in f.severities]
        if f.priorities:
            pairs = [p for p in pairs if p[0].priority in f.priorities]
        for word in f.words:
            pairs = [p for p in pairs if word in p[1]]
        rest = Filter(services=f.services, teams=f.teams, statuses=f.statuses, mine=f.mine)
        if not rest.empty:
            me = self.me
            pairs = [p for p in pairs if matches(p[0], rest, me)]
        self._last = (view, f, pairs)
        return [p[0] for p in pairs]
