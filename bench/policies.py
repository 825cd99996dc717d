"""Benchmarks for the policies package: one line per figure.

    python bench/policies.py

Each line: what, the figure, the target, and where it makes sense a ceiling
measured in the same run (the bare Python work the figure cannot beat) and
the ratio to it.  Times are wall-clock on whatever machine runs this.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import policies
from policies import Alert, IncidentView, ShiftOverride, calendars, due, on_call, route, shifts, timeutil
from policies.models import Layer, Override, Route, Schedule
from policies.schedule import CHUNK

EXAMPLES = Path(policies.__file__).parent / "examples"
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2027, 1, 1, tzinfo=UTC)


def line(what: str, figure: str, target: str, ceiling: str = "", ratio: str = "") -> None:
    extra = f" | ceiling {ceiling} | ratio {ratio}" if ceiling else ""
    print(f"{what:<58}: {figure:>16}{extra} | target {target}")


def ten_layer_schedule() -> tuple[Schedule, list[ShiftOverride]]:
    """10 layers of every rotation kind with restrictions and holidays, plus overrides."""
    rng = random.Random(7)
    people = [f"p{i}" for i in range(30)]
    kinds = ["weekly", "daily", "hourly", "custom"]
    layers = [Layer(rotation="weekly", start=date(2025, 12, 29), handoff="09:00",
                    members=people[:6])]
    for i in range(9):
        kind = kinds[i % 4]
        extra: dict[str, object] = {"shift_length": "12h"} if kind == "custom" else {}
        if kind == "hourly":
            extra["length"] = 8
        h = 6 + i
        layers.append(Layer(
            rotation=kind, start=date(2025, 12, 29), handoff=f"{h:02d}:00",
            members=rng.sample(people, 4),
            restrictions=[{"days": ["mon", "tue", "wed", "thu", "fri"],
                           "from": f"{h:02d}:00", "to": f"{(h + 6) % 24:02d}:30"}],
            holidays="skip" if i % 3 == 0 else "ignore",
            **extra,
        ))
    static = [Override(start=YEAR_START + timedelta(days=d), end=YEAR_START + timedelta(days=d, hours=30),
                       user="p29") for d in range(0, 365, 30)]
    sched = Schedule(id="ten", time_zone="Europe/Berlin", layers=layers, overrides=static,
                     holidays={"country": "DE", "subdivision": "BE"})
    runtime = [ShiftOverride("ten", YEAR_START + timedelta(days=d), YEAR_START + timedelta(days=d, hours=8),
                             "p28", replaces=None) for d in range(5, 365, 36)]
    return sched, runtime


def bench_on_call() -> None:
    sched, runtime = ten_layer_schedule()
    rng = random.Random(1)
    ats = [YEAR_START + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(200_000)]
    for at in ats[:5000]:  # warm the chunk cache
        on_call(sched, at, runtime)
    on_call(sched, YEAR_START, runtime)
    shifts(sched, YEAR_START, YEAR_END)
    t = time.perf_counter()
    for at in ats:
        on_call(sched, at, runtime)
    rate = len(ats) / (time.perf_counter() - t)
    # ceiling: the irreducible part, a timestamp, a dict probe and a bisect per look-up
    starts = {c: sorted(rng.random() for _ in range(200)) for c in range(20)}
    t = time.perf_counter()
    for at in ats:
        ts = at.timestamp()
        bisect_right(starts.get(int(ts // CHUNK) % 20) or [], ts)
    ceil = len(ats) / (time.perf_counter() - t)
    line("on_call, 10 layers + 13 static + 10 runtime overrides", f"{rate:,.0f} /s", ">= 50,000 /s",
         f"{ceil:,.0f} /s (ts+dict+bisect)", f"{rate / ceil:.2f}")


def bench_shifts() -> None:
    best = float("inf")
    n = 0
    for _ in range(5):
        sched, _ = ten_layer_schedule()  # fresh: nothing memoised
        timeutil._DAY_OFFSETS.clear()
        calendars._country_year.cache_clear()
        t = time.perf_counter()
        got = shifts(sched, YEAR_START, YEAR_END)
        best = min(best, time.perf_counter() - t)
        n = len(got)
    line(f"shifts, one year of the 10-layer schedule, cold ({n} shifts)", f"{best * 1000:.1f} ms",
         "< 50 ms")
    sched, _ = ten_layer_schedule()
    shifts(sched, YEAR_START, YEAR_END)
    t = time.perf_counter()
    shifts(sched, YEAR_START, YEAR_END)
    line("shifts, one year, memoised", f"{(time.perf_counter() - t) * 1000:.1f} ms", "< 50 ms")


def fifty_rules() -> policies.PolicySet:
    ps = policies.load(EXAMPLES)
    rules = []
    for i in range(49):
        rules.append(Route.model_validate({
            "name": f"r{i}",
            "match": {"service": [f"svc{i}-*", f"other{i}"], "labels": [f"team=t{i}", "env!=dev"],
                      "severity": ["sev1", "sev2", "sev3"]},
            "set": {"team": "sre", "priority": "P3"},
            "continue": i % 10 == 0,
        }))
    rules.append(Route.model_validate({"name": "catch-all", "match": {"text": ".*"},
                                       "set": {"policy": "sre"}}))
    ps.routes = rules
    return ps


def bench_route() -> None:
    ps = fifty_rules()
    rng = random.Random(2)
    alerts = []
    for k in range(2000):
        i = rng.randrange(60)
        alerts.append(Alert(service=f"svc{i}-api", severity="sev2", summary=f"alert {k}",
                            labels={"team": f"t{i}", "env": "prod", "instance": f"h{k % 17}"}))
    now = datetime(2026, 12, 9, 10, tzinfo=UTC)
    for a in alerts:
        route(a, ps, now)
    n = 0
    t = time.perf_counter()
    while time.perf_counter() - t < 1.0:
        for a in alerts:
            route(a, ps, now)
        n += len(alerts)
    rate = n / (time.perf_counter() - t)
    # ceiling: one precompiled regex match per rule, nothing else
    import re

    rxs = [re.compile(f"svc{i}-.*") for i in range(50)]
    t = time.perf_counter()
    for a in alerts * 5:
        for rx in rxs:
            if rx.match(a.service):
                break
    ceil = len(alerts) * 5 / (time.perf_counter() - t)
    line("route, 50 rules (labels, globs, continue)", f"{rate:,.0f} /s", ">= 20,000 /s",
         f"{ceil:,.0f} /s (bare regex scan)", f"{rate / ceil:.2f}")


def bench_due() -> None:
    ps = policies.load(EXAMPLES)
    start = datetime(2026, 12, 5, 20, tzinfo=UTC)
    view = IncidentView(id="i", key="K-1", service="payments-api", severity="sev1", priority="P1",
                        status="triggered", created_at=start, policy="payments", team="payments",
                        steps_taken={(0, 0): start, (0, 1): start + timedelta(minutes=5)},
                        recorded=frozenset({"sla-warning:ack", "sla-breach:ack"}),
                        labels={"alertname": "X"})
    now = start + timedelta(minutes=9)
    for _ in range(200):
        due(view, ps, now)
    n = 0
    t = time.perf_counter()
    while time.perf_counter() - t < 1.0:
        for _ in range(100):
            due(view, ps, now)
        n += 100
    rate = n / (time.perf_counter() - t)
    line("due, P1 mid-escalation with SLA clocks (examples)", f"{rate:,.0f} /s", "(none set)")


GENERATED = """
[[people]]
id = "g{i}a"
name = "Gen {i} A"
time_zone = "{tz}"

