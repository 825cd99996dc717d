"""Sync benchmark: two real `sunrelay serve` processes on 127.0.0.1.

    python bench/sync.py            # 100,000 ops, an outage of 20,000, 100 pokes
    python bench/sync.py --quick    # 10,000 / 2,000 / 30

Prints full replication from an empty peer (ops/s beside what the receiving
store takes in-process, the ceiling here, and CPU per op of each console beside
the store's: the steadier figure on a shared machine), wire bytes per op against the op's
compact JSON, catch-up after an outage, and how soon an alert ingested on one
console is visible in the other's store (p50/p99, pushed at once after the
commit). Each replication says which path it took: the snapshot stream or
pulls of 500-op batches (the receiving console's log tells).
"""

from __future__ import annotations

import argparse
import gc
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import free_port, line

from console.domain import commands
from console.store.store import Store
from sync import peers, snapshot
from sync.client import APPLY_OPS
from sync.ops import Op, canonical_json
from sync.protocol import BATCH_OPS, encode

ROUTING_KEY = "r0ut1ng-k3y-payments-prod"  # policies/examples/integrations.toml




class Console:
    """One `sunrelay serve` with its own store, peered with the other."""

    def __init__(self, root: Path, name: str, port: int) -> None:
        self.name, self.port = name, port
        self.home = root / name
        self.home.mkdir()
        self.db = self.home / "store.db"
        self.env = {**os.environ, "SUNRELAY_DB": str(self.db), "SUNRELAY_SITE": name,
                    "SUNRELAY_PEERS": str(self.home / "peers.toml"),
                    "XDG_DATA_HOME": str(self.home / "xdg")}
        self.log = self.home / "serve.log"
        self.process: subprocess.Popen[bytes] | None = None

    def peer_with(self, other: Console, secret: Path) -> None:
        peers.save(self.home / "peers.toml", [peers.PeerEntry(
            other.name, f"http://127.0.0.1:{other.port}", "bench", secret_file=str(secret))])

    def start(self) -> None:
        with self.log.open("wb") as log:  # this run's lines only
            self.process = subprocess.Popen(
                [sys.executable, "-m", "console", "serve", "--port", str(self.port), "--no-engine",
                 "--log-level", "info"], env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise SystemExit(f"{self.name} did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    def cpu(self) -> float:
        """CPU seconds the process has used (user and system), from /proc."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def path(self) -> str:
        """How the last replication came: the service logs each snapshot it takes."""
        lines = self.log.read_text(errors="replace").splitlines()
        return "snapshot" if any(" snapshot from " in line for line in lines) else "pull"

    def ops(self) -> int:
        """Ops held, each site's chain up to its head: a few rows to read, where
        counting the log every 20 ms would take a core from the consoles measured."""
        with sqlite3.connect(self.db, timeout=10) as conn:
            return int(conn.execute("SELECT coalesce(sum(seq), 0) FROM site_head").fetchone()[0])


def wait_for(console: Console, count: int, timeout: float = 600) -> float:
    start = time.perf_counter()
    while console.ops() < count:
        if time.perf_counter() - start > timeout:
            raise SystemExit(f"{console.name} stuck at {console.ops()} of {count} ops")
        time.sleep(0.02)
    return time.perf_counter() - start


def wire_bytes(ops: list[Op], path: str) -> int:
    """The bytes on the wire for `ops`, encoded as that path encodes them."""
    if path.startswith("snapshot"):
        signer = snapshot.Signer(b"secret", "v1=seed")
        lines = (signer.line(frame) for frame in snapshot.frames(iter(ops), {}))
        return sum(len(chunk) for chunk in snapshot.gzipped(lines))
    return sum(len(encode({"ops": [op.to_dict() for op in ops[i:i + BATCH_OPS]],
                           "more": True, "vector": {}, "phys_now_ms": 0}))
               for i in range(0, len(ops), BATCH_OPS))


def make_ops(store: Store, count: int) -> None:
    """Incidents with a note each: two ops per incident, committed 1,000 at a time."""
    for first in range(0, count, 1000):
        with store.writing() as writes:
            for n in range(first, min(count, first + 1000), 2):
                key = writes.trigger("bench", title=f"Checkout latency above SLO #{n}",
                                     service=f"svc-{n % 40}", severity="sev3",
                                     labels={"region": "jkt"}).state.key
                writes.act(key, "bench", lambda s: commands.note(s, "looked at the dashboards"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    total, outage, pokes = (10_000, 2_000, 30) if args.quick else (100_000, 20_000, 100)
    root = Path(tempfile.mkdtemp(prefix="sunrelay-bench-sync-"))
    secret = root / "secret"
    secret.write_text("a-bench-secret-shared-by-both")
    jkt, ber = Console(root, "JKT", free_port()), Console(root, "BER", free_port())
    jkt.peer_with(ber, secret)
    ber.peer_with(jkt, secret)
    print(f"# bench/sync.py on {os.cpu_count()} cores, in {root}", flush=True)

    source = Store.open(f"sqlite:///{jkt.db}", site_name="JKT")
    make_ops(source, total)
    everything, _ = source.ops_after({}, total + 1, 1 << 40)
    compact = sum(len(canonical_json(op.to_dict())) for op in everything)
    ceiling_store = Store.open(f"sqlite:///{root / 'ceiling.db'}", site_name="CEIL")
    # The ops fed in are held here, as no receiving console holds them: frozen, the
    # collector's full passes do not walk them (which cost the store ~15% here).
    gc.freeze()
    start, cpu_start = time.perf_counter(), time.process_time()
    for i in range(0, len(everything), APPLY_OPS):
        ceiling_store.receive(everything[i:i + APPLY_OPS])
    ceiling = len(everything) / (time.perf_counter() - start)
    ceiling_cpu = (time.process_time() - cpu_start) / len(everything)
    gc.unfreeze()
    ceiling_store.close()

    try:
        jkt.start()
        ber.start()
        cpu = {console: console.cpu() for console in (jkt, ber)}
        seconds = wait_for(ber, total)
        cpu = {console: (console.cpu() - before) / total for console, before in cpu.items()}
        path = ber.path()
        line(f"full replication of {total:,} ops, empty peer", f"{total / seconds:,.0f} ops/s "
             f"({seconds:.1f} s) by {path}",
             f"store receive in-process ({APPLY_OPS:,}-op lots) {ceiling:,.0f} ops/s",
             total / seconds / ceiling, ">= 10,000 ops/s")
        line("  CPU per op (steadier under load)", f"BER {cpu[ber] * 1e6:.0f} us, "
             f"JKT {cpu[jkt] * 1e6:.0f} us", f"store receive in-process {ceiling_cpu * 1e6:.0f} us",
             ceiling_cpu / cpu[ber])
        wire = wire_bytes(everything, path)
        line(f"wire bytes per op (gzip, {path.split()[0]})", f"{wire / total:.0f} B",
             f"compact JSON {compact / total:.0f} B", wire / compact, "ratio < 0.50")

        ber.stop()  # an outage: Berlin is gone while Jakarta keeps working
        make_ops(source, outage)
        launched = time.perf_counter()
        ber.start()
        starting = time.perf_counter() - launched  # imports and opening the store
        seconds = wait_for(ber, total + outage)
        line(f"catch-up after an outage of {outage:,} ops", f"{seconds:.2f} s from its restart "
             f"(answering /healthz; the process took {starting:.1f} s to get there) "
             f"by {ber.path()}", target="< 5 s")

        latencies = []
        with httpx.Client(base_url=f"http://127.0.0.1:{jkt.port}") as http, \
                sqlite3.connect(ber.db, timeout=10) as seen:
            for n in range(pokes):
                dedup = f"bench-visibility-{n}"
                answer = http.post("/v2/enqueue", json={
                    "routing_key": ROUTING_KEY, "event_action": "trigger", "dedup_key": dedup,
                    "payload": {"summary": f"visibility probe {n}", "source": "bench",
                                "severity": "warning"}})
                accepted = time.perf_counter()
                assert answer.status_code == 202, answer.text
                while not seen.execute("SELECT 1 FROM incident WHERE dedup_key = ?",
                                       (dedup,)).fetchone():
                    time.sleep(0.002)
                latencies.append(time.perf_counter() - accepted)
                time.sleep(0.05)
        latencies.sort()
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        line(f"ingest on JKT -> visible in BER's store ({pokes})",
             f"p50 {statistics.median(latencies) * 1000:.0f} ms p99 {p99 * 1000:.0f} ms",
             target="p99 < 1 s")
    finally:
        jkt.stop()
        ber.stop()
        source.close()


if __name__ == "__main__":
    main()
