"""The runner on a real store with injected time: draft, automatic send, escalation, settle."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from console.handoff import store as handoffs
from console.handoff.runner import HandoffRunner
from console.notify.bus import Bus
from console.notify.channels import ConsoleChannel, WebhookChannel
from console.notify.dispatcher import Dispatcher
from console.store.store import Store
from policies import PolicySet
from tests.handoff.conftest import Clock, load, policy_text
from tests.notify.servers import WebhookReceiver


@pytest.fixture
def paging_ps(tmp_path: Path, receiver: WebhookReceiver) -> PolicySet:
    return load(tmp_path / "paging", policy_text(receiver.url))


def test_the_draft_appears_draft_before_the_hand_off(store: Store, clock: Clock, ps: PolicySet) -> None:
    runner = HandoffRunner(store, lambda: ps, regions=["jakarta"])
    clock.at(8, 29, 59)
    assert runner.tick(clock.now).drafted == 0
    clock.at(8, 30)
    assert runner.tick(clock.now).drafted == 1
    assert runner.tick(clock.now).drafted == 0  # one draft per shift
    [row] = handoffs.handoffs(store)
    assert (row.status, row.drafted_by, row.to_region) == ("draft", "handoff", "berlin")


def test_a_region_this_console_does_not_speak_for_gets_no_draft(store: Store, clock: Clock,
                                                                ps: PolicySet) -> None:
    runner = HandoffRunner(store, lambda: ps, regions=["berlin"])
    runner.tick(clock.at(8, 45))
    assert handoffs.handoffs(store) == []


def test_an_unsent_draft_goes_out_automatically_at_shift_end(store: Store, clock: Clock,
                                                             ps: PolicySet) -> None:
    runner = HandoffRunner(store, lambda: ps, regions=["jakarta"])
    runner.tick(clock.at(8, 40))
    [row] = handoffs.handoffs(store)
    handoffs.edit(store, row.id, "ayu", row.markdown + "\nWatch the checkout canary.\n")
    clock.at(8, 59, 59)
    assert runner.tick(clock.now).sent == 0
    clock.at(9, 0)
    assert runner.tick(clock.now).sent == 1
    row = handoffs.get(store, row.id[-8:])
    assert (row.status, row.automatic, row.sent_by) == ("sent", True, "handoff")
    assert row.markdown.endswith("Watch the checkout canary.\n")  # the draft as edited
    assert runner.tick(clock.advance(minutes=1)).sent == 0


def test_a_handoff_sent_by_hand_is_not_sent_again(store: Store, clock: Clock, ps: PolicySet) -> None:
    runner = HandoffRunner(store, lambda: ps, regions=["jakarta"])
    runner.tick(clock.at(8, 40))
    [row] = handoffs.handoffs(store)
    handoffs.send(store, row.id, "ayu")
    assert runner.tick(clock.at(9, 5)).sent == 0
    assert handoffs.get(store, row.id).automatic is False


def test_a_missed_hand_off_is_drafted_and_sent_at_once(store: Store, clock: Clock, ps: PolicySet) -> None:
    """The console was down through the draft window: within the lookback it still hands over."""
    report = HandoffRunner(store, lambda: ps, regions=["jakarta"]).tick(clock.at(9, 20))
    assert (report.drafted, report.sent) == (1, 1)


async def test_an_unacknowledged_handoff_pages_the_incoming_lead_on_time(
        store: Store, clock: Clock, paging_ps: PolicySet, receiver: WebhookReceiver) -> None:
    runner = HandoffRunner(store, lambda: paging_ps, regions=["jakarta"])
    bus = Bus()
    toasts: list[object] = []
    bus.subscribe(toasts.append)
    async with httpx.AsyncClient(timeout=5) as client:
        dispatcher = Dispatcher(store, {"console": ConsoleChannel(bus),
                                        "webhook": WebhookChannel(client, b"secret")}, bus=bus)
        runner.tick(clock.at(8, 30))
        [row] = handoffs.handoffs(store)
        clock.at(9, 0)
        handoffs.send(store, row.id, "ayu")
        clock.advance(minutes=19, seconds=59)
        assert runner.tick(clock.now).escalated == 0
        clock.advance(seconds=1)  # ack_timeout is 20 minutes
        assert runner.tick(clock.now).escalated == 1
        assert runner.tick(clock.advance(minutes=5)).escalated == 0  # once
        row = handoffs.get(store, row.id)
        assert row.escalated_to == ["lena"]
        incident = store.get(str(row.escalation_incident))
        assert (incident.title, incident.status.value) == ("Handoff jakarta → berlin not acknowledged",
                                                           "triggered")
        await dispatcher.run_once(clock.now)
        notified = [(op.payload["person"], op.payload["channel"], op.payload["outcome"])
                    for op in store.timeline(incident.id) if op.kind == "notify"]
        assert sorted(notified) == [("lena", "console", "sent"), ("lena", "webhook", "sent")]
        assert len(receiver.ok()) == 1 and len(toasts) == 1

        clock.advance(minutes=1)
        handoffs.ack(store, row.id, "anna")
        assert runner.tick(clock.now).settled == 1
        assert store.get(incident.id).status.value == "resolved"
        assert runner.tick(clock.now + timedelta(seconds=5)).settled == 0
