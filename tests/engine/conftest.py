"""An engine on a real store with injected time, a small policy set and live channels."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import policies
from console.engine.adapter import to_ms
from console.engine.cycle import Engine
from console.engine.incidents import open_or_repeat
from console.notify.bus import Bus, ConsoleNotice
from console.notify.channels import Channel, ConsoleChannel, WebhookChannel
from console.notify.dispatcher import Backoff, Dispatcher
from console.store.store import Store, Triggered
from policies import Alert, PolicySet
from tests.notify.servers import WebhookReceiver

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SECRET = b"test-secret"


def policy_text(webhook: str = "http://127.0.0.1:9/none", extra: str = "") -> str:
    return textwrap.dedent(f"""
    [defaults]
    escalation_policy = "web"

    [[people]]
    id = "alice"
    name = "Alice"
    time_zone = "UTC"
    contacts = {{ webhook = "{webhook}", email = "alice@example.org" }}
    [people.notify]
    high = [{{ channel = "console" }}, {{ channel = "webhook" }}]
    low = [{{ channel = "console" }}]

    [[people]]
    id = "bob"
    name = "Bob"
    time_zone = "UTC"
    contacts = {{ webhook = "{webhook}" }}
    [people.notify]
    high = [{{ channel = "console" }}, {{ channel = "webhook", after = "2m" }}]

    [[escalation_policies]]
    id = "web"
    name = "Web"
    repeat = 1
    on_exhausted = "stop"

    [[escalation_policies.levels]]
    targets = ["person:alice"]
    delay = {{ sev1 = "5m", default = "15m" }}

    [[escalation_policies.levels]]
    targets = ["person:bob"]
    delay = "10m"

    [[escalation_policies]]
    id = "stale"
    name = "Stale acks"
    ack_timeout = "30m"

    [[escalation_policies.levels]]
    targets = ["person:alice"]
    delay = "5m"

    [[integrations]]
    key = "test-key-web-0001"
    service = "web"
    rate_limit_per_minute = 600

    [[sla]]
    priority = "P1"
    ack = "15m"
    warn_at = 0.8
    """) + textwrap.dedent(extra)


def load_policies(directory: Path, text: str) -> PolicySet:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.toml").write_text(text)
    return policies.load(directory)


@dataclass
class Clock:
    now: datetime = T0

    def ms(self) -> int:
        return to_ms(self.now)

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Rig:
    store: Store
    clock: Clock
    ps: PolicySet
    engine: Engine
    dispatcher: Dispatcher
    receiver: WebhookReceiver
    toasts: list[ConsoleNotice] = field(default_factory=list)

    def trigger(self, summary: str = "checkout is down", severity: str = "sev1",
                service: str = "web", **labels: str) -> Triggered:
        alert = Alert(service=service, severity=severity, summary=summary, labels=labels)  # type: ignore[arg-type]
        decision = policies.route(alert, self.ps, self.clock.now)
        with self.store.writing() as w:
            return open_or_repeat(w, "test", alert=alert, decision=decision,
                                  dedup_key=decision.dedup_key, now=self.clock.now)

    def tick(self) -> None:
        self.engine.tick(self.clock.now)

    async def run(self) -> None:
        """A tick, then the dispatcher, at the current injected time."""
        self.engine.tick(self.clock.now)
        await self.dispatcher.run_once(self.clock.now)

    def timeline(self, key: str) -> list[tuple[str, dict[str, object]]]:
        state = self.store.get(key)
        return [(op.kind, dict(op.payload)) for op in self.store.timeline(state.id)]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
async def rig(tmp_path: Path, receiver: WebhookReceiver) -> Rig:  # type: ignore[misc]
    clock = Clock()
    store = Store.open(f"sqlite:///{tmp_path / 'store.db'}", site_name="JKT", physical=clock.ms)
    ps = load_policies(tmp_path / "policies", policy_text(receiver.url))
    bus = Bus()
    toasts: list[ConsoleNotice] = []
    bus.subscribe(toasts.append)
    client = httpx.AsyncClient(timeout=5)
    channels: dict[str, Channel] = {"webhook": WebhookChannel(client, SECRET), "console": ConsoleChannel(bus)}
    engine = Engine(store, lambda: ps)
    dispatcher = Dispatcher(store, channels, bus=bus,
                            backoff=Backoff(base=timedelta(seconds=10), cap=timedelta(minutes=1), attempts=4))
    yield Rig(store, clock, ps, engine, dispatcher, receiver, toasts)
    await client.aclose()
    store.close()
