"""`sunrelay demo`: a store full of realistic data, two more regional consoles and
a monitoring feed, so a newcomer can open the console and see what Sunrelay does.

The store is filled from the example policy set: a week of history (alerts
routed by the real routing rules, acknowledged by whoever was on call, noted,
escalated, resolved) and a dozen live incidents at various stages. Berlin and
New York run as real `sunrelay serve` processes on 127.0.0.1, each on a store
of its own with a few incidents of its region, peered with the demo console
under a generated secret. The feed then raises and resolves alerts every few
seconds as PagerDuty Events v2 posts to the consoles' ingest, with the routing
keys of the example integrations.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO

import httpx

import policies
from console.domain import commands
from console.domain.state import IncidentState
from console.store.store import Store, Writes
from policies import PolicySet
from policies.followthesun import group_on_call
from policies.schedule import on_call

SITE = "JKT"
EXAMPLES = Path(policies.__file__).parent / "examples"


@dataclass(frozen=True, slots=True)
class AlertKind:
    service: str
    summary: str
    severity: str
    labels: dict[str, str] = field(default_factory=dict)


CATALOGUE = (
    AlertKind("checkout", "Checkout p99 latency above SLO", "sev1",
              {"alertname": "CheckoutLatency", "instance": "checkout-7"}),
    AlertKind("payments-api", "Card authorisations failing for one acquirer", "sev1",
              {"alertname": "AuthFailures", "instance": "pay-2", "customer_tier": "vip"}),
    AlertKind("payments-webhooks", "Webhook delivery error rate 12%", "sev2",
              {"alertname": "WebhookErrors", "instance": "hooks-1"}),
    AlertKind("postgres-main", "Replication lag 45s on replica db-3", "sev2",
              {"alertname": "ReplicationLag", "instance": "db-3", "env": "prod"}),
    AlertKind("mysql-orders", "Connections at 92% of max_connections", "sev3",
              {"alertname": "ConnectionsHigh", "instance": "orders-1", "env": "prod"}),
    AlertKind("postgres-staging", "Disk 88% full on staging-db", "sev3",
              {"alertname": "DiskFull", "instance": "stg-1", "env": "staging"}),
    AlertKind("batch-nightly-export", "Nightly export 40 minutes late", "sev3",
              {"alertname": "BatchLate", "instance": "cron-2"}),
    AlertKind("api-gateway", "5xx rate above 2% on /v2/orders", "sev2",
              {"alertname": "Gateway5xx", "instance": "gw-eu-1"}),
    AlertKind("search", "Search p95 latency 1.8s", "sev3",
              {"alertname": "SearchLatency", "instance": "search-4"}),
    AlertKind("kafka-events", "Consumer lag 250k on orders topic", "sev2",
              {"alertname": "ConsumerLag", "instance": "kafka-3"}),
    AlertKind("logs-storage", "Log volume 85% full", "sev4",
              {"alertname": "VolumeFull", "instance": "logs-1"}),
    AlertKind("auth", "TLS certificate for auth.example.com expires in 14 days", "sev4",
              {"alertname": "CertExpiry", "instance": "auth-lb"}),
)
NOTES = (
    "Looking at the dashboards now.",
    "Rolled back the 14:05 deploy; error rate dropping.",
    "Vendor status page shows a partial outage on their side.",
    "Scaled the pool from 8 to 12 replicas.",
    "Root cause: a cron job holding long transactions. Killed it.",
    "Paged the owning team for a second pair of eyes.",
    "Customer support informed; status page updated.",
)


class DemoClock:
    """The physical clock the store stamps ops with while history is written."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def ms(self) -> int:
        return int(self.at.timestamp() * 1000)


def responder(ps: PolicySet, policy: str | None, at: datetime) -> str:
    """Who would have answered at `at`: the first on call for the route's policy."""
    if policy == "payments":
        people = on_call(ps.schedules["payments-primary"], at)
    elif policy == "database":
        people = on_call(ps.schedules["database-primary"], at)
    else:
        people = group_on_call(ps.follow_the_sun["sre"], ps.schedules, at).people
    return people[0] if people else "sam"


def jakarta_on_call(ps: PolicySet, at: datetime) -> str:
    people = on_call(ps.schedules["sre-jakarta"], at)
    return people[0] if people else "ayu"


