"""The receive fold's own column types (`EpochMs`, `JsonValue`) store what Core's
types store, and read back what the fold holds, on every backend."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import sqlite

from console.domain.fold import fold
from console.store.projection import EpochMs, JsonValue, ms_to_dt
from console.store.store import Store
from console.store.types import UTCDateTime
from tests.console.opfactory import OpFactory
from tests.console.test_fold import T0

LABELS = {"région": "bér", "tier": "std"}  # not ASCII: JSON escapes it as json.dumps does


def test_a_received_incident_reads_back_through_core_as_the_fold_has_it(db_url: str) -> None:
    f = OpFactory()
    e = f.entity()
    trigger = f.trigger("a", T0 + 123, e, labels=LABELS)
    later = [f.op("b", T0 + 4_567, e, "ack", {"epoch": 0, "supersedes": [trigger.op_id]},
                  actor="bob"),
             f.op("b", T0 + 9_999, e, "resolve", {"epoch": 0})]
    state = fold([trigger, *later])
    assert state is not None
    with Store.open(db_url, site_name="JKT") as store:
        store.receive([trigger])  # an insert
        store.receive(later)  # an update of the columns that changed
        row = store.find(state.key)  # read by Core, as datetimes
        assert (row.created_at, row.acknowledged_at, row.resolved_at, row.updated_at) == (
            ms_to_dt(T0 + 123), ms_to_dt(T0 + 4_567), ms_to_dt(T0 + 9_999), ms_to_dt(T0 + 9_999))
        assert row.created_at.tzinfo is UTC
        assert (row.labels, row.fold_state) == (LABELS, state.fold_extras())
        assert store.get(state.key) == state


def test_sqlite_text_is_what_core_writes_and_reads_back_as_ms(sqlite_url: str) -> None:
    dialect = sqlite.dialect()
    ms_in: Any = EpochMs().dialect_impl(dialect).bind_processor(dialect)
    ms_out: Any = EpochMs().dialect_impl(dialect).result_processor(dialect, None)
    core_in: Any = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    for ms in (0, T0 + 1, -30_610_224_000_000, 253_402_300_799_999):  # 1970, now, year 999, 9999
        assert ms_in(ms) == core_in(ms_to_dt(ms))
        assert ms_out(ms_in(ms)) == ms
    assert ms_in(None) is None and ms_out(None) is None
    json_in: Any = JsonValue().dialect_impl(dialect).bind_processor(dialect)
    json_out: Any = JsonValue().dialect_impl(dialect).result_processor(dialect, None)
    assert json_in(LABELS) == json.dumps(LABELS)
    assert json_out(json.dumps(LABELS)) == LABELS
    assert json_out(" [1] ") == [1]  # what json.loads accepts around a value, it still reads


def test_sqlite_keeps_the_received_incident_as_core_would(sqlite_url: str) -> None:
    f = OpFactory()
    trigger = f.trigger("a", T0 + 123, f.entity(), labels=LABELS)
    with Store.open(sqlite_url, site_name="JKT") as store:
        store.receive([trigger])
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        created, labels = conn.execute("SELECT created_at, labels FROM incident").fetchone()
    core_in: Any = UTCDateTime().dialect_impl(sqlite.dialect()).bind_processor(sqlite.dialect())
    assert created == core_in(datetime.fromtimestamp((T0 + 123) / 1000, UTC))
    assert labels == json.dumps(LABELS)
