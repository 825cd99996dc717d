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


def console(url: str, name: str, physical: Any = None) -> Console:
    """A store with the sync endpoints in front of it."""
    store = Store.open(url, site_name=name, physical=physical or time_ms)
    replica = StoreReplica(store)
    app = FastAPI()
    app.include_router(router(replica, Verifier({KEY.key_id: KEY})))
    return Console(store, replica, app)


@pytest.fixture
def consoles(tmp_path: Path) -> Iterator[tuple[Console, Console, Clock]]:
    clock = Clock()
    made = [console(f"sqlite:///{tmp_path / 'JKT'}.db", "JKT"),
            console(f"sqlite:///{tmp_path / 'BER'}.db", "BER", clock)]
    yield made[0], made[1], clock
    for each in made:
        each.store.close()


def time_ms() -> int:
    return int(time.time() * 1000)


def fill(store: Store, count: int) -> None:
    for n in range(count):
        key = store.trigger("dewi", title=f"alert {n}", service="payments", severity="sev2").state.key
        store.act(key, "dewi", lambda s, n=n: commands.note(s, f"looked at {n}"))
        if n % 2:
            store.act(key, "dewi", commands.ack)


