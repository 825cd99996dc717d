"""The outbox and dispatcher: retries with backoff, dead letters, merging, and crashes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from console.domain.timeline import describe
from console.notify.channels import Delivery, DeliveryFailed, Post
from console.notify.dispatcher import Dispatcher, DispatchReport
from console.notify.outbox import OUTBOX
from tests.engine.conftest import Rig


def rows(rig: Rig) -> list[tuple[object, ...]]:
    with rig.store.engine.connect() as conn:
        return [(r.person, r.channel, r.state, r.attempts)
                for r in conn.execute(select(OUTBOX).order_by(OUTBOX.c.id))]


def webhook_outcomes(rig: Rig, key: str) -> list[object]:
    return [p["outcome"] for k, p in rig.timeline(key) if k == "notify" and p["channel"] == "webhook"]


async def test_a_receiver_failing_three_times_gets_exactly_one_successful_delivery(rig: Rig) -> None:
    rig.receiver.fail_first = 3
    key = rig.trigger().state.key
    rig.tick()
    for attempt in range(1, 5):
        await rig.dispatcher.run_once(rig.clock.now)
        rig.clock.advance(seconds=rig.dispatcher.backoff.delay(attempt).total_seconds() - 1)
        await rig.dispatcher.run_once(rig.clock.now)  # not yet: the backoff has a second to go
        rig.clock.advance(seconds=1)
    assert rig.receiver.attempts == 4 and len(rig.receiver.ok()) == 1
    assert webhook_outcomes(rig, key) == ["failed", "failed", "failed", "sent"]
    assert ("alice", "webhook", "sent", 4) in rows(rig)
    # Nothing is sent again, however often the dispatcher runs.
    rig.clock.advance(hours=1)
    await rig.dispatcher.run_once(rig.clock.now)
    assert rig.receiver.attempts == 4


async def test_the_backoff_doubles_up_to_its_cap(rig: Rig) -> None:
    b = rig.dispatcher.backoff
    assert [b.delay(n) for n in (1, 2, 3, 4, 5)] == [timedelta(seconds=s) for s in (10, 20, 40, 60, 60)]


async def test_a_receiver_that_always_fails_ends_dead_lettered_and_visible(rig: Rig) -> None:
    rig.receiver.status = 500
    key = rig.trigger().state.key
    rig.tick()
    for _ in range(rig.dispatcher.backoff.attempts):
        await rig.dispatcher.run_once(rig.clock.now)
        rig.clock.advance(minutes=2)
    assert webhook_outcomes(rig, key) == ["failed", "failed", "failed", "dead"]
    assert ("alice", "webhook", "dead", 4) in rows(rig)
    lines = [describe(op) for op in rig.store.timeline(rig.store.get(key).id)]
    assert any(line.startswith("DEAD LETTER: gave up notifying alice by webhook") and "HTTP 500" in line
               for line in lines)
    assert any(t.event == "dead_letter" for t in rig.toasts)
    await rig.dispatcher.run_once(rig.clock.now + timedelta(hours=5))
    assert rig.receiver.attempts == 4


async def test_identical_pending_notifications_to_one_destination_are_merged(rig: Rig) -> None:
    """The engine was down past two deadlines: both levels page alice's webhook once."""
    key = rig.trigger().state.key
    rig.clock.advance(minutes=30)  # level 1, level 2 and the repeat are all overdue
    rig.tick()
    await rig.dispatcher.run_once(rig.clock.now)
    hooks = [h.json()["person"] for h in rig.receiver.ok()]
    assert hooks.count("alice") == 1 and hooks.count("bob") == 1
    merged = [p for k, p in rig.timeline(key) if k == "notify" and p.get("merged")]
    assert merged and merged[0]["person"] == "alice"


