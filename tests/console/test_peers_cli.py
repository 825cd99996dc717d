"""`sunrelay peers …` in a subprocess, `test` against a real sync server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from console.store.store import Store
from console.sync_replica import StoreReplica
from sync.auth import Key, Verifier
from sync.server import router
from tests.console.test_cli import Cli

SECRET = "shared-between-jakarta-and-berlin"


@contextmanager
def berlin_server(store: Store, key: Key) -> Iterator[str]:
    """The store's sync endpoint, served by uvicorn on a free 127.0.0.1 port."""
    app = FastAPI()
    app.include_router(router(StoreReplica(store), Verifier({key.key_id: key})))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def berlin(tmp_path: Path) -> Iterator[str]:
    store = Store.open(f"sqlite:///{tmp_path / 'ber.db'}", site_name="BER")
    store.trigger("jonas", title="Berlin incident", service="db", severity="sev3")
    with berlin_server(store, Key("jkt-ber", "JKT", SECRET.encode())) as url:
        yield url
    store.close()


def test_add_list_test_remove(tmp_path: Path, berlin: str) -> None:
    cli = Cli(tmp_path / "jkt.db")
    cli.env["SUNRELAY_PEERS"] = str(tmp_path / "peers.toml")
    cli.env["BER_SECRET"] = SECRET
    cli.run("trigger", "Jakarta incident", "--service", "api")
    assert "added BER" in cli.run("peers", "add", "ber", berlin, "--key-id", "jkt-ber",
                                  "--secret-env", "BER_SECRET").stdout
    assert berlin in cli.run("peers", "list").stdout
    tested = cli.run("peers", "test").stdout
    assert "BER: ok, site BER" in tested and "it has 1 ops we lack, we have 1 it lacks" in tested

    done = cli.run("peers", "test", ok=False, BER_SECRET="a-wrong-but-long-secret")
    assert done.returncode == 1 and "bad_signature" in done.stdout

    done = cli.run("peers", "add", "ber", berlin, "--key-id", "x", "--secret-env", "E", ok=False)
    assert done.returncode == 1 and "already in" in done.stderr
    done = cli.run("peers", "add", "nyc", "ftp://nyc", "--key-id", "x", "--secret-env", "E", ok=False)
    assert "http:// or https://" in done.stderr
    cli.run("peers", "remove", "BER")
    assert "no peers" in cli.run("peers", "list").stdout
