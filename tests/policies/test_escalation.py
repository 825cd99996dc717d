"""`due`: every action kind, skip-empty, repeat-from-level, idempotency."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from policies import (
    Escalate,
    Exhausted,
    IncidentView,
    PolicySet,
    RaiseUrgency,
    RetriggerStaleAck,
    SlaBreach,
    SlaWarning,
    due,
)
from policies.escalation import Action
from policies.simulate import _record
from policies.timeutil import parse_instant

from .conftest import PEOPLE

POLICIES = PEOPLE + """
[[schedules]]
id = "office"
time_zone = "Europe/Berlin"

[[schedules.layers]]
rotation = "weekly"
start = 2026-01-05
members = ["bob"]
restrictions = [{ days = ["mon", "tue", "wed", "thu", "fri"], from = "09:00", to = "17:00" }]

[[calendars]]
id = "office-hours"
time_zone = "Europe/Berlin"
hours = [{ days = ["mon", "tue", "wed", "thu", "fri"], from = "09:00", to = "17:00" }]

[[escalation_policies]]
id = "main"
repeat = 1
repeat_from_level = 2
ack_timeout = "30m"

[[escalation_policies.levels]]
targets = ["person:alice"]
delay = { sev1 = "5m", default = "10m" }

[[escalation_policies.levels]]
targets = ["schedule:office"]
delay = "10m"

[[escalation_policies.levels]]
targets = ["person:carol", "person:dave"]
delay = "10m"
condition = "not_resolved"

[[escalation_policies]]
id = "skip"
skip_empty_levels = true
repeat = 1
repeat_from_level = 2
levels = [
  { targets = ["person:alice"], delay = "5m" },
  { targets = ["schedule:office"], delay = "10m" },
  { targets = ["person:carol"], delay = "10m" },
]

[[escalation_policies]]
id = "fallback"
on_exhausted = "fallback"
fallback = "dave"
levels = [{ targets = ["person:alice"], delay = "10m" }]

[[escalation_policies]]
id = "keep"
on_exhausted = "keep_last"
levels = [{ targets = ["person:alice"], delay = "10m" }, { targets = ["person:bob"], delay = "15m" }]

[[escalation_policies]]
id = "low"
support_hours = "office-hours"
levels = [{ targets = ["person:alice"], delay = "10m" }]

[[sla]]
priority = "P1"
ack = "5m"
resolve = "1h"
update_interval = "20m"
warn_at = 0.8

