"""A star through a PostgreSQL hub, and ops of kinds this version does not know."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from console.domain import commands
from sync.client import pull_all
from tests.conftest import PostgresServer
from tests.console.opfactory import OpFactory
from tests.sync.conftest import Console, console, fill


async def round_trip(spoke: Console, hub: Console) -> None:
    client = spoke.client_to(hub)
    try:
        await pull_all(client, spoke.replica)
        ours, _ = spoke.store.ops_after(hub.store.vector(), 500, 1 << 20)
        while ours:
            await client.push(ours)
            ours, _ = spoke.store.ops_after(hub.store.vector(), 500, 1 << 20)
    finally:
        await client.aclose()


@pytest.mark.postgres
async def test_a_star_through_a_postgresql_hub_converges(tmp_path: Path,
                                                         postgres: PostgresServer) -> None:
    hub = console(postgres.create_database("hub_star"), "HUB")
    spokes = [console(f"sqlite:///{tmp_path / n}.db", n) for n in ("JKT", "BER", "NYC")]
    try:
        for n, spoke in enumerate(spokes):
            fill(spoke.store, 2 + n)
        for _ in range(2):  # the first pass carries each spoke's ops to the hub, the second back out
            for spoke in spokes:
                await round_trip(spoke, hub)
        spokes[1].store.act("JKT-1", "jonas", commands.resolve)
        for spoke in [spokes[1], *spokes]:
            await round_trip(spoke, hub)
        expected = hub.store.projection()
        assert all(spoke.store.projection() == expected for spoke in spokes)
        assert spokes[2].store.get("JKT-1").resolved_by == "jonas"
        assert hub.store.count_ops() == sum(s.store.count_ops() for s in spokes) // 3
    finally:
        for each in (hub, *spokes):
            each.store.close()


async def test_ops_of_unknown_kinds_are_kept_and_forwarded(consoles: Any, tmp_path: Path) -> None:
    """A newer console's op kind is stored and relayed by an older one, never dropped:
    dropping it would advance the vector without the data."""
    jkt, ber, _ = consoles
    fill(jkt.store, 1)
    incident = jkt.store.find("JKT-1")
    await pull_all(ber.client_to(jkt), ber.replica)
    future = OpFactory().op("f", int(time.time() * 1000), incident.id, "postmortem_link",
                            {"why": "a feature of a later Sunrelay"}, actor="future")
    newer_site = future.site
    before = ber.store.get("JKT-1")
    assert [o.status for o in ber.replica.apply([future])] == ["accepted"]
    after = ber.store.get("JKT-1")  # this version folds nothing from it but the time it saw
    assert (after.status, after.title, after.heads) == (before.status, before.title, before.heads)
    nyc = console(f"sqlite:///{tmp_path / 'NYC'}.db", "NYC")
    try:
        await pull_all(nyc.client_to(ber), nyc.replica)
        assert nyc.store.vector()[newer_site] == 1
        assert any(op.kind == "postmortem_link" for op in nyc.store.timeline(incident.id))
        assert nyc.store.projection() == ber.store.projection()
    finally:
        nyc.store.close()