def raise_alert(writes: Writes, ps: PolicySet, kind: AlertKind, at: datetime,
                actor: str = "alertmanager") -> str:
    """Route the alert with the policy set and open (or retrigger) its incident."""
    alert = policies.Alert(service=kind.service, severity=kind.severity,  # type: ignore[arg-type]
                           summary=kind.summary, labels=kind.labels, source="alertmanager")
    d = policies.route(alert, ps, at)
    labels = dict(kind.labels)
    if d.priority == "P1" and d.severity == "sev1" and kind.labels.get("customer_tier") == "vip":
        labels["risk"] = "high"
    result = writes.trigger(actor, title=kind.summary, service=kind.service, severity=d.severity,
                            dedup_key=d.dedup_key, labels=labels, priority=d.priority,
                            team=d.team, policy=d.policy)
    return result.state.key


Event = tuple[datetime, int, Callable[[Writes], object]]
Decide = Callable[[IncidentState], commands.Change]


def history(ps: PolicySet, now: datetime, rng: random.Random) -> list[Event]:
    """A week of incidents: opened, acknowledged, noted, some escalated, all resolved."""
    events: list[Event] = []
    keys: dict[int, str] = {}
    for n in range(rng.randint(55, 75)):
        kind = rng.choice(CATALOGUE)
        start = now - timedelta(days=7) + timedelta(seconds=rng.randint(0, 6 * 86400))
        ack_at = start + timedelta(minutes=rng.randint(1, 25))
        end = ack_at + timedelta(minutes=rng.randint(10, 240))
        alert = policies.Alert(service=kind.service, severity=kind.severity,  # type: ignore[arg-type]
                               summary=kind.summary, labels=kind.labels)
        who = responder(ps, policies.route(alert, ps, start).policy, start)

        def opened(w: Writes, n: int = n, kind: AlertKind = kind, start: datetime = start) -> None:
            keys[n] = raise_alert(w, ps, kind, start)

        def act(decide: Decide, n: int = n, who: str = who) -> Callable[[Writes], None]:
            return lambda w: _safe_act(w, keys[n], who, decide)

        events.append((start, n, opened))
        if rng.random() < 0.25:
            events.append((start + timedelta(minutes=rng.randint(5, 15)), n,
                           act(lambda s: commands.escalate(s, "no acknowledgement"))))
        events.append((ack_at, n, act(commands.ack)))
        note = rng.choice(NOTES)
        events.append((ack_at + timedelta(minutes=5), n, act(partial(_note, text=note))))
        events.append((end, n, act(commands.resolve)))
    return events


def _safe_act(w: Writes, key: str, who: str, decide: Decide) -> None:
    """Replayed and simulated actions are plausible, not certain: one that no longer
    applies (the incident was resolved meanwhile) is skipped, as a person would."""
    try:
        w.act(key, who, decide)
    except commands.IllegalTransition:
        return


def _note(state: IncidentState, text: str) -> commands.Change:
    return commands.note(state, text)


def _act_on(w: Writes, keys: dict[str, str], who: str, decide: Decide) -> None:
    _safe_act(w, keys["key"], who, decide)


