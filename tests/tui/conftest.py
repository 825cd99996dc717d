"""A real store on disk with fixed data and a frozen clock, and the console around it.

Op stamps come from a physical clock that ticks one second per op from a fixed
instant, so every incident's times (and every snapshot) are the same on every run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

import policies
from console.domain import commands
from console.store.store import Store
from console.tui.app import SunrelayApp
from console.tui.services.clock import FixedClock

EXAMPLES = Path(policies.__file__).parent / "examples"
START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)  # Tue 09:00 in Jakarta
NOW = datetime(2026, 3, 10, 3, 10, tzinfo=UTC)
ME = "budi"  # on call for SRE Jakarta that week
BACKGROUND = ("store-watch", "policy-watch", "node")


class StepClock:
    def __init__(self, at: datetime) -> None:
        self.ms = int(at.timestamp() * 1000)

    def __call__(self) -> int:
        self.ms += 60_000
        return self.ms


def fill(store: Store) -> None:
    """Five open incidents at different stages and one resolved."""
    t = store.trigger
    t("alertmanager", title="Checkout p99 latency above SLO", service="checkout", severity="sev1",
      priority="P1", team="payments", policy="payments", labels={"alertname": "CheckoutLatency"})
    t("alertmanager", title="Replication lag 45s on replica db-3", service="postgres-main",
      severity="sev2", priority="P2", team="database", policy="database")
    t("alertmanager", title="5xx rate above 2% on /v2/orders", service="api-gateway",
      severity="sev2", priority="P2", team="sre", policy="sre")
    t("alertmanager", title="Nightly export 40 minutes late", service="batch-nightly-export",
      severity="sev3", priority="P3", team="sre", policy="sre")
    t("alertmanager", title="Log volume 85% full", service="logs-storage", severity="sev4",
      priority="P4", team="sre", policy="sre")
    t("alertmanager", title="Search p95 latency 1.8s", service="search", severity="sev3",
      priority="P3", team="sre", policy="sre")
    store.act("JKT-2", "marco", commands.ack)
    store.act("JKT-2", "marco", lambda s: commands.note(s, "failover of db-3 started"))
    store.act("JKT-3", ME, commands.ack)
    store.act("JKT-3", ME, lambda s: commands.set_stage(s, "mitigating"))
    store.act("JKT-6", ME, commands.ack)
    store.act("JKT-6", ME, commands.resolve)


@pytest.fixture(scope="session")
def policy_set() -> policies.PolicySet:
    return policies.load(EXAMPLES)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    with Store.open(f"sqlite:///{path}", site_name="JKT", physical=StepClock(START)) as store:
        fill(store)
    return path


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{db_path}", physical=StepClock(NOW)) as s:
        yield s


def make_app(store: Store, ps: policies.PolicySet | None, **kw: Any) -> SunrelayApp:
    kw.setdefault("actor", ME)
    kw.setdefault("clock", FixedClock(NOW))
    kw.setdefault("poll_seconds", 0.1)
    kw.setdefault("policy_dir", EXAMPLES if ps is not None else None)
    return SunrelayApp(store, policy_set=ps, watch_policies=False, **kw)


async def until(pilot: Pilot[Any], done: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for something another thread or process does (a sync round, a peer
    going offline), repainting meanwhile."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not done():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {timeout} s: {texts(pilot.app)}")  # type: ignore[arg-type]
        await pilot.pause(0.05)


def header(app: SunrelayApp) -> str:
    from console.tui.widgets.status_line import StatusLine

    return str(app.screen.query_one(StatusLine).content)


def toasts(app: SunrelayApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def settle(pilot: Pilot[Any], timeout: float = 10.0) -> None:
    """Wait until every data worker has finished and its result is on screen."""
    app = pilot.app
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    await pilot.pause()
    while loop.time() < deadline:
        busy = [w for w in app.workers if w.group not in BACKGROUND and not w.is_finished]
        if not busy:
            await pilot.pause()
            if not [w for w in app.workers if w.group not in BACKGROUND and not w.is_finished]:
                return
        await asyncio.sleep(0.02)
    raise AssertionError(f"workers still running: {busy}")


def texts(app: SunrelayApp) -> str:
    """Everything the current screen's static widgets and queue hold, as plain text."""
    import io

    from rich.console import Console
    from textual.widgets import Static

    from console.tui.widgets.incident_table import IncidentTable

    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    for widget in app.screen.query(Static):
        console.print(widget.content)
    parts = [out.getvalue()]
    for table in app.screen.query(IncidentTable):
        parts += [" ".join(f"{r.key} {r.title}" for r in table.rows)]
    return "\n".join(parts)