[[maintenance]]
id = "mw"
services = ["db"]
start = "2026-12-08 03:10 Europe/Berlin"
end = "2026-12-08 03:30 Europe/Berlin"
"""

NIGHT = parse_instant("2026-12-08 03:00 Europe/Berlin")  # Tuesday night: office schedule empty
DAY = parse_instant("2026-12-08 11:00 Europe/Berlin")


@pytest.fixture
def ps(make_ps: Callable[..., PolicySet]) -> PolicySet:
    return make_ps(POLICIES)


def view(policy: str, at: datetime = NIGHT, **kw: object) -> IncidentView:
    base = IncidentView(id="i", key="K-1", service="web", severity="sev1", priority=None,
                        status="triggered", created_at=at, policy=policy)
    return replace(base, **kw)  # type: ignore[arg-type]


def run(v: IncidentView, ps: PolicySet, minutes: int) -> tuple[list[tuple[int, Action]], IncidentView]:
    """Drive `due` like the engine: jump to next_due_at, record everything returned."""
    out: list[tuple[int, Action]] = []
    t = v.created_at
    end = v.created_at + timedelta(minutes=minutes)
    while True:
        r = due(v, ps, t)
        for a in r.actions:
            out.append((int((t - v.created_at).total_seconds() // 60), a))
            v = _record(v, a)
        if r.actions:
            continue
        if r.next_due_at is None or r.next_due_at > end:
            return out, v
        t = r.next_due_at


def steps(actions: list[tuple[int, Action]]) -> list[tuple[int, tuple[int, int], tuple[str, ...]]]:
    return [(m, a.step, a.people) for m, a in actions if isinstance(a, Escalate)]


def test_escalation_repeat_from_level_and_exhaustion(ps: PolicySet) -> None:
    acts, _ = run(view("main"), ps, 120)
    assert steps(acts) == [
        (0, (0, 0), ("alice",)),
        (5, (0, 1), ()),  # nobody on the office schedule at night: waits its delay anyway
        (15, (0, 2), ("carol", "dave")),
        (25, (1, 1), ()),  # the repeat starts at level 2
        (35, (1, 2), ("carol", "dave")),
    ]
    ex = [(m, a) for m, a in acts if isinstance(a, Exhausted)]
    assert [(m, a.mode) for m, a in ex] == [(45, "stop")]


def test_skip_empty_level_instead_of_waiting(ps: PolicySet) -> None:
    acts, _ = run(view("skip"), ps, 120)
    assert steps(acts) == [(0, (0, 0), ("alice",)), (5, (0, 2), ("carol",)), (15, (1, 2), ("carol",))]
    # by day the schedule has someone and the level is paged normally
    acts, _ = run(view("skip", DAY), ps, 120)
    assert steps(acts)[:3] == [(0, (0, 0), ("alice",)), (5, (0, 1), ("bob",)), (15, (0, 2), ("carol",))]


def test_due_is_idempotent_and_reports_next_instant(ps: PolicySet) -> None:
    v = view("main")
    first = due(v, ps, NIGHT)
    assert [type(a) for a in first.actions] == [Escalate]
    assert due(v, ps, NIGHT).actions == first.actions  # not recorded yet: same answer
    v = _record(v, first.actions[0])
    again = due(v, ps, NIGHT + timedelta(minutes=2))
    assert again.actions == [] and again.next_due_at == NIGHT + timedelta(minutes=5)
    # several overdue steps (the engine was down) are all returned, in order
    late = due(v, ps, NIGHT + timedelta(minutes=16))
    assert [a.step for a in late.actions if isinstance(a, Escalate)] == [(0, 1), (0, 2)]
    # timing continues from when a step was actually taken
    v2 = replace(v, steps_taken={(0, 0): NIGHT, (0, 1): NIGHT + timedelta(minutes=8)})
    assert due(v2, ps, NIGHT + timedelta(minutes=9)).next_due_at == NIGHT + timedelta(minutes=18)


def test_ack_stops_escalation_unless_the_level_says_not_resolved(ps: PolicySet) -> None:
    v = view("main", steps_taken={(0, 0): NIGHT}, status="acknowledged",
             acknowledged_at=NIGHT + timedelta(minutes=1))
    assert [a for a in due(v, ps, NIGHT + timedelta(minutes=20)).actions
            if isinstance(a, Escalate)] == []
    # level 3 escalates "if not resolved": an ack does not stop it
    taken = {(0, 0): NIGHT, (0, 1): NIGHT + timedelta(minutes=5), (0, 2): NIGHT + timedelta(minutes=15)}
    v = replace(v, steps_taken=taken, acknowledged_at=NIGHT + timedelta(minutes=16))
    got = [a.step for a in due(v, ps, NIGHT + timedelta(minutes=25)).actions if isinstance(a, Escalate)]
    assert got == [(1, 1)]
    assert due(replace(v, status="resolved"), ps, NIGHT + timedelta(hours=5)) .actions == []


def test_stale_ack_is_retriggered(ps: PolicySet) -> None:
    acked = NIGHT + timedelta(minutes=2)
    v = view("main", steps_taken={(0, 0): NIGHT}, status="acknowledged", acknowledged_at=acked)
    r = due(v, ps, acked + timedelta(minutes=29))
    assert r.actions == [] and r.next_due_at == acked + timedelta(minutes=30)
    r = due(v, ps, acked + timedelta(minutes=30))
    assert r.actions == [RetriggerStaleAck(0, acked + timedelta(minutes=30), acked)]
    v = _record(v, r.actions[0])
    assert v.epoch == 1 and v.status == "triggered" and v.steps_taken == {}
    again = due(v, ps, acked + timedelta(minutes=30))
    assert [a.key for a in again.actions] == ["escalate:1:0:0"]


def test_sla_warning_breach_and_update_reminders(ps: PolicySet) -> None:
    v = view("main", priority="P1")
    acts, v = run(v, ps, 45)
    kinds = [(m, type(a).__name__, getattr(a, "kind", "")) for m, a in acts
             if not isinstance(a, Escalate)]
    assert (4, "SlaWarning", "ack") in kinds and (5, "SlaBreach", "ack") in kinds
    assert (20, "UpdateReminder", "") in kinds and (40, "UpdateReminder", "") in kinds
    assert (48, "SlaWarning", "resolve") not in kinds  # beyond the 45 minutes driven
    assert sum(1 for _, a in acts if isinstance(a, SlaBreach)) == 1  # recorded: never twice
    r = due(v, ps, NIGHT + timedelta(minutes=48))
    assert SlaWarning("resolve", NIGHT + timedelta(minutes=48), NIGHT + timedelta(hours=1)) in r.actions
    # an update resets the reminder; an ack stops the ack clock
    v2 = view("main", priority="P1", last_update_at=NIGHT + timedelta(minutes=15),
              status="acknowledged", acknowledged_at=NIGHT + timedelta(minutes=1))
    r = due(v2, ps, NIGHT + timedelta(minutes=30))
    assert r.actions == []  # acknowledged before any page: no first page either
    assert r.next_due_at == NIGHT + timedelta(minutes=31)  # the stale-ack re-trigger


def test_exhausted_with_fallback_pages_the_fallback(ps: PolicySet) -> None:
    acts, _ = run(view("fallback"), ps, 60)
    ex = [a for _, a in acts if isinstance(a, Exhausted)]
    assert len(ex) == 1 and ex[0].mode == "fallback" and ex[0].at == NIGHT + timedelta(minutes=10)
    assert {p.person for p in ex[0].targets} == {"dave"}


def test_keep_last_repeats_the_last_level(ps: PolicySet) -> None:
    acts, _ = run(view("keep"), ps, 60)
    assert [(m, s) for m, s, _ in steps(acts)] == [
        (0, (0, 0)), (10, (0, 1)), (25, (1, 1)), (40, (2, 1)), (55, (3, 1))]
    assert [m for m, a in acts if isinstance(a, Exhausted)] == [25]
    # after a long outage only the latest repeat pages
    v = view("keep", steps_taken={(0, 0): NIGHT, (0, 1): NIGHT + timedelta(minutes=10)},
             recorded=frozenset({"exhausted:0"}))
    got = [a.step for a in due(v, ps, NIGHT + timedelta(minutes=60)).actions]
    assert got == [(3, 1)]


def test_low_urgency_notifies_then_support_hours_raise_it(ps: PolicySet) -> None:
    v = view("low", urgency="low")
    r = due(v, ps, NIGHT)
    assert len(r.actions) == 1 and isinstance(r.actions[0], Escalate) and r.actions[0].notify_only
    assert {p.channel for p in r.actions[0].targets} == {"console"}  # low rules: console only
    v = _record(v, r.actions[0])
    opens = parse_instant("2026-12-08 09:00 Europe/Berlin")
    r = due(v, ps, NIGHT + timedelta(hours=1))
    assert r.actions == [] and r.next_due_at == opens
    r = due(v, ps, opens)
    assert r.actions == [RaiseUrgency(0, opens)]
    v = _record(v, r.actions[0])
    assert v.urgency == "high" and v.epoch == 1
    assert [a.key for a in due(v, ps, opens).actions] == ["escalate:1:0:0"]


def test_maintenance_suppresses_paging(ps: PolicySet) -> None:
    # steps due inside the window (03:10-03:30) are not paged; later ones are
    acts, _ = run(view("main", service="db"), ps, 60)
    assert [m for m, _, _ in steps(acts)] == [0, 5, 35]
    # an incident created inside a record-only window never pages
    inside = NIGHT + timedelta(minutes=15)
    acts, _ = run(view("main", inside, service="db"), ps, 120)
    assert steps(acts) == []
