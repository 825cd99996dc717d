"""The engine's turn inside ingest's group transactions: new incidents paged (console pages
delivered) in the commit that opens them, only by the lease holder, and never at the cost of
an event's commit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

import policies
from console.domain.vocabulary import Kind
from console.engine import queries
from console.engine.cycle import Engine
from console.engine.incidents import open_or_repeat
from console.engine.lease import SqliteLease, elector_for
from console.engine.runner import EngineRunner
from console.ingest.commit import GroupCommitter
from console.notify.bus import Bus, ConsoleNotice
from console.notify.channels import ConsoleChannel
from console.notify.dispatcher import Dispatcher
from console.notify.outbox import OUTBOX, Notification, insert, message
from console.store.store import Store, Triggered, Writes
from tests.engine.conftest import Clock, load_policies, policy_text

CONSOLE_ONLY = policy_text().replace('{ channel = "webhook" }', '{ channel = "console" }')
TTL = timedelta(seconds=15)


@dataclass
class Writer:
    store: Store
    ps: policies.PolicySet
    clock: Clock
    committer: GroupCommitter
    runner: EngineRunner
    toasts: list[ConsoleNotice]

    async def alert(self, summary: str) -> Triggered:
        """What ingest does with a trigger event: route it, then open it in a group transaction."""
        alert = policies.Alert(service="web", severity="sev1", summary=summary)
        decision = policies.route(alert, self.ps, self.clock.now)

        def work(w: Writes) -> Triggered:
            return open_or_repeat(w, "events-v2:web", alert=alert, decision=decision,
                                  dedup_key=summary, now=self.clock.now)
        return await self.committer.submit(work)

    def outbox(self, incident_id: str) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(OUTBOX)
                                    .where(OUTBOX.c.incident_id == incident_id)).scalar_one())

    def states(self, incident_id: str) -> list[str]:
        with self.store.engine.connect() as conn:
            return list(conn.execute(select(OUTBOX.c.state).where(OUTBOX.c.incident_id == incident_id)
                                     .order_by(OUTBOX.c.id)).scalars())


@contextlib.asynccontextmanager
async def leading(tmp_path: Path, url: str | None = None, gap: float = 3600) -> AsyncIterator[Writer]:
    """A writer thread and an elected runner that ticks once, then only when woken (at most
    every `gap` seconds); the store at `url`, or a SQLite file with the expiring lease."""
    clock = Clock()
    store = Store.open(url or f"sqlite:///{tmp_path / 'store.db'}", site_name="JKT", physical=clock.ms)
    ps = load_policies(tmp_path / "policies", CONSOLE_ONLY)
    committer = GroupCommitter(store)
    elector = elector_for(store.engine, TTL) if url else SqliteLease(store.engine, TTL)
    bus = Bus()
    toasts: list[ConsoleNotice] = []
    bus.subscribe(toasts.append)
    runner = EngineRunner(Engine(store, lambda: ps), Dispatcher(store, {"console": ConsoleChannel(bus)}),
                          elector, clock=lambda: clock.now, interval=3600, renew_every=3600, min_gap=gap,
                          committer=committer)
    committer.start()
    task = asyncio.create_task(runner.run())
    try:
        while runner.role != "leader" or runner.last_tick_at is None:
            await asyncio.sleep(0.01)
        yield Writer(store, ps, clock, committer, runner, toasts)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        committer.close()
        store.close()


def escalations(store: Store, incident_id: str) -> list[int]:
    return [int(op.payload["level"]) for op in store.timeline(incident_id)
            if op.kind == Kind.ESCALATE and op.actor == "engine"]


async def test_a_new_incident_is_paged_in_the_commit_that_opens_it(tmp_path: Path, db_url: str) -> None:
    async with leading(tmp_path, db_url) as writer:
        assert writer.committer.within is not None
        opened = await writer.alert("checkout is down")
        # No tick ran since: the page was recorded with the trigger, before the answer.
        assert escalations(writer.store, opened.state.id) == [1]
        assert writer.outbox(opened.state.id) == 2  # alice's two rules, both the console here
        assert writer.store.find(opened.state.key).next_due_at == writer.clock.now + timedelta(minutes=5)
        # Delivered in that commit too: one toast (the second rule's row merged into the first),
        # its outcome on the timeline, nothing left for the dispatcher.
        assert writer.states(opened.state.id) == ["sent", "merged"]
        assert [(t.key, t.person, t.bell) for t in writer.toasts] == [(opened.state.key, "alice", True)]
        assert [(op.payload["channel"], op.payload["outcome"], op.payload["merged"])
                for op in writer.store.timeline(opened.state.id) if op.kind == Kind.NOTIFY] \
            == [("console", "sent", 1)]
        again = await writer.alert("checkout is down")  # a repeat: nothing new is due
        assert not again.created and escalations(writer.store, opened.state.id) == [1]
        assert len(writer.toasts) == 1
    assert writer.committer.within is None  # the runner stopped: ingest alone again


async def test_without_the_lease_ingest_commits_and_leaves_the_page_to_the_holder(tmp_path: Path) -> None:
    async with leading(tmp_path) as writer:
        writer.clock.advance(seconds=TTL.total_seconds() + 1)  # the lease expired, unrenewed
        opened = await writer.alert("disk full")
        assert writer.store.find(opened.state.key).next_due_at == writer.clock.now  # due: a tick pages it
        assert escalations(writer.store, opened.state.id) == []
        assert writer.outbox(opened.state.id) == 0


async def test_a_failing_engine_turn_costs_no_event_its_commit(tmp_path: Path) -> None:
    async with leading(tmp_path) as writer:
        def broken(_w: Writes, _requests: int) -> None:
            raise RuntimeError("the engine's turn failed")

        writer.committer.within = broken
        first, second = await asyncio.gather(writer.alert("a"), writer.alert("b"))
        for opened in (first, second):  # each committed alone, without the turn
            assert writer.store.find(opened.state.key).next_due_at == writer.clock.now
            assert escalations(writer.store, opened.state.id) == []


async def test_a_page_whose_group_transaction_rolls_back_is_toasted_once_after_the_next_commit(
        tmp_path: Path) -> None:
    """The toast waits for the commit: a rolled-back turn shows nothing and leaves the incident
    due; the tick that pages it again brings the one toast."""
    async with leading(tmp_path, gap=0.01) as writer:
        turn = writer.committer.within
        assert turn is not None

        def then_fail(w: Writes, requests: int) -> None:
            turn(w, requests)  # pages and delivers in the transaction, which then rolls back
            raise RuntimeError("the commit failed")

        writer.committer.within = then_fail
        opened = await writer.alert("queue stuck")
        assert writer.toasts == [] and writer.outbox(opened.state.id) == 0
        writer.committer.within = turn
        writer.runner.wake()
        for _ in range(1000):  # a guard, not a timing: the tick and the dispatcher's pass
            if writer.toasts:
                break
            await asyncio.sleep(0.01)
        assert [t.key for t in writer.toasts] == [opened.state.key]
        assert escalations(writer.store, opened.state.id) == [1]


async def test_many_wakes_bring_one_tick_and_a_later_wake_its_own(tmp_path: Path) -> None:
    """Wakes while one is on its way to the loop send nothing more; none is lost."""
    async with leading(tmp_path, gap=0.01) as writer:
        async def ticked_at(then: object) -> None:
            for _ in range(1000):  # a guard against a lost wake (the runner's interval is an hour)
                if writer.runner.last_tick_at == then:
                    return
                await asyncio.sleep(0.01)
            raise AssertionError(f"no tick at {then}")

        first = writer.clock.advance(seconds=1)
        await asyncio.gather(*(asyncio.to_thread(writer.runner.wake) for _ in range(50)))
        await ticked_at(first)
        second = writer.clock.advance(seconds=1)
        writer.runner.wake()
        await ticked_at(second)


async def test_the_turns_do_not_write_the_cursor_and_an_engine_after_a_crash_pages_nothing_twice(
        tmp_path: Path) -> None:
    """The cursor a turn moves to is kept in memory, not written in every group transaction:
    an engine that starts from the stored one (the holder was killed) looks at those incidents
    again, finds nothing new to page, and writes the cursor, so its next tick is idle."""
    async with leading(tmp_path) as writer:
        first = await writer.alert("api slow")
        second = await writer.alert("api down")
        with writer.store.engine.connect() as conn:
            stored, upto = queries.load_cursor(conn), queries.vector(conn)
        assert stored != upto  # the turns moved on without writing it
        successor = Engine(writer.store, lambda: writer.ps)
        assert successor.tick(writer.clock.now).looked == 2
        for opened in (first, second):
            assert escalations(writer.store, opened.state.id) == [1]
            assert writer.states(opened.state.id) == ["sent", "merged"]
        assert len(writer.toasts) == 2
        assert successor.tick(writer.clock.now).idle


async def test_a_turn_settles_its_new_rows_with_those_written_before_in_due_order(
        tmp_path: Path, db_url: str) -> None:
    """The rows a turn decides are written as they end (delivered, merged), never pending
    first; a row written before and still due joins them in due order, as a pass would take
    them: the earlier row is sent, the identical new ones are merged into it."""
    async with leading(tmp_path, db_url) as writer:
        opened = await writer.alert("payments failing")
        incident = opened.state.id
        assert writer.states(incident) == ["sent", "merged"]
        with writer.store.engine.begin() as conn:  # a console page not taken yet (a tick wrote it)
            insert(conn, [(incident, 0, Notification(
                channel="console", person="alice", address="alice", cause="test",
                at=writer.clock.now + timedelta(minutes=1),
                message=message(opened.state, "page", "an earlier page")))], writer.clock.now)
        writer.clock.advance(minutes=15)  # bob (level 2) was due at 5 min; alice again (loop 1) at 15
        assert writer.runner.elector.try_acquire(writer.clock.now)  # renewed, as the runner would
        await writer.committer.submit(lambda _w: None)  # a group transaction: the turn pages level 2
        await writer.committer.submit(lambda _w: None)  # and the next one loop 1, level 1
        with writer.store.engine.connect() as conn:
            rows = conn.execute(select(OUTBOX.c.id, OUTBOX.c.person, OUTBOX.c.cause, OUTBOX.c.state,
                                       OUTBOX.c.last_error)
                                .where(OUTBOX.c.incident_id == incident, OUTBOX.c.channel == "console")
                                .order_by(OUTBOX.c.id)).all()
        earlier = next(r for r in rows if r.cause == "test")
        assert [(r.person, r.cause, r.state) for r in rows] == [
            ("alice", "escalate:0:0:0", "sent"), ("alice", "escalate:0:0:0", "merged"),  # opened
            ("alice", "test", "sent"),  # the earlier row: first of alice's in due order
            ("bob", "escalate:0:0:1", "sent"),  # level 2, due at 5 minutes
            ("alice", "escalate:0:1:0", "merged"), ("alice", "escalate:0:1:0", "merged"),  # loop 1
            (None, "sla-breach:ack", "sent")]  # and the ack SLA's breach, a toast for everyone
        assert {r.last_error for r in rows if r.state == "merged" and r.cause != "escalate:0:0:0"} \
            == {f"merged into delivery {earlier.id}"}
        assert [t.person for t in writer.toasts] == ["alice", "alice", "bob", None]
