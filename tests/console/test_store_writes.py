"""`Store.act` and `Store.trigger` in their own transactions, and what a failed one leaves."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from console.domain import commands
from console.domain.commands import IllegalTransition
from console.domain.state import IncidentState
from console.store.store import NotFound, Store


def test_a_refused_act_writes_nothing_and_releases_the_store(db_url: str) -> None:
    with Store.open(db_url, site_name="JKT") as first, Store.open(db_url) as second:
        key = first.trigger("ann", title="x", service="svc", severity="sev2").state.key
        first.act(key, "ann", commands.ack)
        before = first.projection(), first.count_ops(), first.vector()
        with pytest.raises(IllegalTransition):
            first.act(key, "ann", commands.ack)
        with pytest.raises(NotFound):
            first.act("JKT-99", "ann", commands.ack)
        assert (first.projection(), first.count_ops(), first.vector()) == before
        # Another store on the same database writes at once: no write lock was left held.
        second.act(key, "ben", lambda s: commands.note(s, "still mine to write"))
        first.act(key, "ann", commands.resolve)
        assert first.count_ops() == 4 and first.verify() == []


def test_a_database_error_inside_an_act_rolls_back_and_the_next_act_writes(db_url: str) -> None:
    with Store.open(db_url, site_name="JKT") as store:
        key = store.trigger("ann", title="x", service="svc", severity="sev2").state.key

        def fails(state: IncidentState) -> Any:
            raise OperationalError("SELECT 1", {}, RuntimeError("the disk went away"))

        with pytest.raises(OperationalError):
            store.act(key, "ann", fails)
        store.act(key, "ann", lambda s: commands.note(s, "after the error"))
        with store.writing() as writes:  # a Core statement after the store's own transactions
            writes.act(key, "ann", commands.ack)
            assert writes.conn.exec_driver_sql("SELECT count(*) FROM op_log").scalar() == 3
        assert store.get(key).acknowledged_by == "ann"
        assert store.count_ops() == 3 and store.verify() == []


def test_what_a_store_remembers_of_its_incidents_yields_to_other_writers(db_url: str) -> None:
    """A write takes the incident as this store last wrote it only while nobody else
    committed: an edit through another connection is what the next act builds on."""
    with Store.open(db_url, site_name="JKT") as store:
        key = store.trigger("ann", title="as opened", service="svc", severity="sev2").state.key
        store.act(key, "ann", lambda s: commands.note(s, "remembered"))
        other = create_engine(db_url)
        try:
            with other.begin() as conn:
                conn.execute(text("UPDATE incident SET title = 'edited elsewhere'"))
        finally:
            other.dispose()
        noted = store.act(key, "ann", lambda s: commands.note(s, "after the edit"))
        assert noted.title == "edited elsewhere"
        assert store.find(key).title == "edited elsewhere"
        opened = store.trigger("ann", title="second", service="svc", severity="sev3")
        assert opened.state.key == "JKT-2"


def test_a_rolled_back_transaction_leaves_nothing_remembered(db_url: str) -> None:
    with Store.open(db_url, site_name="JKT") as store:
        key = store.trigger("ann", title="x", service="svc", severity="sev2").state.key
        with pytest.raises(RuntimeError), store.writing() as writes:
            writes.act(key, "ann", commands.ack)
            writes.trigger("ann", title="rolled back", service="svc", severity="sev3")
            writes.conn  # noqa: B018 - issues the writes, so the rollback has something to undo
            raise RuntimeError("abort the transaction")
        noted = store.act(key, "ann", lambda s: commands.note(s, "after the rollback"))
        assert noted.status.value == "triggered" and noted.acknowledged_by is None
        assert store.trigger("ann", title="y", service="svc", severity="sev3").state.key == "JKT-2"
        assert store.get(key).status.value == "triggered"
        before = store.projection()
        store.rebuild()
        assert store.projection() == before
