"""One engine per store: the SQLite lease and the PostgreSQL advisory lock, in process.

(Two real processes electing one engine: tests/ingest/test_serve.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import policies
from console.domain.vocabulary import Kind
from console.engine.adapter import to_ms
from console.engine.cycle import Engine
from console.engine.incidents import open_or_repeat
from console.engine.lease import LeaseLost, PostgresLock, SqliteLease, Turn, Yielded, elector_for
from console.store.store import Store
from tests.engine.conftest import load_policies, policy_text

T = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TTL = timedelta(seconds=10)


def test_one_holder_at_a_time_and_takeover_after_expiry(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store:
        a = SqliteLease(store.engine, TTL, holder="a")
        b = SqliteLease(store.engine, TTL, holder="b")
        assert a.try_acquire(T) and not b.try_acquire(T)
        assert a.try_acquire(T + timedelta(seconds=8))  # renewed: now good until +18s
        assert not b.try_acquire(T + timedelta(seconds=12))
        assert b.try_acquire(T + timedelta(seconds=18))
        with store.engine.begin() as conn:
            b.fence(conn, T + timedelta(seconds=19))
            with pytest.raises(LeaseLost, match="held by b"):
                a.fence(conn, T + timedelta(seconds=19))
        assert not a.try_acquire(T + timedelta(seconds=20))


def test_a_released_lease_is_free_at_once(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store:
        a = SqliteLease(store.engine, TTL, holder="a")
        b = SqliteLease(store.engine, TTL, holder="b")
        assert a.try_acquire(T)
        a.release(T + timedelta(seconds=1))
        assert b.try_acquire(T + timedelta(seconds=1))


def test_an_engine_that_lost_its_lease_writes_nothing(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store:
        store.trigger("x", title="t", service="s", severity="sev1")
        a = SqliteLease(store.engine, TTL, holder="a")
        assert a.try_acquire(T)
        assert SqliteLease(store.engine, TTL, holder="b").try_acquire(T + TTL)
        ops = store.count_ops()
        engine = Engine(store, lambda: policies.PolicySet())
        with pytest.raises(LeaseLost):
            engine.tick(T + TTL, fence=lambda conn: a.fence(conn, T + TTL))
        assert store.count_ops() == ops


def test_the_engine_cursor_survives_an_election(sqlite_url: str) -> None:
    """The lease row also keeps how far the engine has read the op log."""
    with Store.open(sqlite_url, site_name="JKT") as store:
        store.trigger("x", title="t", service="s", severity="sev1")
        engine = Engine(store, lambda: policies.PolicySet())
        assert engine.tick(T).looked == 1
        assert SqliteLease(store.engine, TTL, holder="a").try_acquire(T)
        assert Engine(store, lambda: policies.PolicySet()).tick(T).idle


def test_a_loaded_tick_stops_after_its_slice_and_the_next_goes_on(sqlite_url: str, tmp_path: Path) -> None:
    """Under load each tick gets a slice of the write lock; what it did not reach stays
    due, whole transactions only, and every incident is paged once in the end."""
    ps = load_policies(tmp_path / "policies", policy_text())
    with Store.open(sqlite_url, site_name="JKT", physical=lambda: to_ms(T)) as store:
        for i in range(9):
            alert = policies.Alert(service="web", severity="sev1", summary=f"storm {i}")
            with store.writing() as w:
                open_or_repeat(w, "test", alert=alert, decision=policies.route(alert, ps, T),
                               dedup_key=f"storm-{i}", now=T)
        lease = SqliteLease(store.engine, TTL, holder="a")
        assert lease.try_acquire(T)
        engine = Engine(store, lambda: ps, batch=2)
        seconds = iter(range(1000))  # the slice's clock: each reading a second later

        def paged() -> int:
            return sum(op.kind == Kind.ESCALATE for row in store.incidents() for op in store.timeline(row.id))

        counts = []
        for _ in range(4):
            turn = Turn(lambda conn: lease.fence(conn, T), 1.0, clock=lambda: float(next(seconds)))
            with pytest.raises(Yielded):
                engine.tick(T, fence=turn)
            assert turn.turns == 3  # its changes, one batch, then the refused third
            counts.append(paged())
        assert counts == [2, 4, 6, 8]
        turn = Turn(lambda conn: lease.fence(conn, T), 1.0, clock=lambda: float(next(seconds)))
        assert engine.tick(T, fence=turn).actions == 1  # the last one, within the free turns
        assert paged() == 9


@pytest.mark.postgres
def test_postgres_elects_one_engine_with_an_advisory_lock(postgres: object) -> None:
    url = postgres.create_database("lease_t")  # type: ignore[attr-defined]
    with Store.open(url, site_name="JKT") as store:
        assert isinstance(elector_for(store.engine, TTL), PostgresLock)
        a = PostgresLock(store.engine, holder="a")
        b = PostgresLock(store.engine, holder="b")
        try:
            assert a.try_acquire(T) and not b.try_acquire(T)
            assert a.try_acquire(T)  # still ours
            with store.engine.begin() as conn:
                a.fence(conn, T)
                with pytest.raises(LeaseLost):
                    b.fence(conn, T)
            a.release(T)
            assert b.try_acquire(T)
        finally:
            a.release(T)
            b.release(T)
