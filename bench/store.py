"""Store benchmark: op recording, fold, and the open-incident query, beside raw SQLite.

    python bench/store.py            # the full run (about a minute)
    python bench/store.py --quick    # smaller counts, for a smoke check

Every rate is printed next to the ceiling measured in the same run on the same
disk (raw sqlite3 inserts, WAL and synchronous=FULL, of rows the size of our op
rows keyed by uuid7s as our ops are), with the ratio. The store and the ceiling
run in turns (50 transactions, or one batch, each), so both meet the same disk
and the same neighbours: absolute figures drift on shared machines, ratios hold.
Remote ops and the incidents they open carry uuid7 ids, as every Sunrelay makes them.

Once the first store is open, the bench calls `gc.freeze()`, as the TUI, `sunrelay
serve` and the console node do after start-up: the collector then no longer
walks the modules and objects start-up made each time it runs. The remote ops
are built in memory before they are received, 200,000 at once as no console
holds them, and are frozen too (bench/sync.py does the same with its input).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import line

from console.domain import commands
from console.domain.fold import fold
from console.store.store import Store
from sync.hlc import HLC
from sync.oplog import new_op_id
from sync.ops import GENESIS_HASH, Op, op_hash

T0 = 1_795_000_000_000



class RemoteSite:
    """Ops as another console would send them: uuid7 ids, hashed, chained, stamped 1 ms apart."""

    def __init__(self) -> None:
        self.site = uuid.uuid4().hex
        self.seq = 0
        self.tip = GENESIS_HASH
        self.clock = T0

    def op(self, entity: str, kind: str, payload: dict[str, object]) -> Op:
        self.seq += 1
        self.clock += 1
        op_id, hlc, prev = new_op_id(), HLC(self.clock).encode(), self.tip
        self.tip = op_hash(op_id, self.site, self.seq, hlc, "bench", entity, kind, payload, 1, prev)
        return Op(op_id, self.site, self.seq, hlc, "bench", entity, kind, payload, 1, prev, self.tip)


class RawCeiling:
    """sqlite3 itself: WAL, synchronous=FULL, rows of `row_bytes` keyed by uuid7s like our ops.

    Run in turns with the store (`turn`), so both see the same disk and the same
    neighbours: on a shared machine, rates measured a minute apart differ by more
    than the effects measured.
    """

    def __init__(self, path: Path, row_bytes: int, per_txn: int) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, site TEXT, seq INTEGER, body TEXT)")
        self.body = "x" * max(0, row_bytes - 80)
        self.site = uuid.uuid4().hex
        self.per_txn = per_txn
        self.rows = 0
        self.seconds = 0.0

    def turn(self, count: int) -> None:
        start = time.perf_counter()
        for _ in range(0, count, self.per_txn):
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", [
                (new_op_id(), self.site, self.rows + n, self.body) for n in range(self.per_txn)])
            self.conn.execute("COMMIT")
            self.rows += self.per_txn
        self.seconds += time.perf_counter() - start

    @property
    def rate(self) -> float:
        return self.rows / self.seconds


class Timed:
    """Seconds spent in `with timed:` blocks, summed: wall, and this process's CPU
    (which a loaded machine disturbs less than the wall)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.cpu = 0.0

    def __enter__(self) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def __exit__(self, *_: object) -> None:
        self.seconds += time.perf_counter() - self.start
        self.cpu += time.process_time() - self.cpu_start


