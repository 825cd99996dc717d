"""The console as a full peer: the Node beside it (engine election, sync with a real
peer over 127.0.0.1, HTTP), what the header and the Peers screen make of it, and
pages from the engine's console channel."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

import policies
from console.node import Node, NodeOptions, bind
from console.notify.bus import BUS
from console.notify.channels import ConsoleChannel, Delivery
from console.replication import PeerView
from console.store.store import Store
from console.tui.screens.queue import QueueScreen
from console.tui.services.node import ServeOptions
from console.tui.services.status import Services, sync_text
from sync import peers
from sync.service import PeerStatus

from .conftest import EXAMPLES, NOW, StepClock, header, make_app, settle, texts, toasts, until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def running(node: Node, sock: socket.socket | None) -> AsyncIterator[Node]:
    """A Node on this test's loop, stopped gracefully at the end."""
    task = asyncio.create_task(node.run(sock, embedded=True))
    try:
        yield node
    finally:
        node.stop()
        await task


def view(name: str, online: bool | None, *, waiting: int | None = 0, since: float | None = None,
         error: str | None = None) -> PeerView:
    return PeerView(PeerStatus(name, online, since, error=error), "http://x", None, waiting)


def test_sync_state_in_words() -> None:
    at = NOW.timestamp()
    assert sync_text(()) == "no peers"
    assert sync_text((view("BER", None), view("NYC", True))) == "connecting"
    assert sync_text((view("BER", True), view("NYC", True, waiting=None))) == "online"
    assert sync_text((view("BER", True, waiting=2),)) == "online, 2 ops waiting"
    assert sync_text((view("BER", True), view("NYC", False, since=at, waiting=3))) \
        == "NYC offline since 03:10Z, 3 ops waiting"
    assert sync_text((view("BER", False, since=at + 60), view("NYC", False, since=at))) \
        == "offline since 03:10Z"
    assert sync_text((view("BER", True), view("NYC", False, since=at, waiting=3)), short=True) \
        == "NYC offline 03:10Z, 3 waiting"
    assert sync_text((view("BER", True),), short=True) == "sync online"


@pytest.mark.parametrize(("engine", "sync"), [
    ("running", "online"), ("standby", "online, 4 ops waiting"),
    ("behind", "offline since 03:02Z, 12 ops waiting")])
async def test_header_shows_engine_and_sync_state(
        store: Store, policy_set: policies.PolicySet, engine: str, sync: str) -> None:
    app = make_app(store, policy_set, services=Services(engine=engine, sync=sync, sync_short=sync))
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        assert f"engine: {engine} · sync: {sync}" in header(app)


