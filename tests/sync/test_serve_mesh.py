"""Three `sunrelay serve` processes on 127.0.0.1 in a full mesh: one is cut off,
all sides change, it comes back, and the CLI shows the same incidents everywhere."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync import peers

NAMES = ("JKT", "BER", "NYC")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    name: str
    db: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--port", str(self.port), "--no-engine",
             "--sync-every", "0.5", "--log-level", "warning"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(15)
            self.process = None

    def cli(self, *args: str) -> Any:
        done = subprocess.run([sys.executable, "-m", "console", *args], env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if "--json" in args else done.stdout

    def incidents(self) -> list[tuple[str, str, int]]:
        listing = self.cli("list", "--status", "all", "--json")["incidents"]
        return sorted((i["key"], i["status"], i["alert_count"]) for i in listing)


@pytest.fixture
def mesh(tmp_path: Path) -> Iterator[list[Node]]:
    secret = tmp_path / "mesh.secret"
    secret.write_text("a-secret-shared-by-the-whole-mesh")
    ports = {name: free_port() for name in NAMES}
    nodes = []
    for name in NAMES:
        home = tmp_path / name
        home.mkdir()
        entries = [peers.PeerEntry(other, f"http://127.0.0.1:{ports[other]}", "mesh",
                                   secret_file=str(secret)) for other in NAMES if other != name]
        peers.save(home / "peers.toml", entries)
        env = {**os.environ, "SUNRELAY_DB": str(home / "store.db"), "SUNRELAY_SITE": name,
               "SUNRELAY_PEERS": str(home / "peers.toml"), "SUNRELAY_USER": name.lower(),
               "XDG_DATA_HOME": str(home / "xdg")}
        nodes.append(Node(name, home / "store.db", ports[name], env))
    for node in nodes:
        node.cli("db", "upgrade")
        node.start()
    yield nodes
    for node in nodes:
        node.stop()


def converge(nodes: list[Node], timeout: float = 45) -> list[tuple[str, str, int]]:
    deadline = time.monotonic() + timeout
    while True:
        seen = [node.incidents() for node in nodes]
        if all(s == seen[0] for s in seen):
            return seen[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no convergence: {seen}")
        time.sleep(0.3)


@pytest.mark.slow
def test_a_console_cut_off_catches_up_after_it_returns(mesh: list[Node]) -> None:
    jkt, ber, nyc = mesh
    for node in mesh:
        node.cli("trigger", f"{node.name} alert", "--service", "api")
    assert [key for key, _, _ in converge(mesh)] == ["BER-1", "JKT-1", "NYC-1"]

    nyc.stop()  # New York drops off the network; everyone keeps working
    jkt.cli("ack", "BER-1")
    ber.cli("trigger", "Berlin again", "--service", "db")
    nyc.cli("resolve", "JKT-1")  # offline work on New York's own store
    nyc.cli("note", "NYC-1", "worked on this while offline")
    nyc.start()

    final = converge(mesh)
    assert final == [("BER-1", "acknowledged", 1), ("BER-2", "triggered", 1),
                     ("JKT-1", "resolved", 1), ("NYC-1", "triggered", 1)]
    notes = ber.cli("show", "NYC-1", "--json")["notes"]
    assert [n["text"] for n in notes] == ["worked on this while offline"]
    for node in mesh:
        assert "op log intact" in node.cli("db", "verify")
