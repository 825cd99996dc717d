"""One engine per store: the SQLite lease and the PostgreSQL advisory lock, in process.

(Two real processes electing one engine: tests/ingest/test_serve.py.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import policies
from console.engine.cycle import Engine
from console.engine.lease import LeaseLost, PostgresLock, SqliteLease, elector_for
from console.store.store import Store

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
