"""Engine benchmark: idle tick at 100,000 open incidents, 1,000 escalations due at once,
lateness of pages in real time, and notifications per second to a local webhook receiver.

    python bench/engine.py              # 100,000 incidents (building them takes about a minute)
    python bench/engine.py --quick      # 10,000 incidents, shorter runs

Each figure is printed beside a ceiling measured in the same run on the same disk:
the idle tick beside the same probe statements run on bare sqlite3; the 1,000
escalations beside recording 1,000 plain ops in one transaction (the store's
floor for that many ops); notifications beside an httpx client posting the same
bodies to the same receiver with the same concurrency, no outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from common import line
from sqlalchemy import update

import policies as policy_lib
from console.domain import commands
from console.domain.vocabulary import Kind
from console.engine import queries
from console.engine.cycle import Engine
from console.engine.incidents import open_or_repeat
from console.engine.lease import SqliteLease
from console.engine.runner import ENGINE_BATCH, EngineRunner
from console.notify.bus import Bus
from console.notify.channels import ConsoleChannel, WebhookChannel
from console.notify.dispatcher import Dispatcher
from console.notify.outbox import Notification, insert
from console.store.store import Store

POLICIES = textwrap.dedent("""
    [defaults]
    escalation_policy = "web"

    [[people]]
    id = "alice"
    name = "Alice"
    time_zone = "UTC"
    [people.notify]
    high = [{ channel = "console" }]

    [[escalation_policies]]
    id = "web"
    name = "Web"
    repeat = 3

    [[escalation_policies.levels]]
    targets = ["person:alice"]
    delay = "2s"
