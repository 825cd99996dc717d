"""A real uvicorn server on 127.0.0.1 serving the ingest app over a real store."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from console.engine.metrics import standard
from console.ingest.app import create_app
from console.ingest.commit import GroupCommitter
from console.ingest.service import IngestService
from console.store.store import Store
from policies import PolicySet
from tests.engine.conftest import load_policies, policy_text

EXTRA = """
[[integrations]]
key = "test-key-slow-0002"
service = "batch"
rate_limit_per_minute = 3
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedServer:
    """uvicorn in a thread: the real HTTP stack, stopped cleanly at the end."""

    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port,  # type: ignore[arg-type]
                                                    log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Served:
    url: str
    store: Store
    ps: PolicySet
    service: IngestService
    http: httpx.Client

    def post(self, path: str, body: object = None, **kw: object) -> httpx.Response:
        return self.http.post(self.url + path, json=body, **kw)  # type: ignore[arg-type]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}", site_name="JKT")
    ps = load_policies(tmp_path / "policies", policy_text(extra=EXTRA))
    service = IngestService(store, lambda: ps, GroupCommitter(store), metrics=standard(),
                            clock=lambda: datetime.now(UTC))
    with ThreadedServer(create_app(service)) as server, httpx.Client(timeout=10) as http:
        yield Served(f"http://127.0.0.1:{server.port}", store, ps, service, http)
    store.close()
