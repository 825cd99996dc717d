"""Ingest benchmark: PagerDuty Events v2 over HTTP into `sunrelay serve`, beside a bare endpoint.

    python bench/ingest.py                # 10 s per run
    python bench/ingest.py --seconds 3    # a smoke check

wrk (-t2 -c16, a Lua script that sends 80% new dedup keys and 20% repeats)
loads, in turn, a bare FastAPI + uvicorn endpoint that only answers 202 (the
ceiling on this machine, measured in this run) and `sunrelay serve` with its
engine running, on a fresh SQLite store (WAL, synchronous=FULL). Every 202
from serve is a committed op. Latency percentiles are wrk's. The CPU each
server used per request (from /proc) is printed too: a loaded machine
disturbs it less than the rates. Every new
incident is paged at once (a console notification), so the engine has work
for 80% of the events; under load it takes its turns in slices, and the
second line says how far paging trailed the load and when it caught up.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import httpx
from common import free_port, line

ROOT = Path(__file__).resolve().parent.parent
KEY = "bench-key-web-0001"
POLICIES = textwrap.dedent(f"""
    [defaults]
    escalation_policy = "web"

    [[people]]
    id = "alice"
    name = "Alice"
    time_zone = "UTC"

    [[escalation_policies]]
    id = "web"
    name = "Web"

    [[escalation_policies.levels]]
    targets = ["person:alice"]
    delay = "15m"

    [[integrations]]
    key = "{KEY}"
    service = "web"
""")
BARE = textwrap.dedent("""
    import sys
    import uvicorn
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.post("/v2/enqueue")
    async def enqueue(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"status": "success"}, status_code=202)

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
""")
LUA = textwrap.dedent(f"""
    local counter = 0
    local id = 0
    local threads = 0
    function setup(thread)
      threads = threads + 1
      thread:set("id", threads)
    end
    function init(args)
      math.randomseed(id * 7919)
    end
    request = function()
      counter = counter + 1
      local key
      if counter > 10 and math.random() < 0.2 then
        key = "t" .. id .. "-" .. math.random(1, counter - 1)
      else
        key = "t" .. id .. "-" .. counter
      end
      local body = '{{"routing_key":"{KEY}","event_action":"trigger","dedup_key":"' .. key ..
        '","payload":{{"summary":"bench event ' .. key ..
        '","source":"wrk","severity":"error","custom_details":{{"n":' .. counter .. '}}}}}}'
      return wrk.format("POST", "/v2/enqueue", {{["Content-Type"] = "application/json"}}, body)
    end
""")



def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server at {url} did not start") from None
            time.sleep(0.05)


def wrk(url: str, script: Path, seconds: int) -> tuple[float, float, float, int]:
    out = subprocess.run(["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency", "-s", str(script), url],
                         capture_output=True, text=True, check=True, timeout=seconds + 30).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def pct(p: str) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        assert m, out
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        return float(m.group(1)) * scale

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, pct("50"), pct("99"), int(errors.group(1)) if errors else 0



def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used (Linux /proc): steadier than wall-clock
    rates on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loaded(url: str, script: Path, seconds: int, pid: int) -> tuple[float, float, float, int, float]:
    """wrk's figures, and the server's CPU per request (ms) over the run."""
    before = cpu_seconds(pid)
    rate, p50, p99, errors = wrk(url, script, seconds)
    return rate, p50, p99, errors, (cpu_seconds(pid) - before) / max(1.0, rate * seconds) * 1000


def backlog(url: str) -> tuple[float, int]:
    """The engine's lag behind its oldest deadline (s) and the notifications not yet sent."""
    doc = httpx.get(url + "/healthz", timeout=10).json()
    return float(doc["engine"]["lag_seconds"]), doc["outbox"]["pending"] + doc["outbox"]["sending"]


def catch_up(url: str, limit: float = 120.0) -> float | None:
    """Seconds until every incident of the run is paged and its pages sent; None: not within `limit`."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        lag, pending = backlog(url)
        if lag == 0 and pending == 0:
            return time.monotonic() - started
        time.sleep(0.2)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--no-engine", action="store_true",
                        help="serve without the engine: ingest alone, without paging each new incident")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian package wrk)")
    tmp = Path(tempfile.mkdtemp(prefix="sunrelay-bench-ingest-"))
    script = tmp / "pd.lua"
    script.write_text(LUA)
    (tmp / "policies").mkdir()
    (tmp / "policies" / "main.toml").write_text(POLICIES)
    (tmp / "bare.py").write_text(BARE)

    port = free_port()
    bare = subprocess.Popen([sys.executable, str(tmp / "bare.py"), str(port)])
    try:
        wait_up(f"http://127.0.0.1:{port}/docs", bare)
        b_rate, b_p50, b_p99, _, b_cpu = loaded(f"http://127.0.0.1:{port}", script, args.seconds, bare.pid)
    finally:
        bare.terminate()
        bare.wait()

    port = free_port()
    env = {**os.environ, "SUNRELAY_DB": str(tmp / "store.db"), "SUNRELAY_SITE": "BENCH",
           "SUNRELAY_POLICIES": str(tmp / "policies"), "SUNRELAY_WEBHOOK_SECRET": "bench"}
    serve = subprocess.Popen([sys.executable, "-m", "console", "serve", "--port", str(port),
                              "--log-level", "warning", *(["--no-engine"] if args.no_engine else [])],
                             cwd=ROOT, env=env)
    try:
        wait_up(f"http://127.0.0.1:{port}/healthz", serve)
        rate, p50, p99, errors, cpu = loaded(f"http://127.0.0.1:{port}", script, args.seconds, serve.pid)
        if not args.no_engine:
            lag, pending = backlog(f"http://127.0.0.1:{port}")
            caught = catch_up(f"http://127.0.0.1:{port}")
    finally:
        serve.terminate()
        serve.wait()
    if errors:
        print(f"warning: {errors} non-2xx responses from serve", file=sys.stderr)
    line("ingest PD v2, wrk -t2 -c16, 20% dedup", f"{rate:,.0f} ev/s p50 {p50:.1f} ms p99 {p99:.1f} ms",
         f"bare endpoint {b_rate:,.0f} req/s p50 {b_p50:.1f} ms p99 {b_p99:.1f} ms", rate / b_rate,
         ">= 0.40, >= 2,000 ev/s, p99 < 100 ms")
    line("CPU per event (process time)", f"{cpu:.3f} ms", f"bare endpoint {b_cpu:.3f} ms a request",
         b_cpu / cpu)
    if not args.no_engine:  # paging an alert storm may trail the storm: say by how much
        line("engine at the end of the load", f"{lag:.1f} s behind, {pending:,} notifications unsent",
             "caught up " + (f"{caught:.1f} s later" if caught is not None else "not within 120 s"))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
