"""Alembic migrations: an empty store reaches head; a newer store is refused untouched."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

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
        assert {"op_log", "site_head", "local_site", "incident", "incident_note"} <= tables
        assert db.upgrade(engine) == (SCHEMA_HEAD, SCHEMA_HEAD)
    finally:
        engine.dispose()


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
