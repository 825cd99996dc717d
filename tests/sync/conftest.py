"""Two real consoles (SQLite stores, the sync endpoints in FastAPI apps) for sync tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from console.domain import commands
from console.store.store import Store
from console.sync_replica import StoreReplica
from sync.auth import Key, Verifier
from sync.client import PeerClient
from sync.server import router

KEY = Key("team-1", "team", b"correct horse battery staple")


@dataclass
class Console:
    store: Store
    replica: StoreReplica
    app: FastAPI

    def client_to(self, other: Console, key: Key = KEY, **kw: Any) -> PeerClient:
        transport = kw.pop("transport", httpx.ASGITransport(app=other.app))
        return PeerClient("http://peer", key, self.store.site.site, transport=transport, **kw)


class Clock:
    def __init__(self) -> None:
        self.ms = int(time.time() * 1000)

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def consoles(tmp_path: Path) -> Iterator[tuple[Console, Console, Clock]]:
    clock = Clock()
    made = []
    for name in ("JKT", "BER"):
        store = Store.open(f"sqlite:///{tmp_path / name}.db", site_name=name,
                           physical=clock if name == "BER" else time_ms)
        replica = StoreReplica(store)
        app = FastAPI()
        app.include_router(router(replica, Verifier({KEY.key_id: KEY})))
        made.append(Console(store, replica, app))
    yield made[0], made[1], clock
    for console in made:
        console.store.close()


def time_ms() -> int:
    return int(time.time() * 1000)


def fill(store: Store, count: int) -> None:
    for n in range(count):
        key = store.trigger("dewi", title=f"alert {n}", service="payments", severity="sev2").state.key
        store.act(key, "dewi", lambda s, n=n: commands.note(s, f"looked at {n}"))
        if n % 2:
            store.act(key, "dewi", commands.ack)


