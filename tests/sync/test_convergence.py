"""The design's state machine (research/sync-design.md §3): 3 consoles over the real
sync endpoints, with partitions, crashes mid-apply, restarts and clock skew of up
to an hour; invariants after every step, and identical state after healing."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from console.domain import commands
from console.domain.commands import IllegalTransition
from console.domain.fold import fold
from console.store.store import Store
from console.sync_replica import StoreReplica
from sync.auth import Key, Verifier
from sync.client import PeerClient, pull_all, stream_all
from sync.server import router

KEY = Key("mesh", "team", b"a-secret-for-the-whole-mesh")
NAMES = ("JKT", "BER", "NYC")
PEER = st.integers(0, 2)
ACTIONS = {
    "ack": commands.ack, "resolve": commands.resolve, "reopen": commands.reopen,
    "unack": commands.unack, "note": lambda s: commands.note(s, "checked"),
    "escalate": lambda s: commands.escalate(s, "timeout"),
    "sev1": lambda s: commands.set_severity(s, "sev1"),
    "sev3": lambda s: commands.set_severity(s, "sev3"),
}


class Peer:
    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self.offset_ms = 0
        self.open()

    def wall(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    def open(self) -> None:
        self.store = Store.open(f"sqlite:///{self.path}", site_name=self.name, physical=self.wall)
        self.replica = StoreReplica(self.store)
        self.app = FastAPI()
        self.app.include_router(router(self.replica, Verifier({KEY.key_id: KEY})))

    def client_to(self, other: Peer) -> PeerClient:
        return PeerClient("http://peer", KEY, self.store.site.site,
                          transport=httpx.ASGITransport(app=other.app))


class Mesh(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.TemporaryDirectory()
        self.peers = [Peer(Path(self.dir.name) / f"{n}.db", n) for n in NAMES]
        self.cut: set[frozenset[int]] = set()
        self.furthest_ahead = 0
        self.seen_status: dict[tuple[int, str], tuple[int, int]] = {}

    def pull(self, a: int, b: int, limit: int = 500, *, snapshot: bool = False) -> None:
        if a == b or frozenset((a, b)) in self.cut:
            return

        async def go() -> None:
            client = self.peers[a].client_to(self.peers[b])
            try:
                if snapshot:
                    await stream_all(client, self.peers[a].replica, apply_ops=1)
                else:
                    await pull_all(client, self.peers[a].replica, limit=limit)
            finally:
                await client.aclose()
        asyncio.run(go())

    @rule(p=PEER, severity=st.sampled_from(["sev1", "sev2", "sev4"]))
    def trigger(self, p: int, severity: str) -> None:
        self.peers[p].store.trigger("oncall", title="alert", service="api", severity=severity)

    @rule(p=PEER, pick=st.integers(0, 50), action=st.sampled_from(sorted(ACTIONS)))
    def act(self, p: int, pick: int, action: str) -> None:
        incidents = self.peers[p].store.incidents(status="all")
        if incidents:
            key = incidents[pick % len(incidents)].key
            with contextlib.suppress(IllegalTransition):  # e.g. acking a resolved one
                self.peers[p].store.act(key, f"person{p}", ACTIONS[action])

    @rule(a=PEER, b=PEER, limit=st.integers(1, 7))
    def sync(self, a: int, b: int, limit: int) -> None:
        self.pull(a, b, limit)

    @rule(a=PEER, b=PEER)
    def snapshot(self, a: int, b: int) -> None:
        """Everything `b` holds past `a`'s vector, in one stream, a batch per transaction."""
        self.pull(a, b, snapshot=True)

    @rule(a=PEER, b=PEER)
    def partition(self, a: int, b: int) -> None:
        if a != b:
            self.cut.add(frozenset((a, b)))

    @rule()
    def heal(self) -> None:
        self.cut.clear()

    @rule(a=PEER, b=PEER)
    def crash_mid_apply(self, a: int, b: int) -> None:
        """The receiving store dies after storing a batch's ops, before folding them:
        the transaction rolls back, and the next pull repeats the batch."""
        store = self.peers[a].store

        def boom(*_: Any) -> None:
            raise RuntimeError("power cut")
        store._fold_in = boom  # type: ignore[method-assign]
        try:
            with contextlib.suppress(RuntimeError):
                self.pull(a, b)
        finally:
            del store._fold_in

    @rule(p=PEER)
    def restart(self, p: int) -> None:
        self.peers[p].store.close()
        self.peers[p].open()

    @rule(p=PEER, offset=st.integers(-3_600_000, 3_600_000))
    def skew(self, p: int, offset: int) -> None:
        self.peers[p].offset_ms = offset  # may jump backwards: the HLC must not
        self.furthest_ahead = max(self.furthest_ahead, offset)

    @invariant()
    def each_store_agrees_with_its_own_log(self) -> None:
        for n, peer in enumerate(self.peers):
            store = peer.store
            assert store.verify() == []
            for row in store.incidents(status="all"):
                state = store.get(row.key)
                assert state == fold(store.timeline(row.id))
                seen = (state.epoch, state.level)
                assert seen >= self.seen_status.get((n, row.id), (0, 0))  # never backwards
                self.seen_status[(n, row.id)] = seen

    def teardown(self) -> None:
        try:
            # Heal, and let time pass until every clock has reached the stamps of
            # the fastest one: ops held back as "from the future" apply then.
            self.cut.clear()
            for peer in self.peers:
                peer.offset_ms = self.furthest_ahead + 1000
            for _ in range(4):
                for a in range(3):
                    for b in range(3):
                        self.pull(a, b)
            vectors = [{k: v for k, v in p.store.vector().items() if v} for p in self.peers]
            assert vectors[0] == vectors[1] == vectors[2]
            projections = [p.store.projection() for p in self.peers]
            assert projections[0] == projections[1] == projections[2]
        finally:
            for peer in self.peers:
                peer.store.close()
            self.dir.cleanup()


Mesh.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
TestMesh = Mesh.TestCase
