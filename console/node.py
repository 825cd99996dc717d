"""One console's services over one store: the policy set in force, the elected engine
runner with its dispatcher, alert ingest over HTTP, and sync with the peers of peers.toml.

`sunrelay serve` runs a Node headless; the Textual console runs the same Node in a
thread with an event loop of its own, so a console is a full peer. Bind the port
first (`bind`): a taken port is a sentence for the user, before anything has started.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy.exc import SQLAlchemyError

import policies
from console.engine.cycle import Engine
from console.engine.lease import elector_for
from console.engine.metrics import standard
from console.engine.ownership import Ownership
from console.engine.runner import ENGINE_BATCH, EngineRunner
from console.handoff.runner import HandoffRunner
from console.ingest.app import Background, create_app
from console.ingest.commit import GroupCommitter
from console.ingest.service import IngestService
from console.notify.bus import BUS, Bus
from console.notify.channels import (
    Channel,
    CommandChannel,
    ConsoleChannel,
    EmailChannel,
    SlackChannel,
    SmtpConfig,
    WebhookChannel,
)
from console.notify.dispatcher import Dispatcher
from console.overrides import OverrideLog
from console.replication import PeerView, Replication, log_status
from console.store.store import Store
from sync.service import PeerStatus

log = logging.getLogger("sunrelay.node")
HANDOFF_EVERY_S = 5.0


class PolicyHolder:
    """The policy set in force; a broken edit keeps the last good one (and says why)."""

    def __init__(self, directory: Path, current: policies.PolicySet | None = None) -> None:
        self.directory = directory
        self.current = current if current is not None else policies.load(directory)

    def __call__(self) -> policies.PolicySet:
        return self.current

    async def watch(self) -> None:
        async for result in policies.awatch(self.directory, yield_initial=False):
            for problem in result.problems:
                log.warning("policies: %s", problem)
            if result.policy_set is not None:
                self.current = result.policy_set
                log.info("policies reloaded from %s", self.directory)
            elif result.in_force is not None:
                log.warning("policies: the edit is refused; the last good set stays in force")


class BindError(Exception):
    """The HTTP port cannot be had; the message says which and what to do."""


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free one), before any service starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        sock = socket.create_server((host, port), family=family, backlog=2048)
    except OSError as exc:
        reason = "the port is in use (another console or sunrelay serve?)" \
            if exc.errno in (98, 48) else (exc.strerror or str(exc))
        raise BindError(f"cannot serve HTTP on {host}:{port}: {reason}; choose another with --port") \
            from None
    # asyncio turns Nagle off only for sockets it made itself (proto IPPROTO_TCP); this
    # one's proto is 0, and the accepted connections inherit the option from it. With
    # Nagle on, a response written in two pieces waited out the client's delayed ACK:
    # 40 ms on every request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def webhook_secret(env: Mapping[str, str] = os.environ) -> bytes | None:
    """SUNRELAY_WEBHOOK_SECRET signs webhooks; it comes from the environment only,
    never the command line, where `ps` would show it."""
    return env.get("SUNRELAY_WEBHOOK_SECRET", "").encode() or None


@dataclass(frozen=True, slots=True)
class NodeOptions:
    peers_file: Path
    engine: bool = True
    lease_seconds: float = 15.0
    smtp: SmtpConfig | None = None
    webhook_secret: bytes | None = None
    sync_every: float = 10.0
    log_level: str = "info"
    # Follow-the-sun regions this console drafts handoffs and escalates them for (None: all).
    regions: tuple[str, ...] | None = None
    # Serve HTTPS with this certificate and key (PEM), for links that leave a trusted network.
    tls_cert: Path | None = None
    tls_key: Path | None = None


@dataclass(frozen=True, slots=True)
class NodeState:
    """What runs, as of now: for the console's header and Peers screen."""

    engine: str  # off, starting, running, standby or behind
    engine_error: str | None
    peers: tuple[PeerView, ...]
    local_seq: int  # this console's own ops


