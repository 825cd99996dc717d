"""The store on SQLite and PostgreSQL: one commit per op, projection == fold."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, text
from sqlalchemy.exc import IntegrityError

from console.domain import commands
from console.domain.commands import IllegalTransition
from console.domain.fold import fold, notes
from console.domain.state import IncidentState
from console.store.projector import ProjectionWriter
from console.store.store import INCIDENTS, NotFound, Store
from sync import oplog
from sync.oplog import HEADS, ChainProblem, CorruptOpError, EquivocationError, Prepared
from sync.ops import Op, op_hash
from tests.console.opfactory import OpFactory
from tests.console.test_fold import T0, op_sets


@pytest.fixture
def store(db_url: str) -> Any:
    with Store.open(db_url, site_name="JKT") as s:
        yield s


def test_trigger_then_dedup_key_retriggers_the_open_incident(store: Store) -> None:
    first = store.trigger("alice", title="API 500s", service="payments", severity="high",
                          dedup_key="pd-1", labels={"tier": "vip"})
    again = store.trigger("alice", title="API 500s", service="payments", severity="sev2",
                          dedup_key="pd-1")
    assert first.created and not again.created
    assert again.state.key == first.state.key == "JKT-1"
    assert again.state.alert_count == 2 and again.state.severity == "sev2"
    assert again.state.labels == {"tier": "vip"}
    store.act("JKT-1", "bob", commands.resolve)
    fresh = store.trigger("alice", title="API 500s", service="payments", severity="sev2",
                          dedup_key="pd-1")
    assert fresh.created and fresh.state.key == "JKT-2"


def test_lifecycle_and_illegal_transitions_change_nothing(store: Store) -> None:
    key = store.trigger("alice", title="disk", service="db", severity="sev3").state.key
    state = store.act(key, "bob", commands.ack)
    assert (state.status.value, state.acknowledged_by, state.assignee) == ("acknowledged", "bob", "bob")
    ops_before = store.count_ops()
    with pytest.raises(IllegalTransition, match="already acknowledged by bob"):
        store.act(key, "carol", commands.ack)
    store.act(key, "bob", commands.resolve)
    with pytest.raises(IllegalTransition, match="reopen it before"):
        store.act(key, "carol", commands.ack)
    with pytest.raises(NotFound):
        store.act("JKT-999", "carol", commands.ack)
    assert store.count_ops() == ops_before + 1
    reopened = store.act(key, "carol", commands.reopen)
    assert (reopened.status.value, reopened.epoch, reopened.acknowledged_at) == ("triggered", 1, None)


def test_one_transaction_carries_many_writes_and_a_refusal_writes_nothing(store: Store) -> None:
    with store.writing() as writes:
        for n in range(3):
            writes.trigger("ingest", title=f"alert {n}", service="api", severity="sev2",
                           dedup_key=f"fp-{n}")
        writes.trigger("ingest", title="alert 0 again", service="api", severity="sev2",
                       dedup_key="fp-0")
        writes.act("JKT-2", "alice", commands.ack)
        with pytest.raises(IllegalTransition):
            writes.act("JKT-2", "bob", commands.ack)
    assert [(i.key, i.alert_count, i.status) for i in store.incidents()] == [
        ("JKT-1", 2, "triggered"), ("JKT-2", 1, "acknowledged"), ("JKT-3", 1, "triggered")]
    assert store.count_ops() == 5
    assert store.verify() == []


def test_notes_and_timeline_come_back_in_order(store: Store) -> None:
    key = store.trigger("alice", title="queue backlog", service="jobs", severity="sev2").state.key
    for text_ in ("looking", "scaled workers", "draining"):
        store.act(key, "alice", lambda s, t=text_: commands.note(s, t))
    incident = store.find(key)
    assert [n.text for n in store.notes(incident.id)] == ["looking", "scaled workers", "draining"]
    assert [op.kind for op in store.timeline(incident.id)] == ["trigger", "note", "note", "note"]


def test_open_incidents_are_listed_most_severe_first(store: Store) -> None:
    for sev in ("sev3", "sev1", "sev2"):
        store.trigger("alice", title=f"{sev} thing", service="svc", severity=sev)
    store.act("JKT-2", "bob", commands.resolve)
    assert [i.severity for i in store.incidents()] == ["sev2", "sev3"]
    assert len(store.incidents(status="all")) == 3


def test_remote_ops_in_any_order_fold_like_the_pure_fold(store: Store) -> None:
    f = OpFactory()
    e = f.entity()
    trig = f.trigger("b", T0, e, number=7)
    ack = f.op("c", T0 + 10, e, "ack", {"epoch": 0, "supersedes": []}, actor="carol")
    note = f.op("b", T0 + 20, e, "note", {"text": "mitigated"})
    late = f.op("c", T0 + 5, e, "set_severity", {"severity": "sev1", "supersedes": [trig.op_id]})
    assert len(store.receive([note, ack])) == 2  # before the trigger: kept in the log only
    with pytest.raises(NotFound):
        store.get(f"B{f.salt}-7")
    assert store.receive([trig]) == [trig]
    assert store.receive([late, ack]) == [late]  # the ack is a duplicate; `late` re-folds
    assert store.get(f"B{f.salt}-7") == fold([trig, ack, note, late])
    assert [n.text for n in store.notes(e)] == ["mitigated"]


def test_a_tampered_or_equivocating_op_is_refused_and_changes_nothing(store: Store) -> None:
    f = OpFactory()
    e = f.entity()
    trig = f.trigger("b", T0, e)
    store.receive([trig])
    before = store.projection(), store.count_ops()
    forged = Op(**{**trig.to_dict(), "payload": {**trig.payload, "title": "all fine"}})
    with pytest.raises(CorruptOpError):
        store.receive([forged])
    twin = OpFactory(salt=f.salt).trigger("b", T0 + 1, e)  # same site and seq, other content
    with pytest.raises(EquivocationError):
        store.receive([twin])
    assert (store.projection(), store.count_ops()) == before


def test_a_lot_that_continues_a_chain_is_still_checked_against_what_is_held(store: Store) -> None:
    f = OpFactory()
    e = f.entity()
    trig = f.trigger("b", T0, e)
    store.receive([trig])
    before = store.projection(), store.count_ops(), store.vector()
    fork = OpFactory(salt=f.salt)  # site b's seq 1 from another history, then its seq 2
    fork.trigger("b", T0 + 1, e)
    with pytest.raises(EquivocationError, match="does not chain"):
        store.receive([fork.op("b", T0 + 2, e, "note", {"text": "forked"})])
    other = f.op("c", T0 + 3, e, "note", {"text": "reused id"})  # site c's seq 1, b's op id
    reused = dict(other.to_dict(), op_id=trig.op_id)
    reused["hash"] = op_hash(*[reused[k] for k in ("op_id", "site", "seq", "hlc", "actor", "entity",
                                                    "kind", "payload", "schema", "prev_hash")])
    with pytest.raises(EquivocationError, match=trig.op_id):
        store.receive([Op(**reused)])
    assert (store.projection(), store.count_ops(), store.vector()) == before


def test_rebuild_equals_the_incremental_projection(store: Store) -> None:
    for n in range(5):
        key = store.trigger("alice", title=f"incident {n}", service="svc", severity="sev2").state.key
        store.act(key, "bob", commands.ack)
        store.act(key, "bob", lambda s: commands.note(s, "on it"))
        if n % 2:
            store.act(key, "bob", lambda s: commands.escalate(s, "needs db"))
            store.act(key, "bob", commands.resolve)
    f = OpFactory()
    e = f.entity()
    store.receive([f.trigger("b", T0, e), f.op("b", T0 + 1, e, "note", {"text": "remote"})])
    before = store.projection()
    assert store.rebuild() == 6
    assert store.projection() == before


def test_verify_reports_an_edited_and_a_deleted_op(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store:
        key = store.trigger("alice", title="x", service="svc", severity="sev2").state.key
        for _ in range(4):
            store.act(key, "alice", lambda s: commands.note(s, "n"))
        assert store.verify() == []
        site = store.site.site
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE op_log SET actor = 'mallory' WHERE seq = 2"))
            conn.execute(text("DELETE FROM op_log WHERE seq = 4"))
        problems = store.verify()
    assert ChainProblem(site, 2, "altered: content does not match its hash") in problems
    assert any(p.seq == 4 and p.message.startswith("gap") for p in problems)


def test_deleting_the_newest_op_is_detected(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store:
        store.trigger("alice", title="x", service="svc", severity="sev2")
        store.trigger("alice", title="y", service="svc", severity="sev2")
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM op_log WHERE seq = 2"))
        assert [p.seq for p in store.verify()] == [2]


def test_a_reopened_store_keeps_its_site_and_issues_later_stamps(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store:
        store.trigger("alice", title="x", service="svc", severity="sev2")
        site, last = store.site.site, store.timeline(store.find("JKT-1").id)[-1].hlc
    # The wall clock now reads an hour earlier than when the op was written.
    with Store.open(sqlite_url, physical=lambda: int(last[:13]) - 3_600_000) as store:
        assert store.site.site == site and store.site.name == "JKT"
        state = store.trigger("alice", title="y", service="svc", severity="sev2").state
        assert store.timeline(state.id)[0].hlc > last


def _write_many(url: str, who: str, count: int) -> None:
    with Store.open(url) as store:
        for n in range(count):
            store.trigger(who, title=f"{who} {n}", service="svc", severity="sev3")


def test_two_processes_on_one_sqlite_store_serialise_their_writes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    Store.open(url, site_name="JKT").close()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_write_many, args=(url, who, 60)) for who in ("ann", "ben")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    with Store.open(url) as store:
        assert store.verify() == []
        assert store.count_ops() == 120
        keys = {i.key for i in store.incidents()}
        assert keys == {f"JKT-{n}" for n in range(1, 121)}


def test_writers_that_take_turns_on_one_store_chain_after_each_other(db_url: str) -> None:
    """Each process remembers where it left its site's head; another writer (or a
    rolled-back transaction) moving it meanwhile must make it read the head again."""
    with Store.open(db_url, site_name="JKT") as first, Store.open(db_url) as second:
        key = first.trigger("ann", title="x", service="svc", severity="sev2").state.key
        for n in range(3):
            first.act(key, "ann", lambda s, n=n: commands.note(s, f"ann {n}"))
            second.act(key, "ben", lambda s, n=n: commands.note(s, f"ben {n}"))
        with pytest.raises(RuntimeError), first.writing() as writes:
            writes.act(key, "ann", lambda s: commands.note(s, "rolled back"))
            raise RuntimeError("abort the transaction")
        first.act(key, "ann", commands.ack)
        second.act(key, "ben", lambda s: commands.note(s, "after the rollback"))
        assert first.verify() == []
        assert first.count_ops() == 9
        ops = first.timeline(first.find(key).id)
        assert sorted(op.seq for op in ops) == list(range(1, 10))
        assert [op.hlc for op in sorted(ops, key=lambda o: o.seq)] == sorted(op.hlc for op in ops)
        assert "rolled back" not in [n.text for n in first.notes(first.find(key).id)]


def test_many_acts_in_one_transaction_read_their_own_writes(store: Store) -> None:
    """Writes gathers the projection until the transaction ends or `conn` is used."""
    with store.writing() as writes:
        opened = writes.trigger("ingest", title="a", service="api", severity="sev2", dedup_key="k")
        writes.act(opened.state.key, "alice", lambda s: commands.note(s, "first"))
        acked = writes.act(opened.state.id, "alice", commands.ack)
        assert opened.state.status.value == "triggered"  # a returned state never changes
        again = writes.trigger("ingest", title="a", service="api", severity="sev2", dedup_key="k")
        assert not again.created and again.state.alert_count == 2
        writes.act(opened.state.key, "alice", commands.resolve)
        reopened = writes.trigger("ingest", title="a", service="api", severity="sev2", dedup_key="k")
        assert reopened.created and reopened.state.key == "JKT-2"
        status = writes.conn.execute(text("SELECT status FROM incident WHERE key = 'JKT-1'")).scalar()
        assert status == "resolved"
        with pytest.raises(IllegalTransition):
            writes.act("JKT-1", "bob", commands.ack)
    assert acked.acknowledged_by == "alice"
    assert [(i.key, i.status) for i in store.incidents(status="all")] == [
        ("JKT-2", "triggered"), ("JKT-1", "resolved")]
    assert store.count_ops() == 6 and store.verify() == []
    before = store.projection()
    store.rebuild()
    assert store.projection() == before


def test_a_driver_error_on_the_prepared_path_is_raised_as_sqlalchemys(store: Store) -> None:
    """Callers (ingest, the engine runner) catch SQLAlchemy's errors, not the driver's."""
    twin = {"site": store.site.site, "seq": 0, "hash": "0" * 64, "hlc": ""}
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        Prepared(HEADS.insert()).run(conn, twin)


_shared: dict[str, Store] = {}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(op_sets(), st.data())
def test_incremental_projection_equals_the_fold_for_any_arrival(
    tmp_path_factory: pytest.TempPathFactory, ops: list[Op], data: st.DataObject,
) -> None:
    if "s" not in _shared:
        _shared["s"] = Store.open(f"sqlite:///{tmp_path_factory.mktemp('prop') / 's.db'}",
                                  site_name="JKT")
        _shared["in_order"] = Store.open(
            f"sqlite:///{tmp_path_factory.mktemp('prop') / 'o.db'}", site_name="JKT")
    store, in_order = _shared["s"], _shared["in_order"]
    arrival = data.draw(st.permutations(ops))
    arrival += data.draw(st.lists(st.sampled_from(ops), max_size=5))  # duplicates
    batches = data.draw(st.integers(1, 4))
    for n in range(batches):
        store.receive(arrival[n::batches])
    # The same ops as a healthy peer sends them: each lot continues every chain from
    # its head, so all take the fast path (no held seqs read, no chain read back).
    lot = -(-len(ops) // batches)
    with mock.patch.object(oplog._HELD_SEQS, "rows") as held_seqs, \
            mock.patch.object(oplog._FOLLOWING, "rows") as following:
        for start in range(0, len(ops), lot):
            assert in_order.receive(ops[start:start + lot]) == ops[start:start + lot]
    assert held_seqs.call_count == following.call_count == 0
    expected = fold(ops)
    assert expected is not None
    assert store.get(expected.id) == in_order.get(expected.id) == expected
    assert [n.op_id for n in store.notes(expected.id)] == [o.op_id for o in notes(ops)]
    assert store.timeline(expected.id) == in_order.timeline(expected.id)
    sites = {op.site for op in ops}
    assert ({s: n for s, n in store.vector().items() if s in sites}
            == {s: n for s, n in in_order.vector().items() if s in sites}
            == {s: max(op.seq for op in ops if op.site == s) for s in sites})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op_sets(), min_size=1, max_size=4), st.randoms(use_true_random=False))
def test_rebuild_equals_the_incremental_projection_for_any_history(
    tmp_path_factory: pytest.TempPathFactory, histories: list[list[Op]], rnd: Any,
) -> None:
    url = f"sqlite:///{tmp_path_factory.mktemp('rebuild') / 's.db'}"
    with Store.open(url, site_name="JKT") as store:
        key = store.trigger("alice", title="local", service="svc", severity="sev2").state.key
        store.act(key, "alice", lambda s: commands.note(s, "local note"))
        arrival = [op for ops in histories for op in ops]
        rnd.shuffle(arrival)
        for start in range(0, len(arrival), 7):
            store.receive(arrival[start:start + 7])
        before = store.projection()
        assert store.rebuild() == len(histories) + 1
        assert store.projection() == before


def _stored_and_read(store: Store, state: IncidentState,
                     fold_state: dict[str, Any] | None = None) -> IncidentState:
    """`state` as the store's projection writer writes it (its `fold_state` as
    given, if given) and `Store.get` reads it back: the only incident in `store`."""
    with store.engine.begin() as conn:
        conn.execute(delete(INCIDENTS))
        writer = ProjectionWriter(conn)
        writer.put_stored(state, None)
        writer.flush()
        if fold_state is not None:
            conn.execute(INCIDENTS.update().values(fold_state=fold_state))
    return store.get(state.id)


def test_the_compact_fold_state_reads_back_as_the_fold(store: Store) -> None:
    @settings(max_examples=200, deadline=None)
    @given(op_sets())
    def reads_back(ops: list[Op]) -> None:
        state = fold(ops)
        assert state is not None
        assert _stored_and_read(store, state) == state

    reads_back()


def test_a_fold_state_stored_in_full_by_an_earlier_version_still_reads(store: Store) -> None:
    @settings(max_examples=50, deadline=None)
    @given(op_sets())
    def reads_back(ops: list[Op]) -> None:
        state = fold(ops)
        assert state is not None
        full = {
            "steps": [{"epoch": s.epoch, "loop": s.loop, "level": s.level,
                       "attempts": [[a.op_id, a.site, a.actor, a.at, a.reason]
                                    for a in s.attempts]}
                      for s in state.steps],
            "acks": [list(a) for a in state.acks],
            "heads": {name: [[h.op_id, h.value, h.site, h.actor] for h in heads]
                      for name, heads in state.heads.items()},
            "last": list(state.last),
        }
        assert _stored_and_read(store, state, full) == state

    reads_back()


def test_a_fresh_incident_stores_its_trigger_heads_once(store: Store) -> None:
    state = store.trigger("alice", title="disk", service="db", severity="sev3").state
    extras = state.fold_extras()
    assert set(extras) == {"last", "ref"}
    store.act(state.key, "bob", commands.ack)
    assert set(store.get(state.key).fold_extras()["heads"]) == {"assignee"}


def test_op_ids_are_uuid7s_that_sort_in_the_order_they_were_made() -> None:
    """Incidents opened in one millisecond list in creation order by their ids."""
    import os
    import uuid

    from sync.oplog import new_op_id

    ids = [new_op_id() for _ in range(5000)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    parsed = uuid.UUID(ids[0])
    assert (parsed.version, parsed.variant, str(parsed)) == (7, uuid.RFC_4122, ids[0])
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a forked child must not reuse the parent's random bytes
        os.write(write, new_op_id().encode())
        os._exit(0)
    os.waitpid(child, 0)
    theirs, ours = os.read(read, 64).decode(), new_op_id()
    assert theirs[14:] != ours[14:]


def test_sqlite_stores_times_as_sqlalchemys_datetime_would() -> None:
    """UTCDateTime formats SQLite's text in one step; it must be the very same text."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy.dialects import sqlite

    from console.store.types import UTCDateTime

    dialect = sqlite.dialect()
    ours = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    core = sqlite.DATETIME().bind_processor(dialect)
    assert ours is not None and core is not None
    jakarta = timezone(timedelta(hours=7))
    for value in (datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC), datetime(999, 1, 2, tzinfo=UTC),
                  datetime(2026, 1, 1, 6, 59, 59, 999999, tzinfo=jakarta)):
        assert ours(value) == core(value.astimezone(UTC).replace(tzinfo=None))
        # Texts are remembered by instant: the same instant in another zone is the same text.
        assert ours(value.astimezone(jakarta)) == ours(value)
    assert ours(None) is None
    with pytest.raises(ValueError, match="naive datetime"):
        ours(datetime(2026, 1, 1))
