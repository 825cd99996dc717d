"""The fold's merge rules, and that it is blind to delivery order and duplicates."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.domain.fold import fold
from console.domain.state import IncidentState
from sync.ops import Op
from tests.console.opfactory import OpFactory

T0 = 1_795_000_000_000
KINDS = ["retrigger", "ack", "unack", "escalate", "reassign", "note", "set_severity",
         "set_priority", "set_stage", "resolve", "reopen"]


def folded(ops: list[Op]) -> IncidentState:
    state = fold(ops)
    assert state is not None
    return state


def test_concurrent_reopens_of_one_epoch_collapse_into_one() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T0, e), f.op("a", T0 + 1, e, "resolve", {"epoch": 0}),
           f.op("b", T0 + 5, e, "reopen", {"epoch": 0}),
           f.op("c", T0 + 6, e, "reopen", {"epoch": 0})]
    state = folded(ops)
    assert (state.status.value, state.epoch) == ("triggered", 1)
    assert state.resolved_at is None


def test_an_ack_made_before_a_reopen_it_had_not_seen_changes_only_the_timeline() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T0, e), f.op("a", T0 + 1, e, "resolve", {"epoch": 0}),
           f.op("a", T0 + 2, e, "reopen", {"epoch": 0}),
           f.op("b", T0 + 3, e, "ack", {"epoch": 0}, actor="bob")]  # bob saw epoch 0 only
    state = folded(ops)
    assert state.status.value == "triggered" and state.epoch == 1
    assert (0, "bob") in state.acks and state.acknowledged_by is None


def test_status_never_goes_back_without_a_reopen() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T0, e), f.op("a", T0 + 1, e, "resolve", {"epoch": 0}),
           f.op("b", T0 + 2, e, "ack", {"epoch": 0})]
    state = folded(ops)
    assert state.status.value == "resolved"
    assert state.resolved_at == T0 + 1


def test_the_same_escalation_step_from_two_consoles_is_one_step_with_two_attempts() -> None:
    f = OpFactory()
    e = f.entity()
    step = {"epoch": 0, "loop": 0, "level": 2, "reason": "ack timeout"}
    state = folded([f.trigger("a", T0, e), f.op("a", T0 + 10, e, "escalate", step),
                    f.op("b", T0 + 11, e, "escalate", step)])
    assert len(state.steps) == 1
    assert [a.site for a in state.steps[0].attempts] == [f.site("a"), f.site("b")]
    assert state.escalation == (0, 2)


def test_a_later_write_wins_and_concurrent_writes_are_kept_as_a_conflict() -> None:
    f = OpFactory()
    e = f.entity()
    trig = f.trigger("a", T0, e)
    # Both saw only the trigger's value: concurrent.
    a = f.op("a", T0 + 10, e, "set_severity", {"severity": "sev1", "supersedes": [trig.op_id]})
    b = f.op("b", T0 + 20, e, "set_severity", {"severity": "sev3", "supersedes": [trig.op_id]})
    state = folded([b, a, trig])
    assert state.severity == "sev3"
    assert state.conflicts() == {"severity": ["sev3", "sev1"]}
    # A write that saw both settles it.
    c = f.op("c", T0 + 5_000, e, "set_severity",
             {"severity": "sev2", "supersedes": [a.op_id, b.op_id]})
    settled = folded([trig, a, b, c])
    assert settled.severity == "sev2" and settled.conflicts() == {}


def test_causally_later_write_wins_even_with_an_earlier_wall_clock() -> None:
    f = OpFactory()
    e = f.entity()
    trig = f.trigger("a", T0, e)
    a = f.op("a", T0 + 60_000, e, "set_stage", {"stage": "triage", "supersedes": [trig.op_id]})
    # b's wall clock is behind, but it had seen a's write: the HLC receive rule
    # stamps its op after a's (same wall ms, higher counter).
    b = f.op("b", T0 + 60_000, e, "set_stage", {"stage": "mitigating", "supersedes": [a.op_id]},
             counter=1)
    assert folded([b, trig, a]).stage == "mitigating"


def test_repeats_count_and_acks_assign() -> None:
    f = OpFactory()
    e = f.entity()
    state = folded([f.trigger("a", T0, e), f.op("a", T0 + 1, e, "retrigger", {}),
                    f.op("b", T0 + 2, e, "retrigger", {}),
                    f.op("b", T0 + 3, e, "ack", {"epoch": 0, "supersedes": []}, actor="bob")])
    assert state.alert_count == 3
    assert (state.assignee, state.acknowledged_by, state.acknowledged_at) == ("bob", "bob", T0 + 3)


def test_ops_without_their_trigger_fold_to_nothing() -> None:
    f = OpFactory()
    e = f.entity()
    assert fold([f.op("b", T0, e, "ack", {"epoch": 0})]) is None


@st.composite
def op_sets(draw: st.DrawFn) -> list[Op]:
    """A trigger and up to 25 random ops from three sites, each site's clock rising."""
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T0, e)]
    clocks = {"a": T0, "b": T0, "c": T0}
    for _ in range(draw(st.integers(0, 25))):
        letter = draw(st.sampled_from("abc"))
        clocks[letter] += draw(st.integers(0, 3_000))
        kind = draw(st.sampled_from(KINDS))
        seen = draw(st.lists(st.sampled_from([o.op_id for o in ops]), max_size=3, unique=True))
        payload: dict[str, Any] = {
            "retrigger": {},
            "ack": {"epoch": draw(st.integers(0, 2)), "supersedes": seen},
            "unack": {"epoch": draw(st.integers(0, 2))},
            "resolve": {"epoch": draw(st.integers(0, 2))},
            "reopen": {"epoch": draw(st.integers(0, 2))},
            "escalate": {"epoch": draw(st.integers(0, 2)), "loop": draw(st.integers(0, 1)),
                         "level": draw(st.integers(1, 3)), "reason": "timeout"},
            "reassign": {"team": draw(st.sampled_from(["db", "payments"])), "supersedes": seen},
            "note": {"text": draw(st.sampled_from(["rolled back", "paging db"]))},
            "set_severity": {"severity": draw(st.sampled_from(["sev1", "sev2", "sev4"])),
                             "supersedes": seen},
            "set_priority": {"priority": draw(st.sampled_from(["P1", "P3"])), "supersedes": seen},
            "set_stage": {"stage": draw(st.sampled_from(["triage", "monitoring"])),
                          "supersedes": seen},
        }[kind]
        ops.append(f.op(letter, clocks[letter], e, kind, payload,
                        actor=draw(st.sampled_from(["alice", "bob"])),
                        counter=draw(st.integers(0, 2))))
    return ops


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op_sets(), st.randoms(use_true_random=False))
def test_any_delivery_order_folds_to_the_same_state(ops: list[Op], rnd: Any) -> None:
    shuffled = list(ops)
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(ops)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op_sets(), st.data())
def test_applying_any_op_twice_equals_applying_it_once(ops: list[Op], data: st.DataObject) -> None:
    again = data.draw(st.lists(st.sampled_from(ops), max_size=10))
    assert fold(ops + again) == fold(ops)
