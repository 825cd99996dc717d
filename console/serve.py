"""`sunrelay serve`: the headless console — alert ingest, the engine and the dispatcher.

Binds 127.0.0.1:8765 unless told otherwise. Several `serve` (or console)
processes may share one store; one of them runs the engine (lease.py), and
all of them take alerts. Secrets come from the environment, never the
command line (where `ps` would show them): SUNRELAY_WEBHOOK_SECRET signs
webhooks, SUNRELAY_SMTP names the mail relay with its login.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import ssl
import sys
from pathlib import Path
from typing import Annotated

import typer

import policies
from console.node import BindError, Node, NodeOptions, PolicyHolder, bind, webhook_secret
from console.notify.channels import SmtpConfig
from console.peers_cli import peers_path
from console.policies_cli import default_policies_dir
from console.store.db import StoreError
from console.store.store import Store
from sync import peers


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
    tls_cert: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="Serve HTTPS with this certificate (PEM); needs --tls-key")] = None,
    tls_key: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, help="The certificate's private key (PEM)")] = None,
    region: Annotated[list[str] | None, typer.Option(
        help="Follow-the-sun region this console drafts and escalates handoffs for; repeat "
             "for more [default: every region]")] = None,
) -> None:
    """Headless console: alert ingest over HTTP, the escalation engine, notifications."""
    # The event loop (HTTP) and the writer thread (group commits, the engine's turns) share
    # the GIL. Python's default 5 ms switch interval makes requests wait behind the writer;
    # 0.5 ms cost 15-20% more CPU per event in GIL hand-overs (bench/ingest.py, with the
    # engine): 2 ms keeps the wait short and the hand-overs few.
    sys.setswitchinterval(0.002)
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
    if (tls_cert is None) != (tls_key is None):
        _fail("--tls-cert and --tls-key go together")
    if tls_cert is not None and tls_key is not None:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(tls_cert, tls_key)
        except (ssl.SSLError, OSError) as exc:
            _fail(f"cannot serve HTTPS with {tls_cert} and {tls_key}: {exc}")
    try:
        store = Store.open(db, site_name=os.environ.get("SUNRELAY_SITE"))
    except StoreError as exc:
        _fail(str(exc))
    options = NodeOptions(peers_path(peers_file), engine=engine, lease_seconds=lease_seconds,
                          smtp=smtp_config, webhook_secret=webhook_secret(), sync_every=sync_every,
                          log_level=log_level, regions=tuple(region or ()) or None,
                          tls_cert=tls_cert, tls_key=tls_key)
    try:
        sock = bind(host, port)
        node = Node(store, holder, options, background=[holder.watch])
        # What start-up made (modules, the policy set, compiled statements) lives as long as
        # the process: frozen out of the collector, its full passes stop walking all of it
        # (they cost a receiving peer 10-17 us an op of a snapshot), as the console does.
        gc.freeze()
        asyncio.run(node.run(sock))
    except (peers.PeersError, BindError) as exc:
        _fail(str(exc))
    finally:
        store.close()