async def test_several_consoles_on_one_store_elect_one_engine(
        tmp_path: Path, db_path: Path, store: Store, policy_set: policies.PolicySet) -> None:
    port = free_port()
    other = subprocess.Popen(  # another process on this store, holding the engine lease
        [sys.executable, "-m", "console", "serve", "--db", str(db_path), "--port", str(port),
         "--policies", str(EXAMPLES), "--peers", str(tmp_path / "no-peers.toml"), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    app = make_app(store, policy_set, serve=ServeOptions(tmp_path / "no-peers.toml", port=0))
    try:
        async with httpx.AsyncClient() as http:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    health = (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
                    if health["engine"]["role"] == "leader":
                        break
                assert other.poll() is None
                await asyncio.sleep(0.05)
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: "engine: standby" in header(app))
            assert "sync: no peers" in header(app)
            assert app.ctx.services.http.startswith("serving on http://127.0.0.1:")
            other.terminate()  # a clean exit releases the lease: this console's engine takes over
            await until(pilot, lambda: "engine: running" in header(app))
    finally:
        if other.poll() is None:
            other.kill()
        other.wait()


async def test_a_taken_port_is_a_message_and_the_rest_runs(
        tmp_path: Path, store: Store, policy_set: policies.PolicySet) -> None:
    taken = bind("127.0.0.1", 0)
    port = taken.getsockname()[1]
    app = make_app(store, policy_set, serve=ServeOptions(tmp_path / "no-peers.toml", port=port))
    try:
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            await until(pilot, lambda: "engine: running" in header(app))
            assert any(f"cannot serve HTTP on 127.0.0.1:{port}: the port is in use" in t
                       for t in toasts(app))
            await pilot.press("5")
            await until(pilot, lambda: "not serving" in texts(app))
    finally:
        taken.close()


async def test_peers_screen_shows_a_real_peer_live(
        tmp_path: Path, store: Store, policy_set: policies.PolicySet) -> None:
    secret = tmp_path / "link.secret"
    secret.write_text("a-secret-for-jakarta-and-berlin")
    console_port = free_port()
    ber_sock = bind("127.0.0.1", 0)
    ber_port = ber_sock.getsockname()[1]
    peers.save(tmp_path / "jkt.toml", [peers.PeerEntry(
        "BER", f"http://127.0.0.1:{ber_port}", "jkt-ber", secret_file=str(secret))])
    peers.save(tmp_path / "ber.toml", [peers.PeerEntry(
        "JKT", f"http://127.0.0.1:{console_port}", "jkt-ber", secret_file=str(secret))])
    edited = tmp_path / "ber-policies"  # Berlin runs another policy set: flagged
    shutil.copytree(EXAMPLES, edited)
    integrations = edited / "integrations.toml"
    integrations.write_text(integrations.read_text().replace("= 120", "= 121"))
    theirs = policies.load(edited)
    ber_store = Store.open(f"sqlite:///{tmp_path / 'ber.db'}", site_name="BER", physical=StepClock(NOW))
    ber_store.trigger("alertmanager", title="Consumer lag 250k on orders topic", service="kafka-events",
                      severity="sev2", priority="P2", team="sre", policy="sre")
    berlin = Node(ber_store, lambda: theirs, NodeOptions(tmp_path / "ber.toml", engine=False,
                                                         sync_every=0.5))
    app = make_app(store, policy_set, serve=ServeOptions(tmp_path / "jkt.toml", port=console_port,
                                                         engine=False, sync_every=0.5))
    try:
        async with app.run_test(size=(160, 48), notifications=True) as pilot:
            async with running(berlin, ber_sock):
                await until(pilot, lambda: "sync: online" in header(app))
                assert "engine: off" in header(app)
                await pilot.press("5")
                await until(pilot, lambda: "runs another policy set" in texts(app) and "BER " in texts(app))
                shown = texts(app)
                assert "online since" in shown and "same" not in shown
                await pilot.press("1")
                queue = app.screen
                assert isinstance(queue, QueueScreen)
                await until(pilot, lambda: "BER-1" in [r.key for r in queue.table.rows])
                # a local change reaches Berlin without waiting for a round
                store.trigger("budi", title="Checkout errors", service="checkout", severity="sev2")
                await until(pilot, lambda: "JKT-7" in {i.key for i in ber_store.incidents(status="all")})
                await pilot.press("5")
            await until(pilot, lambda: "sync: offline since" in header(app))
            await until(pilot, lambda: any("BER went offline" in t for t in toasts(app)))
            assert "offline since" in texts(app)
    finally:
        ber_store.close()


async def test_a_page_for_me_from_the_console_channel_toasts_and_rings(
        store: Store, policy_set: policies.PolicySet, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(store, policy_set)
    rung: list[bool] = []
    monkeypatch.setattr(app, "bell", lambda: rung.append(True))
    channel = ConsoleChannel(BUS)

    def page(person: str, key: str, urgency: str) -> None:
        """As the dispatcher does, on a thread of its own."""
        asyncio.run(channel.send(Delivery(
            f"d-{key}", "id", person, "console", person, urgency, 1,
            {"event": "page", "text": f"{key} escalated to level 2: paged {person}",
             "incident": {"key": key, "title": "Checkout p99 latency above SLO", "severity": "sev1"}})))

    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await asyncio.to_thread(page, "marco", "JKT-2", "high")  # someone else's page
        await asyncio.to_thread(page, "budi", "JKT-1", "high")
        await until(pilot, lambda: any("JKT-1 escalated" in t for t in toasts(app)))
        assert not any("JKT-2" in t for t in toasts(app))
        assert rung == [True]
        await asyncio.to_thread(page, "budi", "JKT-3", "low")  # low urgency: a toast, no bell
        await until(pilot, lambda: any("JKT-3 escalated" in t for t in toasts(app)))
        assert rung == [True]


async def test_a_bad_peers_file_is_a_message_not_a_crash(
        tmp_path: Path, store: Store, policy_set: policies.PolicySet) -> None:
    bad = tmp_path / "peers.toml"
    bad.write_text("peers = 3\n")
    app = make_app(store, policy_set, serve=ServeOptions(bad, port=0))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await until(pilot, lambda: any("must be an array" in t for t in toasts(app)))
        await pilot.press("5")
        await until(pilot, lambda: "not serving" in texts(app) and "must be an array" in texts(app))
        assert "engine: not running" in header(app)
