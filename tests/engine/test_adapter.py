"""The ops -> IncidentView adapter (level numbering, epochs, recorded keys) and the new op kinds."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from console.domain.fold import fold
from console.domain.timeline import describe
from console.engine.adapter import adapt, to_datetime, to_ms
from tests.console.opfactory import OpFactory

T = to_ms(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))
MIN = 60_000


def test_console_levels_count_from_one_and_policy_steps_from_zero() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T, e, policy="web"),
           f.op("a", T + 1, e, "escalate", {"epoch": 0, "loop": 0, "level": 1, "at_ms": T}),
           f.op("a", T + 5 * MIN, e, "escalate", {"epoch": 0, "loop": 0, "level": 2}),
           f.op("a", T + 9 * MIN, e, "escalate", {"epoch": 0, "loop": 1, "level": 3, "reason": "by hand"})]
    view = adapt(ops)
    assert view is not None
    assert dict(view.view.steps_taken) == {
        (0, 0): to_datetime(T), (0, 1): to_datetime(T + 5 * MIN), (1, 2): to_datetime(T + 9 * MIN)}
    assert (view.view.loop, view.view.level) == (1, 2)
    # ...and the console's own view of the same ops says level 3 of loop 1.
    assert view.state.escalation == (1, 3)


def test_a_step_escalated_on_two_consoles_counts_from_the_earlier_attempt() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T, e), f.op("b", T + 2000, e, "escalate", {"epoch": 0, "loop": 0, "level": 1}),
           f.op("a", T + 1000, e, "escalate", {"epoch": 0, "loop": 0, "level": 1})]
    adapted = adapt(ops)
    assert adapted is not None and adapted.view.steps_taken == {(0, 0): to_datetime(T + 1000)}


def test_a_new_epoch_starts_empty_at_the_op_that_opened_it() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T, e),
           f.op("a", T + 1, e, "escalate", {"epoch": 0, "loop": 0, "level": 1}),
           f.op("a", T + MIN, e, "ack", {"epoch": 0, "supersedes": []}),
           f.op("a", T + 31 * MIN, e, "unack", {"epoch": 0, "key": "retrigger:0", "at_ms": T + 30 * MIN,
                                                 "reason": "stale"})]
    adapted = adapt(ops)
    assert adapted is not None
    v = adapted.view
    assert (v.epoch, v.status, v.steps_taken) == (1, "triggered", {})
    assert v.epoch_started_at == to_datetime(T + 30 * MIN)
    assert v.recorded == frozenset({"retrigger:0"})


def test_urgency_low_then_raised_to_high_in_a_new_epoch() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T, e), f.op("a", T + 1, e, "set_urgency", {"urgency": "low"})]
    low = adapt(ops)
    assert low is not None and (low.view.urgency, low.view.epoch) == ("low", 0)
    ops.append(f.op("a", T + 60 * MIN, e, "set_urgency", {"urgency": "high", "epoch": 0,
                                                          "key": "raise-urgency:0", "at_ms": T + 59 * MIN}))
    high = adapt(ops)
    assert high is not None
    assert (high.view.urgency, high.view.epoch, high.view.epoch_started_at) == (
        "high", 1, to_datetime(T + 59 * MIN))
    assert "raise-urgency:0" in high.view.recorded


def test_notes_and_stages_are_status_updates_and_pause_stages_pause() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T, e), f.op("a", T + MIN, e, "set_stage", {"stage": "waiting", "supersedes": []}),
           f.op("a", T + 3 * MIN, e, "set_stage", {"stage": "investigating", "supersedes": []}),
           f.op("a", T + 4 * MIN, e, "note", {"text": "found it"})]
    adapted = adapt(ops, pause_stages=("waiting",))
    assert adapted is not None
    assert adapted.view.paused == ((to_datetime(T + MIN), to_datetime(T + 3 * MIN)),)
    assert adapted.view.last_update_at == to_datetime(T + 4 * MIN)


def test_engine_kinds_fold_order_insensitively_and_change_only_what_they_say() -> None:
    f = OpFactory()
    e = f.entity()
    ops = [f.trigger("a", T, e),
           f.op("a", T + 1, e, "set_urgency", {"urgency": "low"}),
           f.op("a", T + 2, e, "notice", {"what": "sla_warning", "key": "sla-warning:ack", "sla": "ack",
                                         "due_at": "2026-03-02 10:15Z"}),
           f.op("b", T + 3, e, "notify", {"person": "ayu", "channel": "webhook", "outcome": "dead",
                                         "attempt": 6, "error": "HTTP 500", "address": "https://x"}),
           f.op("b", T + 4, e, "set_urgency", {"urgency": "high", "epoch": 0, "key": "raise-urgency:0"}),
           f.op("a", T + 5, e, "set_urgency", {"urgency": "high", "epoch": 0, "key": "raise-urgency:0"})]
    reference = fold(ops)
    assert reference is not None and reference.epoch == 1  # two raises of epoch 0 collapse into one
    for seed in range(20):
        shuffled = ops[:]
        random.Random(seed).shuffle(shuffled)
        assert fold(shuffled + shuffled[:2]) == reference
    lines = [describe(op) for op in ops]
    assert lines[1] == "urgency low"
    assert lines[2] == "SLA warning: ack due at 2026-03-02 10:15Z"
    assert lines[3] == "DEAD LETTER: gave up notifying ayu by webhook https://x (attempt 6): HTTP 500"
