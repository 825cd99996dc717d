"""The snapshot: a new peer bootstraps from one signed stream and converges."""

from __future__ import annotations

import asyncio
import gzip
import logging
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.domain import commands
from console.store.store import Store
from console.sync_replica import StoreReplica
from sync import service as service_module
from sync import snapshot
from sync.auth import Key, sign
from sync.client import PeerClient, PeerRefused, pull_all, stream_all
from sync.ops import Op
from sync.protocol import PREFIX, ProtocolError
from sync.service import SyncService
from sync.snapshot import PATH, format_after
from tests.console.test_peers_cli import berlin_server
from tests.sync.conftest import KEY, Console, console, fill
from tests.sync.test_kill9 import killed_mid_sync


def busy(store: Store, incidents: int, actor: str) -> None:
    """Incidents with notes and acks, several hundred ops in few transactions."""
    with store.writing() as writes:
        for n in range(incidents):
            key = writes.trigger(actor, title=f"{actor} alert {n}", service=f"svc-{n % 5}",
                                 severity="sev3").state.key
            writes.act(key, actor, lambda s, n=n: commands.note(s, f"{actor} looked at {n}"))
            if n % 3 == 0:
                writes.act(key, actor, commands.ack)


@pytest.fixture
def three(tmp_path: Path) -> Any:
    """JKT holding its own ops and NYC's (acting on each other's incidents); BER empty."""
    made = [console(f"sqlite:///{tmp_path / name}.db", name) for name in ("JKT", "NYC", "BER")]
    yield made
    for each in made:
        each.store.close()


async def mesh(jkt: Console, nyc: Console) -> None:
    busy(jkt.store, 300, "dewi")
    busy(nyc.store, 200, "ana")
    await pull_all(nyc.client_to(jkt), nyc.replica)
    nyc.store.act("JKT-7", "ana", lambda s: commands.note(s, "seen from New York"))
    jkt.store.act("JKT-7", "dewi", commands.resolve)
    await pull_all(jkt.client_to(nyc), jkt.replica)


async def test_a_new_peer_bootstraps_from_a_snapshot_and_converges(three: Any) -> None:
    jkt, nyc, ber = three
    await mesh(jkt, nyc)
    client = ber.client_to(jkt)
    taken = await stream_all(client, ber.replica, apply_ops=400)  # several transactions
    assert taken == {"accepted": jkt.store.count_ops()}
    assert ber.store.vector() == {**jkt.store.vector(), ber.store.site.site: 0}
    assert ber.store.projection() == jkt.store.projection()
    assert ber.store.verify() == []
    assert await pull_all(client, ber.replica) == []  # nothing left for a pull
    await client.aclose()


async def test_a_snapshot_starts_past_the_askers_vector(three: Any) -> None:
    jkt, nyc, ber = three
    await mesh(jkt, nyc)
    client = ber.client_to(jkt)
    await pull_all(client, ber.replica, limit=150)  # a peer part of the way there...
    jkt.store.act("JKT-3", "dewi", commands.resolve)
    held = ber.store.count_ops()
    taken = await stream_all(client, ber.replica)  # ...takes only the rest
    assert ber.store.count_ops() == jkt.store.count_ops() == held + taken["accepted"]
    assert ber.store.projection() == jkt.store.projection()


