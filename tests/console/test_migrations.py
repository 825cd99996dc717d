"""Alembic migrations: an empty store reaches head; a newer store is refused untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from console.domain import commands
from console.store import db
from console.store.db import SCHEMA_HEAD, StoreError
from console.store.store import Store


def test_schema_head_constant_matches_alembic() -> None:
    assert ScriptDirectory(str(db.MIGRATIONS)).get_current_head() == SCHEMA_HEAD


def test_an_empty_database_upgrades_to_head(db_url: str) -> None:
    engine = db.make_engine(db_url)
    try:
        assert db.upgrade(engine) == (None, SCHEMA_HEAD)
        with engine.connect() as conn:
            assert db.current_revision(conn) == SCHEMA_HEAD
            tables = set(inspect(conn).get_table_names())
        assert {"op_log", "site_head", "local_site", "incident"} <= tables
        assert "incident_note" not in tables  # notes are read from the op log (0004)
        assert db.upgrade(engine) == (SCHEMA_HEAD, SCHEMA_HEAD)
    finally:
        engine.dispose()


def test_0004_keeps_every_op_and_note_down_and_up_again(db_url: str) -> None:
    """0004 moves the op log to a (site, seq) key; no op is lost either way."""
    from alembic import command

    with Store.open(db_url, site_name="JKT") as store:
        key = store.trigger("ana", title="disk", service="db", severity="sev2").state.key
        store.act(key, "ana", lambda s: commands.note(s, "looking"))
        store.act(key, "ana", commands.ack)
        before = store.projection(), store.verify()
        with store.engine.begin() as conn:
            command.downgrade(db._alembic_config(conn), "0003")
        with store.engine.begin() as conn:
            assert db.current_revision(conn) == "0003"
            command.upgrade(db._alembic_config(conn), "head")
        assert (store.projection(), store.verify()) == before
        store.act(key, "ana", lambda s: commands.note(s, "still there"))
        assert [n.text for n in store.notes(store.find(key).id)] == ["looking", "still there"]


def test_sqlite_keeps_the_op_log_clustered_by_site_and_seq(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store, store.engine.connect() as conn:
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'op_log'").scalar()
        assert "WITHOUT ROWID" in str(sql)


def test_the_migrated_schema_matches_the_models(sqlite_url: str) -> None:
    """Autogenerate finds nothing to do: the migration and the tables agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    engine = db.make_engine(sqlite_url)
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == []
    finally:
        engine.dispose()


def test_a_store_stamped_by_a_newer_sunrelay_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    Store.open(f"sqlite:///{path}", site_name="JKT").close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="schema revision 'f00dfeed', newer than this Sunrelay"):
        Store.open(f"sqlite:///{path}")
    assert path.read_bytes() == before


def test_sqlite_runs_wal_with_full_sync(sqlite_url: str) -> None:
    with Store.open(sqlite_url, site_name="JKT") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
