"""Opening a store: where it lives, how SQLite is tuned, and its schema revision."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.pool import StaticPool

from console.paths import data_dir
from sync.oplog import Prepared

# BEGIN on the driver's cursor: it opens every transaction, Core would double its cost.
_BEGIN = {mode: Prepared(text(f"BEGIN {mode}")) for mode in ("IMMEDIATE", "DEFERRED")}
# The newest migration this code knows; tests assert it matches Alembic's head.
SCHEMA_HEAD = "0004"
MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(RuntimeError):
    """The store cannot be used as asked; the message says what to do."""


def default_url() -> str:
    return f"sqlite:///{data_dir() / 'sunrelay.db'}"


def resolve_url(url: str | None) -> str:
    """`--db` wins, then `SUNRELAY_DB`, then the XDG data path; a bare path means SQLite."""
    chosen = url or os.environ.get("SUNRELAY_DB") or default_url()
    if "://" not in chosen:
        chosen = f"sqlite:///{Path(chosen).expanduser().resolve()}"
    return chosen


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writes can take
        # the write lock up front (BEGIN IMMEDIATE) instead of failing to upgrade.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # A committed op may already be on a peer: it must survive power loss.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        _BEGIN[mode].run(conn, {})


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
        if not in_memory:
            path = Path(database)
            if path.is_dir():
                raise StoreError(f"cannot open database {path}: it is a directory")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create {path.parent}: {exc.strerror}") from None
        engine = create_engine(
            url, poolclass=StaticPool if in_memory else None,
            connect_args={"check_same_thread": False},
        )
        _tune_sqlite(engine)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except (ArgumentError, ImportError) as exc:
        raise StoreError(f"cannot use database {url!r}: {exc}") from None


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read transaction that takes no write lock."""
    with engine.connect() as conn, conn.execution_options(sqlite_begin="DEFERRED").begin():
        yield conn


def current_revision(conn: Connection) -> str | None:
    if not inspect(conn).has_table("alembic_version"):
        return None
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = conn
    return config


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS))
    return {rev.revision for rev in script.walk_revisions()}


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the schema to head; refuse a store made by a newer Sunrelay."""
    from alembic import command

    try:
        with engine.connect() as conn:
            before = current_revision(conn)
            conn.rollback()
            if before is not None and before not in known_revisions():
                raise StoreError(
                    f"the database has schema revision {before!r}, newer than this Sunrelay "
                    f"knows (head {SCHEMA_HEAD!r}): upgrade Sunrelay to open it"
                )
            if before != SCHEMA_HEAD:
                with conn.begin():
                    command.upgrade(_alembic_config(conn), "head")
    except (OperationalError, DBAPIError) as exc:
        raise StoreError(f"cannot open database: {_reason(exc)}") from None
    return before, SCHEMA_HEAD


def ensure_schema(engine: Engine) -> None:
    """The fast path on every open: one query when the schema is already at head."""
    try:
        with reading(engine) as conn:
            revision = current_revision(conn)
    except (OperationalError, DBAPIError) as exc:
        raise StoreError(f"cannot open database: {_reason(exc)}") from None
    if revision != SCHEMA_HEAD:
        upgrade(engine)


def _reason(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