""")
RECEIVER = textwrap.dedent("""
    import sys
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import Response

    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        await request.body()
        return Response(status_code=200)

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
""")



def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def build(store: Store, count: int, now: datetime) -> list[str]:
    ids: list[str] = []
    for start in range(0, count, 2000):
        with store.writing() as w:
            for i in range(start, min(count, start + 2000)):
                ids.append(w.trigger("bench", title=f"incident {i}", service="web", severity="sev2",
                                     policy="web", labels={"n": str(i)}).state.id)
    with store.engine.begin() as conn:  # open, with deadlines tomorrow; the engine has seen them all
        conn.execute(update(queries.INCIDENTS).values(next_due_at=now + timedelta(days=1)))
        queries.save_cursor(conn, queries.vector(conn), holder="", now=now)
    return ids


def idle_tick(store: Store, engine: Engine, path: Path, now: datetime, n: int) -> None:
    engine.tick(now)
    ours = []
    for _ in range(n):
        ours.append(engine.tick(now).seconds)
    raw = sqlite3.connect(path)
    bare = []
    for _ in range(n):
        t = time.perf_counter()
        raw.execute("BEGIN")
        raw.execute("SELECT site, seq FROM site_head").fetchall()
        raw.execute("SELECT next_due_at FROM incident WHERE next_due_at IS NOT NULL "
                    "ORDER BY next_due_at LIMIT 1").fetchall()
        raw.execute("SELECT expires_at FROM heartbeat WHERE expires_at IS NOT NULL "
                    "ORDER BY expires_at LIMIT 1").fetchall()
        raw.execute("COMMIT")
        bare.append(time.perf_counter() - t)
    raw.close()
    med, p99 = statistics.median(ours) * 1000, pct(ours, 99) * 1000
    bare_med = statistics.median(bare) * 1000
    line(f"engine idle tick, {store.count_ops():,} ops in store", f"median {med:.2f} ms p99 {p99:.2f} ms",
         f"bare sqlite3 probe {bare_med:.2f} ms", bare_med / med, "<= 5 ms")


def due_at_once(store: Store, engine: Engine, ids: list[str], now: datetime) -> None:
    chosen = ids[:1000]
    with store.engine.begin() as conn:
        queries.mark_due(conn, chosen, now)
    t = time.perf_counter()
    report = engine.tick(now)
    ours = time.perf_counter() - t
    assert report.actions >= 1000, report
    t = time.perf_counter()
    with store.writing() as w:
        for incident_id in ids[1000:2000]:
            w.act(incident_id, "bench", lambda s: commands.note(s, "a plain op"))
    floor = time.perf_counter() - t
    line("1,000 escalations falling due at once", f"{ours:.2f} s ({report.notifications} notifications)",
         f"1,000 plain ops in one transaction {floor:.2f} s", floor / ours, "<= 1 s")


async def lateness(tmp: Path, seconds: float) -> None:
    (tmp / "late").mkdir()
    (tmp / "late" / "main.toml").write_text(POLICIES)
    ps = policy_lib.load(tmp / "late")
    store = Store.open(f"sqlite:///{tmp / 'late.db'}", site_name="LATE")
    engine = Engine(store, lambda: ps)
    runner = EngineRunner(engine, Dispatcher(store, {"console": ConsoleChannel(Bus())}, batch=ENGINE_BATCH),
                          SqliteLease(store.engine, timedelta(seconds=10)))
    task = asyncio.create_task(runner.run())
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end - 6:  # new incidents for a while, then let their repeats run
        def one(i: int = n) -> None:
            alert = policy_lib.Alert(service="web", severity="sev1", summary=f"late {i}")
            now = datetime.now(UTC)
            decision = policy_lib.route(alert, ps, now)
            with store.writing() as w:
                open_or_repeat(w, "bench", alert=alert, decision=decision, dedup_key=f"l{i}", now=now)

        await asyncio.to_thread(one)
        runner.wake()
        n += 1
        await asyncio.sleep(0.05)
    await asyncio.sleep(max(0.0, end - time.monotonic()))
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    late: list[float] = []
    for row in store.incidents(status="all"):
        for op in store.timeline(row.id):
            if op.kind == Kind.ESCALATE and op.actor == "engine":
                late.append((int(op.hlc.split("-")[0]) - int(op.payload["at_ms"])) / 1000)
    store.close()
    line(f"escalation lateness, {len(late)} pages of {n} incidents",
         f"p50 {pct(late, 50):.2f} s p99 {pct(late, 99):.2f} s", "tick interval 1.00 s", None, "p99 <= 1.5 s")


async def notifications(tmp: Path, count: int) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    (tmp / "receiver.py").write_text(RECEIVER)
    proc = subprocess.Popen([sys.executable, str(tmp / "receiver.py"), str(port)])
    url = f"http://127.0.0.1:{port}/hook"
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(200):
                try:
                    await client.post(url, content=b"{}")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
            store = Store.open(f"sqlite:///{tmp / 'notify.db'}", site_name="NOTE")
            now = datetime.now(UTC)
            with store.writing() as w:
                for i in range(count // 10):
                    t = w.trigger("bench", title=f"n{i}", service="web", severity="sev1")
                    insert(w.conn, [
                        (t.state.id, 0, Notification("webhook", f"p{i}-{k}", url, now, f"escalate:0:0:{k}",
                                                     {"event": "page", "text": "x",
                                                      "incident": {"key": t.state.key}}))
                        for k in range(10)], now)
            dispatcher = Dispatcher(store, {"webhook": WebhookChannel(client, b"bench")}, batch=200)
            t0 = time.perf_counter()
            sent = 0
            while sent < count:
                report = await dispatcher.run_once(now)
                sent += report.sent
                if report.handled == 0:
                    break
            ours = sent / (time.perf_counter() - t0)
            store.close()
            body = b'{"delivery":"x","event":"page","incident":{"key":"B-1","title":"n"},"text":"x"}' * 2
            gate = asyncio.Semaphore(32)

            async def post() -> None:
                async with gate:
                    await client.post(url, content=body, headers={"Content-Type": "application/json"})

            t0 = time.perf_counter()
            await asyncio.gather(*(post() for _ in range(count)))
            bare = count / (time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait()
    line("notifications to a local webhook receiver", f"{ours:,.0f} /s ({sent} sent)",
         f"bare httpx posts {bare:,.0f} /s", ours / bare, "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    count = 10_000 if args.quick else 100_000
    tmp = Path(tempfile.mkdtemp(prefix="sunrelay-bench-engine-"))
    path = tmp / "big.db"
    (tmp / "p").mkdir()
    (tmp / "p" / "main.toml").write_text(POLICIES)
    ps = policy_lib.load(tmp / "p")
    store = Store.open(f"sqlite:///{path}", site_name="BIG")
    now = datetime.now(UTC)
    t = time.perf_counter()
    ids = build(store, count, now)
    print(f"(built {count:,} open incidents in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    engine = Engine(store, lambda: ps)
    idle_tick(store, engine, path, now, 300)
    due_at_once(store, engine, ids, now + timedelta(seconds=1))
    store.close()
    asyncio.run(lateness(tmp, 10 if args.quick else 16))
    asyncio.run(notifications(tmp, 1000 if args.quick else 2000))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