def live(ps: PolicySet, now: datetime) -> list[Event]:
    """A dozen open incidents at various stages, most recent hours."""
    by_service = {k.service: k for k in CATALOGUE}
    jkt = jakarta_on_call(ps, now)
    events: list[Event] = []
    plan: list[tuple[str, int, list[tuple[int, Decide, str]]]] = [
        ("checkout", 3, []),
        ("payments-api", 48, [(44, commands.ack, "kenji"),
                              (40, lambda s: commands.note(s, NOTES[2]), "kenji"),
                              (30, lambda s: commands.set_stage(s, "investigating"), "kenji")]),
        ("payments-webhooks", 26, [(12, lambda s: commands.escalate(s, "no acknowledgement"),
                                    "engine")]),
        ("postgres-main", 70, [(60, commands.ack, "marco"),
                               (50, lambda s: commands.set_stage(s, "mitigating"), "marco"),
                               (45, lambda s: commands.note(s, f"update: {NOTES[4]}"), "marco")]),
        ("api-gateway", 35, [(30, commands.ack, jkt),
                             (20, lambda s: commands.note(s, NOTES[1]), jkt),
                             (18, lambda s: commands.set_stage(s, "monitoring"), jkt)]),
        ("kafka-events", 95, [(80, commands.ack, "jonas"),
                              (70, lambda s: commands.set_stage(s, "investigating"), "jonas")]),
        ("search", 150, [(140, commands.ack, jkt), (100, commands.resolve, jkt),
                         (20, lambda s: commands.reopen(s, "latency back above 1.5s"), "engine")]),
        ("mysql-orders", 55, []),
        ("postgres-staging", 180, []),
        ("batch-nightly-export", 120, [(110, lambda s: commands.note(s, NOTES[5]), jkt)]),
        ("logs-storage", 200, [(190, commands.ack, jkt)]),
        ("auth", 300, []),
    ]
    for index, (service, ago, steps) in enumerate(plan):
        kind = by_service[service]
        keys: dict[str, str] = {}

        def opened(w: Writes, kind: AlertKind = kind, at: datetime = now - timedelta(minutes=ago),
                   keys: dict[str, str] = keys) -> None:
            keys["key"] = raise_alert(w, ps, kind, at)

        events.append((now - timedelta(minutes=ago), 1000 + index, opened))
        for minutes, decide, who in steps:
            events.append((now - timedelta(minutes=minutes), 1000 + index,
                           partial(_act_on, keys=keys, who=who, decide=decide)))
    for repeat in range(5):  # a flapping alert: repeats fold into one incident
        at = now - timedelta(minutes=40 - repeat * 7)
        events.append((at, 2000 + repeat,
                       partial(raise_alert, ps=ps, kind=by_service["mysql-orders"], at=at)))
    return events


def fill(url: str, ps: PolicySet, now: datetime, seed: int) -> str:
    """Write the history and the live incidents into a new store; returns who the
    console runs as (the Jakarta engineer on call now)."""
    rng = random.Random(seed)
    clock = DemoClock(now - timedelta(days=8))
    events = sorted(history(ps, now, rng) + live(ps, now), key=lambda e: (e[0], e[1]))
    store = Store.open(url, site_name=SITE, physical=clock.ms)
    try:
        with store.writing() as writes:
            for at, _, run in events:
                clock.at = at
                run(writes)
    finally:
        store.close()
    return jakarta_on_call(ps, now)


@dataclass(frozen=True, slots=True)
class FeedAlert:
    """A PagerDuty Events v2 trigger; `service` picks the integration's routing key."""

    service: str
    summary: str
    severity: str  # critical, error, warning, info
    source: str
    details: dict[str, str] = field(default_factory=dict)


FEED = (
    FeedAlert("payments-api", "Card authorisations failing for one acquirer", "critical", "pay-2",
              {"acquirer": "acq-eu-1"}),
    FeedAlert("payments-api", "Refund queue 4,000 deep", "warning", "refunds-1"),
    FeedAlert("postgres-eu-1", "Replication lag 45s on replica db-3", "error", "db-3"),
    FeedAlert("postgres-eu-1", "Connections at 92% of max_connections", "warning", "db-1"),
    FeedAlert("edge", "5xx rate above 2% on /v2/orders", "error", "gw-eu-1"),
    FeedAlert("edge", "TLS certificate for shop.example.com expires in 14 days", "info", "edge-lb"),
)


class Feed(threading.Thread):
    """Simulated monitoring: every `interval` seconds an alert fires, repeats or clears,
    posted to a console's `/v2/enqueue`: mostly the demo console's (the first target),
    now and then a region's, whose incident then arrives by sync. A console that does
    not answer yet (still starting) misses that alert, as a real one would."""

    def __init__(self, targets: list[str], ps: PolicySet, interval: float, seed: int) -> None:
        super().__init__(name="demo-feed", daemon=True)
        self.targets = targets
        self.keys = {i.service: i.key for i in ps.integrations.values()}
        self.interval = interval
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.raised: list[tuple[str, str, str]] = []  # (console, routing key, dedup key)

    def run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self.stop.wait(self.interval):
                with contextlib.suppress(httpx.HTTPError):
                    self.step(http)

    def step(self, http: httpx.Client) -> None:
        if self.raised and (len(self.raised) >= 6 or self.rng.random() < 0.4):
            index = self.rng.randrange(len(self.raised))
            url, key, dedup = self.raised[index]
            http.post(f"{url}/v2/enqueue", json={"routing_key": key, "event_action": "resolve",
                                                 "dedup_key": dedup}).raise_for_status()
            del self.raised[index]
            return
        alert = self.rng.choice(FEED)
        others = self.targets[1:]
        url = self.rng.choice(others) if others and self.rng.random() < 0.3 else self.targets[0]
        key = self.keys[alert.service]
        # Another instance of the same alert is a separate incident; the same
        # instance again folds into the open one by its dedup key.
        payload = {"summary": alert.summary, "source": f"{alert.source}{self.rng.choice('abc')}",
                   "severity": alert.severity, "custom_details": alert.details}
        answer = http.post(f"{url}/v2/enqueue", json={"routing_key": key, "event_action": "trigger",
                                                      "payload": payload})
        answer.raise_for_status()
        raised = (url, key, str(answer.json()["dedup_key"]))
        if raised not in self.raised:
            self.raised.append(raised)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Region:
    site: str
    city: str
    kinds: tuple[str, ...]  # services of CATALOGUE its incidents come from
    people: tuple[str, ...]  # who answers them


