"""The background sync service: rounds, peer status, backoff, pokes, peers.toml."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.domain import commands
from sync import peers
from sync.client import pull_all
from sync.ops import Op
from sync.service import BACKOFF_CAP_S, PeerStatus, SyncService, backoff
from tests.sync.conftest import console, fill


class Switch(httpx.AsyncBaseTransport):
    """A link that can be cut: while down, every request fails to connect."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.up = True

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("link down", request=request)
        return await self.inner.handle_async_request(request)


async def test_a_round_pulls_and_pushes_and_reports_status(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 3)
    fill(ber.store, 2)
    seen: list[PeerStatus] = []
    link = Switch(httpx.ASGITransport(app=ber.app))
    service = SyncService(jkt.replica, {"BER": jkt.client_to(ber, transport=link)},
                          on_status=seen.append)
    theirs = ber.store.count_ops()
    assert await service.sync_once("BER") == theirs
    assert jkt.store.projection() == ber.store.projection()  # pulled theirs, pushed ours
    status = service.status["BER"]
    assert (status.online, status.error, status.lag, status.failures) == (True, None, 0, 0)
    assert status.offset_ms is not None and abs(status.offset_ms) < 5_000

    link.up = False
    jkt.store.act("JKT-1", "dewi", commands.resolve)  # made while the link is down
    assert await service.sync_once("BER") == 0
    assert service.status["BER"].online is False
    assert "ConnectError" in (service.status["BER"].error or "")
    assert service.status["BER"].failures == 1

    link.up = True
    await service.sync_once("BER")
    assert ber.store.get("JKT-1").status.value == "resolved"
    assert [s.online for s in seen] == [True, False, True]


class Recorder(httpx.AsyncBaseTransport):
    """A link that notes the path of every request."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)


async def test_a_round_with_nothing_to_take_pushes_without_pulling(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(ber.store, 2)
    link = Recorder(httpx.ASGITransport(app=ber.app))
    service = SyncService(jkt.replica, {"BER": jkt.client_to(ber, transport=link)})
    assert await service.sync_once("BER") == ber.store.count_ops()
    assert link.paths == ["/sync/v1/info", "/sync/v1/pull"]  # theirs taken, nothing of ours
    link.paths.clear()
    jkt.store.act("BER-1", "dewi", commands.ack)  # a fresh op of ours: the peer should see it now
    assert await service.sync_once("BER") == 0
    assert link.paths == ["/sync/v1/info", "/sync/v1/push"]
    assert ber.store.get("BER-1").status.value == "acknowledged"


async def test_a_poke_starts_a_round_at_once(consoles: Any) -> None:
    jkt, ber, _ = consoles
    service = SyncService(ber.replica, {"JKT": ber.client_to(jkt)}, rng=random.Random(1))
    runner = asyncio.create_task(service.run())
    try:
        await asyncio.wait_for(_until(lambda: service.status["JKT"].online is True), 10)
        fill(jkt.store, 1)
        service.poked("JKT")  # without it the next round is 5–15 s away
        await asyncio.wait_for(_until(lambda: ber.store.count_ops() == jkt.store.count_ops()), 10)
    finally:
        runner.cancel()


async def _until(condition: Any) -> None:
    while not condition():
        await asyncio.sleep(0.01)


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    assert all(0 <= backoff(1, rng) <= 1 for _ in range(100))
    assert all(0 <= backoff(4, rng) <= 8 for _ in range(100))
    assert max(backoff(30, rng) for _ in range(500)) <= BACKOFF_CAP_S
    assert max(backoff(30, rng) for _ in range(500)) > BACKOFF_CAP_S * 0.9


def test_peers_toml_round_trip_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "peers.toml"
    secret = tmp_path / "ber.secret"
    secret.write_text("s3cret-shared-with-berlin\n")
    entry = peers.PeerEntry("BER", "http://127.0.0.1:8765", "jkt-ber-1", secret_file=str(secret))
    peers.save(path, [entry])
    assert peers.load(path) == [entry]
    assert peers.keyring([entry])["jkt-ber-1"].secret == b"s3cret-shared-with-berlin"
    env_entry = peers.PeerEntry("NYC", "https://nyc", "jkt-nyc", secret_env="NYC_SECRET")
    assert env_entry.key({"NYC_SECRET": "another-long-secret"}).peer == "NYC"
    with pytest.raises(peers.PeersError, match="NYC_SECRET is not set"):
        env_entry.key({})
    bad = {
        '[[peers]]\nname = "X"\nurl = "http://x"\nkey_id = "k"\n': "exactly one of",
        '[[peers]]\nname = "X"\nurl = "ftp://x"\nkey_id = "k"\nsecret_env = "E"\n': "http:// or https://",
        '[[peers]]\nname = "X"\nurl = "http://x"\nkey_id = "k"\nsecret_env = "E"\ncolour = 1\n': "colour",
        "[[peers]\n": "peers.toml",
    }
    for text, message in bad.items():
        path.write_text(text)
        with pytest.raises(peers.PeersError, match=message):
            peers.load(path)
    assert peers.load(tmp_path / "absent.toml") == []


async def test_an_equivocating_origin_is_quarantined_and_the_rest_keeps_flowing(
        consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 2)
    await pull_all(ber.client_to(jkt), ber.replica)
    original = jkt.store.ops_after({}, 1, 1 << 20)[0][0]
    clone = Op(**{**original.to_dict(), "payload": {**original.payload, "title": "cloned store"}})
    clone = Op(**{**clone.to_dict(), "hash": clone.expected_hash()})
    nyc = console(f"sqlite:///{ber.store.engine.url.database}.nyc", "NYC")
    try:
        nyc.replica.apply([clone])  # New York holds a cloned store's version of JKT's first op
        fill(nyc.store, 1)  # and ops of its own
        service = SyncService(ber.replica, {"NYC": ber.client_to(nyc)})
        assert await service.sync_once("NYC") == 0
        status = service.status["NYC"]
        assert status.online and "409 equivocation" in (status.error or "")  # it refused our push
        assert original.site in nyc.replica.quarantined
        assert ber.store.find("NYC-1").title == "alert 0"  # its own ops still reached us

        # New York pulls from Berlin: Jakarta's real ops wait, the rest flows.
        outcomes = await pull_all(nyc.client_to(ber), nyc.replica)
        held = [o for o in outcomes if o.status == "held"]
        assert held and all(o.reason.startswith("site quarantined") for o in held)
        assert nyc.store.get(original.entity).title == "cloned store"
    finally:
        nyc.store.close()


async def test_a_peer_with_our_site_name_is_refused_before_anything_is_exchanged(
        consoles: Any, tmp_path: Path) -> None:
    jkt, _, _ = consoles
    fill(jkt.store, 1)
    twin = console(f"sqlite:///{tmp_path / 'twin.db'}", "JKT")  # another store, the same name
    try:
        fill(twin.store, 1)
        service = SyncService(twin.replica, {"JKT": twin.client_to(jkt)})
        assert await service.sync_once("JKT") == 0
        assert "another console named JKT" in (service.status["JKT"].error or "")
        assert twin.store.count_ops() == 2 and jkt.store.count_ops() == 2  # nothing crossed
    finally:
        twin.store.close()