async def test_the_service_takes_a_snapshot_when_far_behind(
        three: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    jkt, nyc, ber = three
    await mesh(jkt, nyc)
    monkeypatch.setattr(service_module, "SNAPSHOT_LAG", 1000)
    service = SyncService(ber.replica, {"JKT": ber.client_to(jkt)})
    with caplog.at_level(logging.INFO, logger="sunrelay.sync"):
        assert await service.sync_once("JKT") == jkt.store.count_ops()
    assert any(r.getMessage().startswith("snapshot from JKT: took") for r in caplog.records)
    assert ber.store.projection() == jkt.store.projection()
    assert service.status["JKT"].lag == 0

    caplog.clear()
    jkt.store.act("JKT-1", "dewi", commands.resolve)  # a little behind: a pull
    with caplog.at_level(logging.INFO, logger="sunrelay.sync"):
        assert await service.sync_once("JKT") == 1
    assert not caplog.records


async def test_a_peer_without_snapshots_is_pulled_from(
        three: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    jkt, nyc, ber = three
    await mesh(jkt, nyc)
    monkeypatch.setattr(service_module, "SNAPSHOT_LAG", 1000)

    class Older(httpx.AsyncBaseTransport):  # a peer from before the snapshot
        inner = httpx.ASGITransport(app=jkt.app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith(PATH):
                return httpx.Response(404, stream=httpx.ByteStream(b'{"detail":"Not Found"}'))
            return await self.inner.handle_async_request(request)

    service = SyncService(ber.replica, {"JKT": ber.client_to(jkt, transport=Older())})
    assert await service.sync_once("JKT") == jkt.store.count_ops()
    assert ber.store.projection() == jkt.store.projection()
    assert service.status["JKT"].error is None


async def test_ops_stamped_ahead_of_our_clock_end_the_snapshot(consoles: Any) -> None:
    jkt, ber, clock = consoles
    clock.ms -= 10 * 60 * 1000  # Berlin's clock runs ten minutes behind
    fill(jkt.store, 2)
    taken = await stream_all(ber.client_to(jkt), ber.replica)
    assert set(taken) == {"held"}
    assert ber.store.count_ops() == 0
    clock.ms += 10 * 60 * 1000
    await stream_all(ber.client_to(jkt), ber.replica)
    assert ber.store.projection() == jkt.store.projection()


class Doctor(httpx.AsyncBaseTransport):
    """Alters the snapshot on its way: `change` gets and returns the inflated body."""

    def __init__(self, app: Any, change: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.change = change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self.inner.handle_async_request(request)
        body = await answer.aread()  # httpx has inflated it
        return httpx.Response(answer.status_code, headers=answer.headers,
                              stream=httpx.ByteStream(gzip.compress(self.change(body))))


def _retitle(body: bytes) -> bytes:
    return body.replace(b"dewi alert 1", b"evil alert 1", 1)


def _drop_end(body: bytes) -> bytes:
    return body[:body.rindex(b"\n", 0, -1) + 1]


def _swap_lines(body: bytes) -> bytes:
    first, *rest = body.split(b"\n")
    return b"\n".join([first, rest[1], rest[0], *rest[2:]])


def _cut(body: bytes) -> bytes:
    return body[:len(body) // 2]


@pytest.mark.parametrize("change", [_retitle, _swap_lines, _drop_end, _cut])
async def test_a_tampered_or_truncated_snapshot_is_refused_from_its_first_bad_line(
        three: Any, change: Any) -> None:
    """Lines are applied as they pass their check, so an altered line (here in the
    first line of ops) commits nothing, and a stream cut short keeps the lines
    before the cut: each chain a prefix, folded whole; the next round takes the rest."""
    jkt, nyc, ber = three
    await mesh(jkt, nyc)
    client = ber.client_to(jkt, transport=Doctor(jkt.app, change))
    with pytest.raises(PeerRefused, match="snapshot failed its check"):
        await stream_all(client, ber.replica)
    if change in (_retitle, _swap_lines):
        assert ber.store.count_ops() == 0
        assert ber.store.projection() == ([], [])
    assert ber.store.verify() == []
    if change is _cut:
        assert ber.store.count_ops() < jkt.store.count_ops()
    folded, held = ber.store.projection(), ber.store.count_ops()
    ber.store.rebuild()
    assert ber.store.projection() == folded
    taken = await stream_all(ber.client_to(jkt), ber.replica)
    assert taken["accepted"] == jkt.store.count_ops() - held and not taken["duplicate"]
    assert ber.store.projection() == jkt.store.projection()


async def get(console: Console, target: str, *, key: Key = KEY, signed: str | None = None,
              now: float | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
    signing = sign(key, "peer-site", "GET", signed or target, b"",
                   (lambda: now) if now is not None else time.time)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=console.app),
                                 base_url="http://peer") as http:
        return await http.get(target, headers={**signing, **(headers or {})})


async def test_every_authentication_failure_on_the_snapshot_is_refused(three: Any) -> None:
    jkt, _, ber = three
    busy(jkt.store, 5, "dewi")
    target = f"{PREFIX}{PATH}?after={format_after({})}"
    ok = await get(jkt, target)
    assert ok.status_code == 200 and b'"end"' in ok.content
    cases = {
        "bad_signature": dict(key=Key(KEY.key_id, "team", b"not the secret")),
        "unknown_key": dict(key=Key("nobody", "team", KEY.secret)),
        "stale_timestamp": dict(now=time.time() - 900),
        # The query is signed: a request for more than was signed is refused.
        "bad_signature ": dict(signed=f"{PREFIX}{PATH}?after={format_after({'x': 5})}"),
    }
    for expected, how in cases.items():
        answer = await get(jkt, target, **how)  # type: ignore[arg-type]
        assert 400 <= answer.status_code < 500 and answer.json()["error"] == expected.strip()
    unsigned = await get(jkt, target, headers={"x-sync-signature": ""})
    assert unsigned.json()["error"] == "unsigned"
    bad = await get(jkt, f"{PREFIX}{PATH}?after=nonsense")
    assert (bad.status_code, bad.json()["error"]) == (400, "bad_request")

    # A client holding a different secret for the same key id refuses the answer.
    wrong = ber.client_to(jkt, key=Key(KEY.key_id, "team", b"not the secret"))
    with pytest.raises(PeerRefused, match="bad_signature"):
        await stream_all(wrong, ber.replica)
    assert ber.store.count_ops() == 0


CHILD = textwrap.dedent("""
    import asyncio, sys
    from console.store.store import Store
    from console.sync_replica import StoreReplica
    from sync.auth import Key
    from sync.client import PeerClient, stream_all
    store = Store.open(sys.argv[1], site_name="NYC")
    client = PeerClient(sys.argv[2], Key(sys.argv[3], "team", sys.argv[4].encode()), store.site.site)
    asyncio.run(stream_all(client, StoreReplica(store), apply_ops=200))
""")


def test_a_bootstrap_killed_mid_stream_restarts_and_loses_nothing(tmp_path: Path) -> None:
    source = Store.open(f"sqlite:///{tmp_path / 'jkt.db'}", site_name="JKT")
    busy(source, 2500, "dewi")
    target = tmp_path / "nyc.db"
    with berlin_server(source, KEY) as url:
        held = killed_mid_sync(CHILD, target, url, 1000)
        assert 0 < held < source.count_ops(), held  # killed mid-way, after some lots committed
        restarted = Store.open(f"sqlite:///{target}")
        try:
            assert restarted.verify() == []
            folded = restarted.projection()
            restarted.rebuild()
            assert restarted.projection() == folded  # what committed is folded, whole
            client = PeerClient(url, KEY, restarted.site.site)
            taken = asyncio.run(stream_all(client, StoreReplica(restarted)))
            assert taken == {"accepted": source.count_ops() - held}  # only the rest came
            assert restarted.projection() == source.projection()
            assert restarted.verify() == []
        finally:
            restarted.close()
    source.close()


async def test_memory_stays_within_a_line_and_a_page_per_site(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    source = console(f"sqlite:///{tmp_path / 'jkt.db'}", "JKT")
    busy(source.store, 40, "dewi")
    ops = source.store.ops_after({}, 500, 1 << 20)[0]
    reads: list[tuple[str, int, int]] = []

    def pages(site: str, after: int, upto: int, limit: int) -> list[Op]:
        reads.append((site, after, limit))
        return [op for op in ops if after < op.seq <= upto][:limit]

    monkeypatch.setattr(snapshot, "PAGE_OPS", 10)
    stream = snapshot.fold_order(pages, {}, source.store.vector())
    assert next(stream) == ops[0] and reads == [(source.store.site.site, 0, 10)]  # read lazily
    assert list(stream) == ops[1:] and len(reads) == -(-len(ops) // 10)

    signer = snapshot.Signer(KEY.secret, "v1=seed")
    body = b"".join(snapshot.gzipped(signer.line(f) for f in snapshot.frames(iter(ops), {})))
    monkeypatch.setattr(snapshot, "MAX_DECODED", 4096)  # a line longer than this is refused

    async def chunks() -> AsyncIterator[bytes]:
        yield body

    with pytest.raises(ProtocolError, match="line exceeds 4096 bytes"):
        async for _ in snapshot.Reader(KEY.secret, "v1=seed").batches(chunks()):
            pass
    source.store.close()


async def test_a_stream_in_chunks_of_any_size_reads_as_the_same_ops(tmp_path: Path) -> None:
    """Lines span chunks (a byte at a time, or several in one): each is checked and
    parsed once, whole."""
    source = console(f"sqlite:///{tmp_path / 'jkt.db'}", "JKT")
    busy(source.store, 40, "dewi")
    ops = source.store.ops_after({}, 500, 1 << 20)[0]
    signer = snapshot.Signer(KEY.secret, "v1=seed")
    body = b"".join(snapshot.gzipped(signer.line(f) for f in snapshot.frames(iter(ops), {})))

    async def chunks(size: int) -> AsyncIterator[bytes]:
        for start in range(0, len(body), size):
            yield body[start:start + size]

    for size in (1, 7, 4096, len(body)):
        reader = snapshot.Reader(KEY.secret, "v1=seed")
        assert [op async for batch in reader.batches(chunks(size)) for op in batch] == ops
        assert reader.ended and reader.count == len(ops)
    source.store.close()
