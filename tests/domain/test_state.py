"""IncidentState keeps the trigger's heads once (`trigger`) and the heads written
since (`written`); `heads` gives every single-valued field's heads as before."""

from __future__ import annotations

from console.domain.fold import fold
from console.domain.state import SINGLE_VALUED, Head, IncidentState
from sync.ops import Op
from tests.console.opfactory import OpFactory
from tests.console.test_fold import T0


def _folded(*ops: Op) -> IncidentState:
    state = fold(ops)
    assert state is not None
    return state


def test_a_fresh_incident_has_one_head_per_field_the_triggers_write() -> None:
    f = OpFactory()
    trigger = f.trigger("a", T0, f.entity(), team="db")
    state = _folded(trigger)
    assert state.written == {} and not state.conflicted
    assert state.heads == {name: [Head(trigger.op_id, getattr(state, name), trigger.site, "alice")]
                           for name in SINGLE_VALUED}
    assert state.head_ids("team", "stage") == [trigger.op_id, trigger.op_id]


def test_writes_keep_their_own_heads_and_a_concurrent_one_is_a_conflict() -> None:
    f = OpFactory()
    e = f.entity()
    trigger = f.trigger("a", T0, e)
    stage = f.op("b", T0 + 1, e, "set_stage", {"stage": "triage", "supersedes": [trigger.op_id]})
    blind = f.op("c", T0 + 2, e, "set_severity", {"severity": "sev1", "supersedes": []})
    state = _folded(trigger, stage, blind)
    assert set(state.written) == {"stage", "severity"}
    assert state.heads["stage"] == [Head(stage.op_id, "triage", stage.site, "alice")]
    # The write that had not seen the trigger's leaves both heads: a conflict.
    assert [h.value for h in state.heads["severity"]] == ["sev2", "sev1"]
    assert state.conflicted and state.conflicts() == {"severity": ["sev1", "sev2"]}
    assert state.heads["title"] == [Head(trigger.op_id, "db down", trigger.site, "alice")]


def test_a_copy_changes_apart_from_its_original() -> None:
    f = OpFactory()
    e = f.entity()
    trigger = f.trigger("a", T0, e)
    state = _folded(trigger, f.op("b", T0 + 1, e, "set_stage", {"stage": "triage",
                                                                  "supersedes": [trigger.op_id]}))
    copy = state.copy()
    assert copy == state and copy is not state
    copy.written["stage"].append(Head("x", "monitoring", "s", "bob"))
    copy.labels["region"] = "ber"
    copy.acks.append((0, "bob"))
    assert len(state.written["stage"]) == 1 and copy != state
    assert state.labels == {} and state.acks == []
