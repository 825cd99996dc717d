"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator


def _naive_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware one")
    return value.astimezone(UTC).replace(tzinfo=None)


@lru_cache(maxsize=256)
def _sqlite_text(value: datetime) -> str:
    """The text SQLite keeps for an aware time. Cached: a transaction binds the same
    few instants many times (an ingest group's `now` some forty times), and making
    the text cost 1.5 us. Equal instants in other zones share the UTC text they make."""
    return _naive_utc(value).isoformat(" ", "microseconds")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out.

    SQLite keeps naive text, which sorts correctly as long as everything in it
    is UTC; this type makes sure it is, and refuses naive datetimes outright.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the text SQLAlchemy's DATETIME would store, made in one step.

        The composed processors (this type's, then DATETIME's %-formatting of
        seven fields) cost more than SQLite's insert on the write path.
        """
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            return None if value is None else _sqlite_text(value)

        return process

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        utc = _naive_utc(value)
        return utc if dialect.name == "sqlite" else utc.replace(tzinfo=UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