[[people]]
id = "g{i}b"
name = "Gen {i} B"
time_zone = "{tz}"

[[schedules]]
id = "gen-{i}"
time_zone = "{tz}"

[[schedules.layers]]
rotation = "weekly"
start = 2025-01-06
handoff = "09:00"
members = ["g{i}a", "g{i}b"]

[[schedules.layers]]
rotation = "daily"
start = 2025-01-06
handoff = "09:00"
members = ["g{i}b"]
restrictions = [{{ days = ["mon", "tue", "wed", "thu", "fri"], from = "09:00", to = "17:00" }}]

[[escalation_policies]]
id = "gen-{i}"
repeat = 1
levels = [
  {{ targets = ["schedule:gen-{i}"], delay = "10m" }},
  {{ targets = ["person:g{i}a", "policy:sre"], delay = "10m" }},
]

[[routes]]
name = "gen-{i}"
match = {{ service = "gen{i}-*" }}
set = {{ policy = "gen-{i}" }}
"""


def bench_check() -> None:
    tzs = ["Europe/Berlin", "America/New_York", "Asia/Jakarta", "Australia/Sydney", "UTC"]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "policies"
        shutil.copytree(EXAMPLES, d)
        for i in range(100):
            (d / f"gen_{i:03d}.toml").write_text(GENERATED.format(i=i, tz=tzs[i % len(tzs)]))
        now = datetime(2026, 11, 22, tzinfo=UTC)
        t = time.perf_counter()
        ps = policies.load(d)
        t_load = time.perf_counter() - t
        t = time.perf_counter()
        problems = policies.check(ps, now, days=90)
        t_check = time.perf_counter() - t
        errors = sum(1 for p in problems if p.severity == "error")
    line("policies check: examples + 100 generated, 90 days (load)", f"{t_load * 1000:.0f} ms", "")
    line(f"policies check: coverage etc. ({errors} errors found)", f"{t_check * 1000:.0f} ms", "")
    line("policies check: total", f"{(t_load + t_check):.2f} s", "< 3 s")


def main() -> None:
    print(f"# bench/policies.py  python {sys.version.split()[0]}  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    bench_on_call()
    bench_shifts()
    bench_route()
    bench_due()
    bench_check()


if __name__ == "__main__":
    main()
