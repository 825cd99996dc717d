"""`sunrelay serve` as a real process: kill -9 durability, and one engine per store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from console.domain.vocabulary import Kind
from console.notify.outbox import OUTBOX
from console.store.store import Store
from tests.engine.conftest import load_policies, policy_text
from tests.ingest.conftest import free_port

KEY = "test-key-web-0001"
PEOPLE_CONSOLE_ONLY = policy_text().replace('{ channel = "webhook" }', '{ channel = "console" }')


class Serve:
    def __init__(self, tmp: Path, db: str, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SUNRELAY_DB": db, "SUNRELAY_SITE": "JKT",
               "SUNRELAY_POLICIES": str(tmp / "policies"), "SUNRELAY_WEBHOOK_SECRET": "s"}
        self.log = open(tmp / f"serve-{self.port}.log", "wb")  # noqa: SIM115  (closed in stop)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--port", str(self.port), "--log-level", "warning",
             *extra], env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(self.url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("sunrelay serve did not start") from None
                time.sleep(0.05)

    def health(self) -> dict[str, object]:
        doc: dict[str, object] = httpx.get(self.url + "/healthz", timeout=2).json()
        return doc

    def role(self) -> str:
        return str(self.health()["engine"]["role"])  # type: ignore[index]

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def paged(store: Store, incident_id: str) -> bool:
    return any(op.kind == Kind.ESCALATE and op.actor == "engine" for op in store.timeline(incident_id))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[str]:
    load_policies(tmp_path / "policies", PEOPLE_CONSOLE_ONLY)
    yield f"sqlite:///{tmp_path / 'store.db'}"


def test_every_202_survives_kill_9_and_no_outbox_row_is_lost(tmp_path: Path, db: str) -> None:
    server = Serve(tmp_path, db)
    accepted: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(n: int) -> None:
        with httpx.Client(timeout=5) as http:
            i = 0
            while not stop.is_set():
                i += 1
                dedup = f"c{n}-{i // 5}"  # every fifth event repeats: 20% dedup hits
                body = {"routing_key": KEY, "event_action": "trigger", "dedup_key": dedup,
                        "payload": {"summary": f"event {n}-{i}", "source": "t", "severity": "critical"}}
                try:
                    r = http.post(server.url + "/v2/enqueue", json=body)
                except httpx.HTTPError:
                    continue
                if r.status_code == 202:
                    with lock:
                        accepted.append(dedup)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(accepted) < 400 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.kill()  # mid-stream: the clients are still posting
    stop.set()
    for t in threads:
        t.join()
    server.stop()
    assert len(accepted) >= 400

    again = Serve(tmp_path, db)
    try:
        deadline = time.monotonic() + 20
        with Store.open(db) as store:
            held = {row.dedup_key for row in store.incidents(status="all")}
            assert set(accepted) <= held  # every 202 is in the store
            while not all(paged(store, r.id) for r in store.incidents()):
                assert time.monotonic() < deadline  # the restarted engine pages what was left undone
                time.sleep(0.2)
            with store.engine.connect() as conn:
                causes = {(r.incident_id, r.cause) for r in conn.execute(select(OUTBOX))}
            for row in store.incidents(status="all"):
                for op in store.timeline(row.id):
                    if op.kind == Kind.ESCALATE and op.actor == "engine":
                        p = op.payload
                        cause = f"escalate:{p['epoch']}:{p['loop']}:{int(p['level']) - 1}"
                        assert (row.id, cause) in causes, (row.key, cause)
            assert store.verify() == []
    finally:
        again.stop()


def test_two_processes_on_one_store_elect_one_engine_and_fail_over(tmp_path: Path, db: str) -> None:
    a = Serve(tmp_path, db, "--lease-seconds", "2")
    b = Serve(tmp_path, db, "--lease-seconds", "2")
    try:
        deadline = time.monotonic() + 10
        while sorted((a.role(), b.role())) != ["leader", "standby"]:
            assert time.monotonic() < deadline, (a.health(), b.health())
            time.sleep(0.1)
        for _ in range(10):  # and it stays that way
            assert sorted((a.role(), b.role())) == ["leader", "standby"]
            time.sleep(0.1)
        leader, other = (a, b) if a.role() == "leader" else (b, a)
        leader.kill()
        killed = time.monotonic()
        while other.role() != "leader":
            assert time.monotonic() - killed < 2 + 2, other.health()  # the lease, plus one renewal
            time.sleep(0.1)
        # The survivor runs the engine: an alert posted to it is paged.
        httpx.post(other.url + "/v2/enqueue", json={
            "routing_key": KEY, "event_action": "trigger", "dedup_key": "after-failover",
            "payload": {"summary": "s", "source": "t", "severity": "critical"}})
        with Store.open(db) as store:
            [row] = store.incidents()
            deadline = time.monotonic() + 5
            while not paged(store, row.id):
                assert time.monotonic() < deadline
                time.sleep(0.1)
            assert len([op for op in store.timeline(row.id) if op.kind == Kind.ESCALATE]) == 1
    finally:
        a.stop()
        b.stop()