def op_row_bytes(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(
            "SELECT avg(length(op_id) + length(site) + 8 + length(hlc) + length(actor) + "
            "length(entity) + length(kind) + length(payload) + 4 + length(prev_hash) + length(hash))"
            " FROM op_log").fetchone()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    args = parser.parse_args()
    singles = 500 if args.quick else 3000
    batched = 20_000 if args.quick else 100_000
    total = 10_000 if args.quick else 100_000
    open_count = 200 if args.quick else 2_000
    tmp = Path(tempfile.mkdtemp(prefix="sunrelay-bench-"))
    print(f"# bench/store.py on {os.cpu_count()} cores, store in {tmp}")

    # -- single-op transactions: a note per commit, through the whole write path,
    # in turns of 50 with the ceiling
    store = Store.open(f"sqlite:///{tmp / 'single.db'}", site_name="JKT")
    key = store.trigger("bench", title="warm-up", service="svc", severity="sev2").state.key
    gc.freeze()  # as the long-running processes do once started (see the docstring)
    for n in range(50):
        store.act(key, "bench", lambda s, n=n: commands.note(s, f"checked dashboards, step {n}"))
    row_bytes = op_row_bytes(tmp / "single.db")
    raw = RawCeiling(tmp / "raw1.db", row_bytes, 1)
    ours = Timed()
    for first in range(0, singles, 50):
        with ours:
            for n in range(first, first + 50):
                store.act(key, "bench", lambda s, n=n: commands.note(s, f"checked dashboards, step {n}"))
        raw.turn(50)
    store.close()
    single_rate = singles / ours.seconds
    line("ops recorded, 1 op per transaction (FULL)",
         f"{single_rate:,.0f} ops/s ({ours.cpu / singles * 1e6:.0f} us CPU/op)",
         f"raw sqlite3 {raw.rate:,.0f} rows/s ({row_bytes} B rows)", single_rate / raw.rate,
         ">= 5,000 ops/s or ratio >= 0.70")

    # -- batched: local ops, 500 per transaction; remote ops, 500 per sync batch
    store = Store.open(f"sqlite:///{tmp / 'batch.db'}", site_name="JKT")
    key = store.trigger("bench", title="batch", service="svc", severity="sev2").state.key
    per_txn = 500
    raw = RawCeiling(tmp / "rawb.db", row_bytes, per_txn)
    ours = Timed()
    for first in range(0, batched, per_txn):
        with ours:
            store.act(key, "bench", lambda s, f=first: [commands.note(s, f"step {f + i}")
                                                        for i in range(per_txn)])
        raw.turn(per_txn)
    local_rate = batched / ours.seconds
    line(f"ops recorded, local, {per_txn} per transaction",
         f"{local_rate:,.0f} ops/s ({ours.cpu / batched * 1e6:.1f} us CPU/op)",
         f"raw sqlite3 {raw.rate:,.0f} rows/s", local_rate / raw.rate, ">= 50,000 ops/s")

    make = RemoteSite().op
    incidents = [new_op_id() for _ in range(total)]
    remote: list[Op] = []
    for n, entity in enumerate(incidents, 1):
        remote.append(make(entity, "trigger", {
            "key": f"BER-{n}", "key_number": n, "title": f"Checkout latency above SLO #{n}",
            "service": f"svc-{n % 40}", "severity": f"sev{1 + n % 4}", "stage": "new",
            "labels": {"region": "ber", "tier": "vip" if n % 7 == 0 else "std"}}))
    for entity in incidents[open_count:]:
        remote.append(make(entity, "resolve", {"epoch": 0}))
    # Every op received, held at once: a console never holds its input so (it takes lots of
    # 500-5,000), so the bench's own input is frozen out of the collector's walks too.
    gc.freeze()
    ours = Timed()
    for first in range(0, len(remote), per_txn):
        with ours:
            store.receive(remote[first:first + per_txn])
        raw.turn(per_txn)
    remote_rate = len(remote) / ours.seconds
    line(f"ops received, remote, {per_txn} per batch (+fold)",
         f"{remote_rate:,.0f} ops/s ({ours.cpu / len(remote) * 1e6:.0f} us CPU/op)",
         f"raw sqlite3 {raw.rate:,.0f} rows/s", remote_rate / raw.rate, ">= 20,000 ops/s")

    # -- fold of an incident with 1,000 ops
    make = RemoteSite().op
    entity = new_op_id()
    history = [make(entity, "trigger", {"key": "NYC-1", "key_number": 1, "title": "t",
                                        "service": "s", "severity": "sev2", "labels": {}})]
    kinds = [("note", {"text": "looked at it"}), ("retrigger", {}),
             ("escalate", {"epoch": 0, "loop": 0, "level": 2, "reason": "timeout"}),
             ("set_stage", {"stage": "triage", "supersedes": []})]
    for n in range(999):
        kind, payload = kinds[n % len(kinds)]
        history.append(make(entity, kind, payload))
    times = []
    for _ in range(20):
        start = time.perf_counter()
        fold(history)
        times.append(time.perf_counter() - start)
    line("fold of one incident with 1,000 ops", f"{statistics.median(times) * 1000:.2f} ms (median of 20)")

    # -- the open-incident query and the whole `list` command
    store.close()
    store = Store.open(f"sqlite:///{tmp / 'batch.db'}")
    query_times = []
    for _ in range(20):
        start = time.perf_counter()
        rows = store.incidents()
        query_times.append(time.perf_counter() - start)
    assert len(rows) == open_count + 1, len(rows)
    store.close()
    line(f"open incidents query ({open_count + 1:,} open of {total + 1:,})",
         f"{statistics.median(query_times) * 1000:.1f} ms (median of 20)", target="< 50 ms")
    env = {**os.environ, "SUNRELAY_DB": str(tmp / "batch.db")}
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "console", "list", "--json"], env=env,
                              capture_output=True, check=True)
        runs.append(time.perf_counter() - start)
    assert len(json.loads(done.stdout)["incidents"]) == open_count + 1
    startup = []
    for _ in range(5):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        startup.append(time.perf_counter() - start)
    line("`sunrelay list --json`, whole command", f"{statistics.median(runs) * 1000:.0f} ms "
         "(median of 5)", f"bare python start {statistics.median(startup) * 1000:.0f} ms",
         target="< 1 s")


if __name__ == "__main__":
    main()