REGIONS = (Region("BER", "Berlin", ("postgres-main", "kafka-events", "search"), ("anna", "jonas")),
           Region("NYC", "New York", ("api-gateway", "mysql-orders", "payments-webhooks"),
                  ("maria", "james")))


def fill_region(url: str, ps: PolicySet, now: datetime, region: Region) -> None:
    """A region's own incidents of the last hours: one resolved, one acknowledged with
    a note, one still waiting for someone."""
    by_service = {k.service: k for k in CATALOGUE}
    clock = DemoClock(now - timedelta(hours=3))
    with Store.open(url, site_name=region.site, physical=clock.ms) as store, store.writing() as w:
        for n, service in enumerate(region.kinds):
            clock.at = now - timedelta(minutes=150 - 50 * n)
            key = raise_alert(w, ps, by_service[service], clock.at)
            who = region.people[n % len(region.people)]
            if n < 2:
                clock.at += timedelta(minutes=6)
                _safe_act(w, key, who, commands.ack)
                clock.at += timedelta(minutes=4)
                _safe_act(w, key, who, partial(_note, text=NOTES[n]))
            if n == 0:
                clock.at += timedelta(minutes=30)
                _safe_act(w, key, who, commands.resolve)


class Regions:
    """Berlin and New York as real `sunrelay serve` processes on 127.0.0.1 (no engine:
    the demo console runs the one engine), each with its own store in `home`, peered
    with the demo console on `console_port` under a generated shared secret; the
    demo console's side goes to `peers_file`. `stop` ends them; nothing outlives the demo."""

    def __init__(self, home: Path, console_port: int, peers_file: Path) -> None:
        self.home = home
        self.console_port = console_port
        self.peers_file = peers_file
        self.ports = {r.site: free_port() for r in REGIONS}
        self.urls = [f"http://127.0.0.1:{self.ports[r.site]}" for r in REGIONS]
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def start(self, ps: PolicySet, now: datetime) -> None:
        """Fill the regions' stores and start their servers, which boot while the demo
        console fills its own store; peers.toml for every side."""
        from sync import peers

        secret = self.home / "demo.secret"
        secret.write_text(secrets.token_urlsafe(32))
        secret.chmod(0o600)
        console_url = f"http://127.0.0.1:{self.console_port}"
        peers.save(self.peers_file, [
            peers.PeerEntry(r.site, f"http://127.0.0.1:{self.ports[r.site]}", f"{SITE}-{r.site}".lower(),
                            secret_file=str(secret)) for r in REGIONS])
        for region in REGIONS:
            home = self.home / region.site
            home.mkdir()
            url = f"sqlite:///{home / 'store.db'}"
            fill_region(url, ps, now, region)
            peers.save(home / "peers.toml", [peers.PeerEntry(
                SITE, console_url, f"{SITE}-{region.site}".lower(), secret_file=str(secret))])
            log = open(home / "serve.log", "wb")  # noqa: SIM115  (closed in stop)
            self._logs.append(log)
            self.processes.append(subprocess.Popen(
                [sys.executable, "-m", "console", "serve", "--db", url,
                 "--port", str(self.ports[region.site]), "--policies", str(EXAMPLES),
                 "--peers", str(home / "peers.toml"), "--no-engine",
                 "--sync-every", "5", "--log-level", "warning"],
                env={**os.environ, "SUNRELAY_SITE": region.site}, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True))

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._logs:
            log.close()
