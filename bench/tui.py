"""Console benchmark with 10,000 open incidents: first frame, key-to-repaint
latency, idle CPU with countdowns running, peak RSS.

    python bench/tui.py                 # 10,000 incidents, 30 s of idle
    python bench/tui.py --quick         # 2,000 incidents, 5 s of idle

First frame, idle CPU and RSS are measured on the real program in a pty at
80x24 (process start until the first row of the queue is on the terminal,
and the CPU the process used until then, the steadier figure on a shared
machine; CPU from /proc over the idle window; VmHWM). The project's modules
are byte-compiled first, as installing the wheel does: with
PYTHONDONTWRITEBYTECODE set, every start would compile them again. The
console goes on starting after its first frame (the whole queue, the policy
set, the store watcher): the CPU that takes is printed on its own, and the
idle window begins after it. Key latencies run the app under
Pilot (`App.run_test`) in this process: each key is posted as the terminal
driver posts it, and timed until the first repaint after the screen acted
on it. Opening an incident is timed twice: to the repaint showing its screen
with the header (what the queue row knows), and to the repaint after its
detail and timeline, loaded by a worker, are drawn. Each latency line is
followed by the CPU the process used from the key to that repaint, which
other work on the machine disturbs less than the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual import events
from textual.screen import Screen
from textual.widgets import Input

import policies
from console.store.store import Store
from console.tui.app import SunrelayApp
from console.tui.screens.incident import IncidentScreen
from console.tui.screens.queue import QueueScreen
from console.tui.services.queue import parse_filter

EXAMPLES = Path(policies.__file__).parent / "examples"
SETTLE_SECONDS = 10.0
SERVICES = [("checkout", "payments", "payments"), ("postgres-main", "database", "database"),
            ("api-gateway", "sre", "sre"), ("search", "sre", "sre"), ("kafka-events", "sre", "sre")]


def line(what: str, figure: str, target: str) -> None:
    print(f"{what:<44}: {figure:<22} target {target}", flush=True)


def build(path: Path, count: int) -> None:
    with Store.open(f"sqlite:///{path}", site_name="JKT") as store:
        for start in range(0, count, 1000):
            with store.writing() as writes:
                for n in range(start, min(count, start + 1000)):
                    service, team, policy = SERVICES[n % len(SERVICES)]
                    writes.trigger("bench", title=f"Synthetic alert {n} on {service}",
                                   service=service, severity=f"sev{1 + n % 4}",
                                   priority=f"P{1 + n % 4}", team=team, policy=policy)


def ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def peak_rss_mb(pid: int) -> float:
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmHWM:"):
            return int(row.split()[1]) / 1024
    return float("nan")


def terminal_figures(db: Path, idle_seconds: float) -> None:
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24",
           "SUNRELAY_POLICIES": str(EXAMPLES)}
    started = time.perf_counter()
    # The console alone: with its engine on, the "idle" window would be the engine paging
    # 10,000 incidents nobody was ever paged for, which is work, not idle.
    proc = subprocess.Popen([sys.executable, "-m", "console", "--db", str(db), "--as", "budi",
                             "--no-serve", "--no-engine"],
                            stdin=slave, stdout=slave, stderr=slave, env=env,
                            start_new_session=True)
    os.close(slave)
    seen = b""
    first = None
    while time.perf_counter() - started < 30:
        ready, _, _ = select.select([master], [], [], 0.01)
        if ready:
            seen += os.read(master, 65536)
            if b"SEV1" in seen and b"Quit" in seen:
                first = time.perf_counter() - started
                break
    clk = os.sysconf("SC_CLK_TCK")
    at_first = ticks(proc.pid)
    line("first frame (process start to queue shown)",
         f"{first:.2f} s" if first is not None else "not seen in 30 s", "<= 1.0 s")
    line("CPU to the first frame", f"{at_first / clk:.2f} s", "none")
    time.sleep(SETTLE_SECONDS)
    line(f"CPU in the {SETTLE_SECONDS:.0f} s after it (rest of startup)",
         f"{(ticks(proc.pid) - at_first) / clk:.2f} s", "none")
    before, t0 = ticks(proc.pid), time.perf_counter()
    out = 0
    while time.perf_counter() - t0 < idle_seconds:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            out += len(os.read(master, 65536))
    elapsed = time.perf_counter() - t0
    cpu = (ticks(proc.pid) - before) / clk / elapsed * 100
    line(f"idle CPU, countdowns ticking ({elapsed:.0f} s)",
         f"{cpu:.1f}% of a core, {out / elapsed / 1024:.1f} KB/s", "<= 5%")
    line("peak RSS", f"{peak_rss_mb(proc.pid):.0f} MB", "<= 250 MB")
    os.write(master, b"q")
    proc.wait(timeout=15)
    os.close(master)


def pct(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else values[0]


class Repaints:
    """Timestamps of the screen's compositor updates: a key's latency ends at the
    first repaint after the screen has acted on it. Each key also notes the CPU the
    process used until that repaint (all its threads), the figure a shared machine
    disturbs less: with other work on both cores the wall time is mostly waiting."""

    def __init__(self) -> None:
        self.cpu: dict[str, list[float]] = {}
        self.waiting: tuple[Callable[[], bool], asyncio.Future[tuple[float, float]]] | None = None
        original = Screen._compositor_refresh
        repaints = self

        def timed(screen: Screen[object]) -> None:
            original(screen)
            waiting = repaints.waiting
            # Only the top screen's refresh draws; a screen under it (the queue, just
            # covered by an incident) refreshes without drawing anything.
            if (waiting is not None and screen is screen.app.screen and not waiting[1].done()
                    and waiting[0]()):
                waiting[1].set_result((time.perf_counter(), time.process_time()))

        Screen._compositor_refresh = timed  # type: ignore[method-assign]

    async def key(self, app: SunrelayApp, key: str, done: Callable[[], bool], what: str) -> float:
        """Post the key as the terminal driver does; wait until `done()` holds and
        the screen has been repainted after it."""
        start, cpu = time.perf_counter(), time.process_time()
        char = key if len(key) == 1 else (" " if key == "space" else None)
        app.post_message(events.Key(key, char))
        return await self.since(start, cpu, done, what)

    async def since(self, start: float, cpu: float, done: Callable[[], bool], what: str) -> float:
        """From `start` until the first repaint at which `done()` holds (the first after
        the screen acted); the CPU from `cpu` until then goes to `what`. The repaint
        itself says so: polling for it took the interpreter from the app every 0.5 ms."""
        future: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        self.waiting = (done, future)
        try:
            painted, painted_cpu = await future
        finally:
            self.waiting = None
        self.cpu.setdefault(what, []).append(painted_cpu - cpu)
        return painted - start


async def key_figures(db: Path) -> None:
    repaints = Repaints()
    store = Store.open(f"sqlite:///{db}")
    app = SunrelayApp(store, actor="budi", policy_set=policies.load(EXAMPLES), watch_policies=False)
    async with app.run_test(size=(80, 24)) as pilot:
        while not (isinstance(app.screen, QueueScreen) and app.screen.loaded):
            await asyncio.sleep(0.05)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        await pilot.pause(0.5)
        moves: list[float] = []
        for i in range(300):
            before = queue.table.cursor
            moves.append(await repaints.key(app, "j" if i % 50 < 40 else "k",
                                            lambda b=before: queue.table.cursor != b, "moves"))
        opens: list[float] = []
        details: list[float] = []
        for _ in range(30):
            start, cpu = time.perf_counter(), time.process_time()
            opens.append(await repaints.key(app, "enter", lambda: isinstance(
                app.screen, IncidentScreen) and app.screen.is_mounted, "opens"))
            details.append(await repaints.since(start, cpu, lambda: isinstance(
                app.screen, IncidentScreen) and app.screen.detail is not None, "details"))
            await pilot.press("escape")
            await pilot.pause(0.05)
        filters: list[float] = []
        for _ in range(10):
            await pilot.press("slash")
            box = queue.query_one("#filter", Input)
            for ch in "s:sev1 synthetic 9":
                typed = box.value + ch
                filters.append(await repaints.key(
                    app, "space" if ch == " " else ch,
                    lambda t=typed, b=box: b.value == t and queue.filter == parse_filter(t),
                    "filters"))
            await pilot.press("escape")
    store.close()
    for what, name, values, target in (
            ("cursor move (j/k)", "moves", moves, "p99 <= 50 ms"),
            ("open incident (enter), header", "opens", opens, "p99 <= 50 ms"),
            ("open incident (enter), timeline", "details", details, "none (worker)"),
            ("filter keystroke", "filters", filters, "p99 <= 50 ms")):
        line(f"key-to-repaint: {what}",
             f"p50 {pct(values, 50) * 1000:.1f} ms p99 {pct(values, 99) * 1000:.1f} ms", target)
        used = repaints.cpu[name]
        line(f"  CPU to that repaint, {what.replace(' (enter)', '').replace(' (j/k)', '')}",
             f"p50 {pct(used, 50) * 1000:.1f} ms p99 {pct(used, 99) * 1000:.1f} ms", "none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.incidents, args.idle = 2_000, 5.0
    root = Path(__file__).resolve().parent.parent
    for package in ("console", "sync", "policies"):
        compileall.compile_dir(root / package, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t = time.perf_counter()
        build(db, args.incidents)
        print(f"store with {args.incidents} open incidents built in {time.perf_counter() - t:.1f} s"
              f" ({datetime.now(UTC):%Y-%m-%d %H:%M}Z)", flush=True)
        terminal_figures(db, args.idle)
        asyncio.run(key_figures(db))


if __name__ == "__main__":
    main()
