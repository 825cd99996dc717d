"""The engine end to end on a real store: routed, paged, escalated, repeated, stopped."""

from __future__ import annotations

import time

from console.domain import commands
from console.domain.timeline import describe
from console.notify.channels import SIGNATURE_HEADER, verify
from tests.engine.conftest import SECRET, T0, Rig


def steps(rig: Rig, key: str) -> list[tuple[int, int, int]]:
    return [(p["epoch"], p["loop"], p["level"]) for k, p in rig.timeline(key) if k == "escalate"]  # type: ignore[misc]


def notified(rig: Rig, key: str) -> list[tuple[object, ...]]:
    return [(p["person"], p["channel"], p["outcome"]) for k, p in rig.timeline(key) if k == "notify"]


async def test_a_routed_sev1_pages_level_one_escalates_repeats_and_stops_at_the_ack(rig: Rig) -> None:
    key = rig.trigger().state.key
    await rig.run()
    assert steps(rig, key) == [(0, 0, 1)]
    assert sorted(notified(rig, key)) == [("alice", "console", "sent"), ("alice", "webhook", "sent")]
    assert [t.person for t in rig.toasts] == ["alice"] and rig.toasts[0].bell

    rig.clock.advance(minutes=4, seconds=59)
    await rig.run()
    assert steps(rig, key) == [(0, 0, 1)]  # the sev1 delay of level 1 is 5 minutes

    rig.clock.advance(seconds=1)
    await rig.run()
    assert steps(rig, key) == [(0, 0, 1), (0, 0, 2)]
    assert ("bob", "console", "sent") in notified(rig, key)
    assert ("bob", "webhook", "sent") not in notified(rig, key)  # his webhook rule waits 2 minutes
    rig.clock.advance(minutes=2)
    await rig.run()
    assert ("bob", "webhook", "sent") in notified(rig, key)

    rig.clock.advance(minutes=8)  # level 2's 10 minutes: the repeat loop starts at level 1
    await rig.run()
    assert steps(rig, key) == [(0, 0, 1), (0, 0, 2), (0, 1, 1)]

    rig.clock.advance(minutes=1)
    rig.store.act(key, "alice", commands.ack)
    rig.clock.advance(hours=3)
    await rig.run()
    assert steps(rig, key) == [(0, 0, 1), (0, 0, 2), (0, 1, 1)]
    assert rig.store.find(key).next_due_at is None

    # Every page arrived signed, and the timeline says who was told, how, and the outcome.
    hooks = rig.receiver.ok()
    assert len(hooks) == 3  # alice, bob, alice again
    for hook in hooks:
        assert verify(SECRET, hook.headers[SIGNATURE_HEADER], hook.body, now=time.time())
    lines = [describe(op) for op in rig.store.timeline(rig.store.get(key).id)]
    assert "notified alice by webhook " + rig.receiver.url in lines
    assert any(line.startswith("escalated to level 2: paged bob") for line in lines)


async def test_an_ack_before_a_delayed_page_cancels_it(rig: Rig) -> None:
    key = rig.trigger().state.key
    await rig.run()
    rig.clock.advance(minutes=5)
    await rig.run()  # level 2: bob's console now, his webhook in 2 minutes
    rig.clock.advance(minutes=1)
    rig.store.act(key, "bob", commands.ack)
    rig.clock.advance(minutes=2)
    await rig.run()
    assert ("bob", "webhook", "cancelled") in notified(rig, key)
    assert ("bob", "webhook", "sent") not in notified(rig, key)


async def test_a_stale_ack_retriggers_a_new_epoch_that_pages_level_one_again(rig: Rig) -> None:
    key = rig.trigger(service="web").state.key
    rig.store.act(key, "test", lambda s: commands.reassign(s, policy="stale"))
    await rig.run()
    rig.clock.advance(minutes=1)
    rig.store.act(key, "alice", commands.ack)
    await rig.run()
    rig.clock.advance(minutes=29, seconds=59)
    await rig.run()
    assert rig.store.get(key).epoch == 0
    rig.clock.advance(seconds=1)
    await rig.run()
    state = rig.store.get(key)
    assert (state.epoch, state.status.value) == (1, "triggered")
    assert steps(rig, key)[-1] == (1, 0, 1)
    assert rig.toasts[-1].person == "alice"


async def test_sla_warning_and_breach_are_recorded_once_and_toasted(rig: Rig) -> None:
    key = rig.trigger(severity="sev1", customer="x").state.key  # sev1/high impact: P1, ack SLA 15m
    assert rig.store.get(key).priority == "P1"
    await rig.run()
    rig.clock.advance(minutes=12)
    await rig.run()
    rig.clock.advance(minutes=3)
    await rig.run()
    await rig.run()
    notices = [p["what"] for k, p in rig.timeline(key) if k == "notice"]
    assert notices == ["sla_warning", "sla_breach"]
    assert {"sla_warning", "sla_breach"} <= {t.event for t in rig.toasts}


async def test_an_idle_tick_writes_nothing(rig: Rig) -> None:
    rig.trigger()
    await rig.run()
    rig.engine.tick(rig.clock.now)  # moves the cursor past the dispatcher's notify ops
    ops = rig.store.count_ops()
    report = rig.engine.tick(rig.clock.now)
    assert report.idle and rig.store.count_ops() == ops
    assert report.next_due_at == T0.replace(minute=5)


async def test_a_repeat_alert_does_not_make_the_engine_look_again(rig: Rig) -> None:
    """A retrigger only counts an alert: the plan and its deadline stay as they were."""
    key = rig.trigger().state.key
    await rig.run()
    rig.engine.tick(rig.clock.now)  # moves the cursor past the dispatcher's notify ops
    due = rig.store.find(key).next_due_at
    assert rig.trigger().state.alert_count == 2
    rig.clock.advance(seconds=1)
    report = rig.engine.tick(rig.clock.now)
    assert report.looked == 0 and rig.store.find(key).next_due_at == due


async def test_a_person_acting_in_another_process_is_noticed_through_the_op_log(rig: Rig) -> None:
    """An ack recorded without the engine knowing re-checks the incident on the next tick."""
    key = rig.trigger().state.key
    await rig.run()
    assert rig.store.find(key).next_due_at is not None
    rig.store.act(key, "alice", commands.ack)
    rig.clock.advance(seconds=1)
    report = rig.engine.tick(rig.clock.now)
    assert report.looked == 1
    assert rig.store.find(key).next_due_at is None