class _Embedded(uvicorn.Server):
    """Leaves SIGTERM and SIGINT to the host program (the console exits on them itself)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Node:
    """Raises `sync.peers.PeersError` for a bad peers.toml."""

    def __init__(self, store: Store, policy_set: Callable[[], policies.PolicySet], options: NodeOptions,
                 *, background: Sequence[Background] = (),
                 on_status: Callable[[PeerStatus], None] = log_status, bus: Bus = BUS) -> None:
        self.store = store
        self.options = options
        metrics = standard()
        self.client = httpx.AsyncClient(timeout=10)
        self.runner: EngineRunner | None = None
        jobs: list[Background] = list(background)
        every = options.sync_every
        self.replication = Replication(store, options.peers_file, lambda: policy_set().digest,
                                       on_new_ops=self.wake_engine, on_status=on_status,
                                       interval=(every * 0.5, every * 1.5))
        jobs.append(self.replication.service.run)
        # With peers, each incident's timers run on the console that created it while
        # that console is heard from; without, this console runs them all.
        ownership = (Ownership(store.site.site, self.replication.last_heard)
                     if self.replication.clients else None)
        # The process's writer thread: ingest's group commits, and the engine's turns between them.
        committer = GroupCommitter(store, after_commit=self.changed)
        self.committer = committer
        if options.engine:
            channels: dict[str, Channel] = {
                "webhook": WebhookChannel(self.client, options.webhook_secret),
                "slack": SlackChannel(self.client), "email": EmailChannel(options.smtp),
                "command": CommandChannel(), "console": ConsoleChannel(bus)}
            self.runner = EngineRunner(
                Engine(store, policy_set, metrics=metrics, ownership=ownership,
                       overrides=OverrideLog(store.engine)),
                Dispatcher(store, channels, metrics=metrics, batch=ENGINE_BATCH),
                elector_for(store.engine, timedelta(seconds=options.lease_seconds)),
                renew_every=max(0.2, options.lease_seconds / 3), committer=committer)
            jobs.append(self.runner.run)
            jobs.append(functools.partial(
                self._handoffs, HandoffRunner(store, policy_set, regions=options.regions)))
            if options.webhook_secret is None:
                log.warning("SUNRELAY_WEBHOOK_SECRET is not set: webhook notifications will fail, unsigned")
        self.app = create_app(IngestService(store, policy_set, committer, metrics=metrics),
                              health=self.runner.health if self.runner else None, background=jobs,
                              routers=[self.replication.router])
        self._server: uvicorn.Server | None = None
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._halt = False

    async def _handoffs(self, handoffs: HandoffRunner) -> None:
        """Handoff drafts, automatic sends and escalations, done by whichever process
        holds the engine lease, so the consoles sharing a store do it once."""
        while True:
            if self.runner is not None and self.runner.role == "leader":
                try:
                    await self.committer.call(handoffs.tick, datetime.now(UTC))
                except SQLAlchemyError as exc:
                    log.error("handoff runner failed: %s", exc)
            await asyncio.sleep(HANDOFF_EVERY_S)

    def wake_engine(self) -> None:
        if self.runner is not None:
            self.runner.wake()

    def changed(self) -> None:
        """New local ops (ingest, or the console's own writes): peers hear of them now,
        and so does the engine. Safe from any thread."""
        self.replication.service.local_change()
        self.wake_engine()

    async def run(self, sock: socket.socket | None, *, embedded: bool = False) -> None:
        """Serve HTTP on `sock` (from `bind`) with the background services, until `stop`.
        Without a socket only the background services run (engine, sync, policy watch).
        `embedded`: uvicorn neither takes the signals nor configures logging."""
        if sock is not None:
            # No proxy-header middleware: nothing here reads a request's client address or
            # scheme, and the layer cost ~0.01 ms a request (bench/ingest.py's bare endpoint).
            config = uvicorn.Config(self.app, log_level=self.options.log_level.lower(), access_log=False,
                                    proxy_headers=False,
                                    ssl_certfile=self.options.tls_cert, ssl_keyfile=self.options.tls_key,
                                    log_config=None if embedded else uvicorn.config.LOGGING_CONFIG)
            self._server = (_Embedded if embedded else uvicorn.Server)(config)
        self._stop = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        try:
            if self._halt:  # stopped before it started
                return
            if sock is not None and self._server is not None:
                await self._server.serve(sockets=[sock])
            else:
                async with self.app.router.lifespan_context(self.app):
                    await self._stop.wait()
        finally:
            await self.replication.aclose()
            await self.client.aclose()

    def stop(self) -> None:
        """Shut down gracefully (the engine lease is released); safe from any thread."""
        self._halt = True
        if self._server is not None:
            self._server.should_exit = True
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._stop.set)

    def state(self) -> NodeState:
        """Blocking (one read of the store's version vector): call it from a thread."""
        runner = self.runner
        if runner is None:
            engine = "off"
        elif runner.role == "leader":
            engine = "behind" if runner.behind else "running"
        else:
            engine = runner.role
        local_seq = self.store.vector().get(self.store.site.site, 0)
        return NodeState(engine, runner.error if runner else None,
                         self.replication.peers(local_seq), local_seq)
