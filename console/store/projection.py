"""Between the fold's state and the projection's rows.

The fold keeps times as epoch ms and the JSON columns as dicts. `stored_values`
gives a state's columns in that form, and the store's fold reads rows back in it
(`EpochMs` turns the time columns into ms in the row processing), so the write
path compares what changed and rebuilds states without making a datetime.
"""

from __future__ import annotations

import json
from _json import encode_basestring_ascii, make_encoder
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from console.domain.state import IncidentState
from console.domain.vocabulary import STATUS_AT_LEVEL

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = EPOCH.replace(tzinfo=None)
_MS = timedelta(milliseconds=1)
# Every column the fold owns: all but `next_due_at`, which the engine owns.
FOLD_COLUMNS = (
    "id", "key", "key_number", "origin_site", "title", "service", "severity", "priority",
    "stage", "status", "epoch", "team", "policy", "assignee", "dedup_key", "alert_count",
    "labels", "esc_loop", "esc_level", "conflicted", "created_at", "updated_at",
    "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "fold_state",
)
TIME_COLUMNS = frozenset({"created_at", "updated_at", "acknowledged_at", "resolved_at"})
_LEVELS = {"triggered": 0, "acknowledged": 1, "resolved": 2}
# The status column's text by level, without an enum lookup per row written.
_STATUSES = tuple(status.value for status in STATUS_AT_LEVEL)
# `json.dumps`'s own C encoder and `json.loads`'s C scanner, built once: their
# Python wrappers cost more than encoding or decoding a small column. The text is
# what `json.dumps` writes (without its check for values that contain themselves).
_ENCODE = make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ",
                       ", ", False, False, True)
_SCAN: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def ms_to_dt(ms: int) -> datetime:
    return EPOCH + timedelta(0, 0, 0, ms)  # positional: a third faster than milliseconds=


def dt_to_ms(value: datetime) -> int:
    return (value - EPOCH) // _MS


@lru_cache(maxsize=256)
def _sqlite_text(ms: int) -> str:
    """The text SQLite keeps for a time. Cached: a row's times are often one instant
    (created and updated, resolved and updated), and so are a batch's."""
    return (_NAIVE_EPOCH + timedelta(0, 0, 0, ms)).isoformat(" ", "microseconds")


class EpochMs(TypeDecorator[int]):
    """A `UTCDateTime` column read and written as epoch ms, the fold's own form.

    On SQLite the text is made and parsed in one step each way (the same text
    `UTCDateTime` stores); elsewhere the value passes as an aware datetime.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[int | None], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(ms: int | None) -> str | None:
            return None if ms is None else _sqlite_text(ms)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], int | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(text: str | None) -> int | None:
            if text is None:
                return None
            return (datetime.fromisoformat(text) - _NAIVE_EPOCH) // _MS

        return process

    def process_bind_param(self, value: int | None, dialect: Dialect) -> datetime | None:
        return None if value is None else ms_to_dt(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else dt_to_ms(value)


class JsonValue(TypeDecorator[Any]):
    """A JSON column encoded and decoded straight by the C codec on SQLite, as `JSON` would."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _dumps

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        return _loads


def _dumps(value: Any) -> str:
    return "".join(_ENCODE(value, 0))


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        end = -1
    # Anything but one JSON value with nothing around it takes `json.loads`'s path and errors.
    return value if end == len(text) else json.loads(text)


def stored_values(state: IncidentState) -> tuple[Any, ...]:
    """The values of `FOLD_COLUMNS` in the fold's form (times in ms, JSON as dicts)."""
    loop, level = state.escalation
    return (
        state.id, state.key, state.key_number, state.origin_site, state.title, state.service,
        state.severity, state.priority, state.stage, _STATUSES[state.level], state.epoch, state.team,
        state.policy, state.assignee, state.dedup_key, state.alert_count, state.labels,
        loop, level, state.conflicted,
        state.created_at, state.updated_at, state.acknowledged_at, state.acknowledged_by,
        state.resolved_at, state.resolved_by, state.fold_extras(),
    )


def row_values(row: Any) -> tuple[Any, ...]:
    """A row read with datetimes (`Row` or `Incident`) in the form of `stored_values`."""
    return tuple(
        (None if value is None else dt_to_ms(value)) if name in TIME_COLUMNS else value
        for name in FOLD_COLUMNS for value in (getattr(row, name),)
    )


def state_from_values(values: tuple[Any, ...]) -> IncidentState:
    """The fold's state back from its `stored_values`."""
    (id_, key, key_number, origin_site, title, service, severity, priority, stage, status,
     epoch, team, policy, assignee, dedup_key, alert_count, labels, _loop, _level, _conflicted,
     created_at, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
     fold_state) = values
    # Positional, in the fields' order: keyword arguments cost four times the call itself.
    state = IncidentState(
        id_, key, key_number, origin_site, service, dedup_key, dict(labels), title, severity,
        priority, stage, team, policy, assignee, alert_count, epoch, _LEVELS[status], created_at,
        updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by,
    )
    state.load_extras(fold_state)
    return state


def state_from_row(row: Any) -> IncidentState:
    """The fold's state back from a projection row read with datetimes (`Row` or `Incident`)."""
    return state_from_values(row_values(row))
