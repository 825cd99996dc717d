"""`sunrelay serve`: the headless console — alert ingest, the engine and the dispatcher.

Binds 127.0.0.1:8765 unless told otherwise. Several `serve` (or console)
processes may share one store; one of them runs the engine (lease.py), and
all of them take alerts. Secrets come from the environment, never the
command line (where `ps` would show them): SUNRELAY_WEBHOOK_SECRET signs
webhooks, SUNRELAY_SMTP names the mail relay with its login.
"""

from __future__ import annotations

import logging
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import httpx
import typer
import uvicorn

import policies
from console.engine.cycle import Engine
from console.engine.lease import elector_for
from console.engine.metrics import standard
from console.engine.runner import EngineRunner
from console.ingest.app import Background, create_app
from console.ingest.commit import GroupCommitter
from console.ingest.service import IngestService
from console.notify.bus import BUS
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
from console.peers_cli import peers_path
from console.policies_cli import default_policies_dir
from console.replication import Replication
from console.store.db import StoreError
from console.store.store import Store
from sync import peers

log = logging.getLogger("sunrelay.serve")


class PolicyHolder:
    """The policy set in force; a broken edit keeps the last good one (and says why)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.current = policies.load(directory)

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


def _fail(message: str) -> None:
    print(f"sunrelay: error: {message}", file=sys.stderr)
    raise typer.Exit(1)


def serve(
    host: Annotated[str, typer.Option(help="Address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind")] = 8765,
    db: Annotated[str | None, typer.Option("--db", envvar="SUNRELAY_DB", help="Database URL or path")] = None,
    policies_dir: Annotated[Path | None, typer.Option(
        "--policies", envvar="SUNRELAY_POLICIES", file_okay=False, help="Policy directory")] = None,
    engine: Annotated[bool, typer.Option(
        "--engine/--no-engine", help="Take part in the engine election (--no-engine: ingest only)")] = True,
    lease_seconds: Annotated[float, typer.Option(
        help="Engine lease on SQLite: another process takes over this long after this one dies")] = 15.0,
    smtp: Annotated[str | None, typer.Option(
        envvar="SUNRELAY_SMTP", show_default=False,
        help="Mail relay, e.g. smtp+starttls://user:pass@host:587?from=pager@example.org")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    peers_file: Annotated[Path | None, typer.Option(
        "--peers", envvar="SUNRELAY_PEERS",
        help="peers.toml: the consoles to sync with [default: next to the store]")] = None,
    sync_every: Annotated[float, typer.Option(
        help="Seconds between sync rounds with each peer (jittered ±50%); pokes and local "
             "ops start one at once")] = 10.0,
) -> None:
    """Headless console: alert ingest over HTTP, the escalation engine, notifications."""
    # The event loop (HTTP) and the group-commit writer share the GIL; Python's default
    # 5 ms switch interval makes every request wait behind a writer's turn.
    sys.setswitchinterval(0.0005)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    directory = policies_dir or default_policies_dir()
    try:
        holder = PolicyHolder(directory)
    except policies.PolicyError as exc:
        for problem in exc.problems:
            print(str(problem), file=sys.stderr)
        _fail(f"{len(exc.problems)} error(s) in the policies at {directory}")
    try:
        smtp_config = SmtpConfig.from_url(smtp) if smtp else None
    except ValueError as exc:
        _fail(str(exc))
    try:
        store = Store.open(db, site_name=os.environ.get("SUNRELAY_SITE"))
    except StoreError as exc:
        _fail(str(exc))
    secret = os.environ.get("SUNRELAY_WEBHOOK_SECRET", "").encode() or None
    metrics = standard()
    runner: EngineRunner | None = None
    background: list[Background] = [holder.watch]
    client = httpx.AsyncClient(timeout=10)
    if engine:
        channels: dict[str, Channel] = {
            "webhook": WebhookChannel(client, secret), "slack": SlackChannel(client),
            "email": EmailChannel(smtp_config), "command": CommandChannel(), "console": ConsoleChannel(BUS)}
        runner = EngineRunner(
            Engine(store, holder, metrics=metrics), Dispatcher(store, channels, metrics=metrics),
            elector_for(store.engine, timedelta(seconds=lease_seconds)),
            renew_every=max(0.2, lease_seconds / 3))
        background.append(runner.run)
        if secret is None:
            log.warning("SUNRELAY_WEBHOOK_SECRET is not set: webhook notifications will fail, unsigned")
    try:
        replication = Replication(store, peers_path(peers_file), lambda: holder().digest,
                                  on_new_ops=runner.wake if runner else None,
                                  interval=(sync_every * 0.5, sync_every * 1.5))
    except peers.PeersError as exc:
        _fail(str(exc))
    background.append(replication.service.run)

    def after_commit() -> None:
        """New local ops: peers hear of them now, and so does the engine."""
        replication.service.local_change()
        if runner is not None:
            runner.wake()

    committer = GroupCommitter(store, after_commit=after_commit)
    service = IngestService(store, holder, committer, metrics=metrics)
    app = create_app(service, health=runner.health if runner else None, background=background,
                     routers=[replication.router])
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False)
    finally:
        store.close()