async def test_a_crash_between_decided_and_sent_sends_after_restart(rig: Rig) -> None:
    key = rig.trigger().state.key
    rig.tick()  # decided: outbox rows committed with the escalate op; the process "dies" here
    fresh = Dispatcher(rig.store, rig.dispatcher.channels, backoff=rig.dispatcher.backoff)
    await fresh.run_once(rig.clock.now)
    assert [h.json()["incident"]["key"] for h in rig.receiver.ok()] == [key]


async def test_a_crash_after_sent_does_not_send_the_row_again(rig: Rig) -> None:
    rig.trigger()
    rig.tick()
    await rig.dispatcher.run_once(rig.clock.now)
    fresh = Dispatcher(rig.store, rig.dispatcher.channels, backoff=rig.dispatcher.backoff)
    for _ in range(3):
        rig.clock.advance(minutes=10)
        await fresh.run_once(rig.clock.now)
    assert len([h for h in rig.receiver.ok() if h.json()["person"] == "alice"]) == 1


async def test_a_crash_in_mid_send_resends_with_the_same_delivery_id_after_the_claim(rig: Rig) -> None:
    """The one window: claimed, then the process died before recording. Never zero pages."""
    rig.trigger()
    rig.tick()
    claimed = rig.dispatcher._claim(rig.clock.now, None, DispatchReport())
    ids = {c.delivery.id for c in claimed if c.delivery.channel == "webhook"}
    await rig.dispatcher.run_once(rig.clock.now + timedelta(seconds=30))
    assert rig.receiver.ok() == []  # still claimed by the dead process
    await rig.dispatcher.run_once(rig.clock.now + rig.dispatcher.claim_for)
    assert {h.headers["X-Sunrelay-Delivery"] for h in rig.receiver.ok()} == ids


async def test_a_console_page_is_delivered_and_recorded_in_the_claims_transaction(rig: Rig) -> None:
    """In-process channels skip the claim: one pass leaves the console row sent (attempt 1,
    no claim held) with its notify op, while the webhook row goes the claimed way."""
    key = rig.trigger().state.key
    rig.tick()
    claimed = rig.dispatcher._claim(rig.clock.now, None, report := DispatchReport())
    assert [c.delivery.channel for c in claimed] == ["webhook"]
    assert report.sent == 1 and [t.key for t in rig.toasts] == [key]
    assert ("alice", "console", "sent", 1) in rows(rig)
    with rig.store.engine.connect() as conn:
        held = conn.execute(select(OUTBOX.c.claimed_until).where(OUTBOX.c.channel == "console")).scalar()
    assert held is None
    assert [(p["channel"], p["outcome"], p["attempt"]) for k, p in rig.timeline(key) if k == "notify"] \
        == [("console", "sent", 1)]


class _Refusing:
    """An in-process channel that cannot deliver the first `failures` times."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.delivered: list[str] = []

    async def send(self, delivery: Delivery) -> None:
        self.prepare(delivery)()

    def prepare(self, delivery: Delivery) -> Post:
        if self.failures:
            self.failures -= 1
            raise DeliveryFailed("no console is listening")
        return lambda: self.delivered.append(delivery.id)


async def test_an_in_process_delivery_that_fails_is_retried_with_backoff(rig: Rig) -> None:
    refusing = _Refusing(failures=1)
    dispatcher = Dispatcher(rig.store, {**rig.dispatcher.channels, "console": refusing},
                            backoff=rig.dispatcher.backoff)
    key = rig.trigger().state.key
    rig.tick()
    assert (await dispatcher.run_once(rig.clock.now)).failed == 1
    assert ("alice", "console", "pending", 1) in rows(rig)
    await dispatcher.run_once(rig.clock.now)  # not due again before the backoff
    assert refusing.delivered == []
    rig.clock.advance(seconds=10)
    assert (await dispatcher.run_once(rig.clock.now)).sent == 1
    assert len(refusing.delivered) == 1 and ("alice", "console", "sent", 2) in rows(rig)
    assert [(p["outcome"], p["attempt"]) for k, p in rig.timeline(key)
            if k == "notify" and p["channel"] == "console"] == [("failed", 1), ("sent", 2)]
