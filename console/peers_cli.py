"""`sunrelay peers add|list|remove|test`: the consoles this one syncs with.

Only `test` opens the store and speaks HTTP: it imports them itself, so editing
peers.toml does not wait for SQLAlchemy and httpx to load.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from console.i18n import _, _l
from console.paths import data_dir
from sync import peers

app = typer.Typer(help=_l("The peer consoles this one syncs with (peers.toml)."), no_args_is_help=True)

PeersOpt = Annotated[Path | None, typer.Option(
    "--peers", envvar="SUNRELAY_PEERS", show_envvar=True,
    help=_l("peers.toml [default: next to the store, ~/.local/share/sunrelay/peers.toml]"))]
DbOpt = Annotated[str | None, typer.Option("--db", envvar="SUNRELAY_DB", help=_l("Database URL or path"))]


def peers_path(given: Path | None) -> Path:
    return given or data_dir() / "peers.toml"


def fail(message: str) -> NoReturn:
    print(_("sunrelay: error: {message}").format(message=message), file=sys.stderr)
    raise typer.Exit(1)


def _load(path: Path) -> list[peers.PeerEntry]:
    try:
        return peers.load(path)
    except peers.PeersError as exc:
        fail(str(exc))


@app.command("list", help=_l("The configured peers."))
def list_peers(peers_file: PeersOpt = None) -> None:
    path = peers_path(peers_file)
    entries = _load(path)
    if not entries:
        print(_("no peers in {path}").format(path=path))
    for p in entries:
        secret = (_("file {path}").format(path=p.secret_file) if p.secret_file
                  else _("env {name}").format(name=p.secret_env))
        print(_("{name} {url} key {key_id} secret from {secret}").format(
            name=f"{p.name:<8}", url=f"{p.url:<40}", key_id=f"{p.key_id:<16}", secret=secret))


@app.command("add", help=_l("Add a peer; its secret stays in a file or an environment variable."))
def add(
    name: Annotated[str, typer.Argument(help=_l("The peer's site name, e.g. BER"))],
    url: Annotated[str, typer.Argument(help=_l("Where it serves, e.g. http://10.0.0.2:8765"))],
    key_id: Annotated[str, typer.Option("--key-id", help=_l("Id of the secret shared with it"))],
    secret_file: Annotated[str | None, typer.Option(help=_l("File holding the secret"))] = None,
    secret_env: Annotated[str | None, typer.Option(help=_l("Environment variable holding it"))] = None,
    ca_file: Annotated[str | None, typer.Option(
        help=_l("CA bundle that signed the peer's certificate (https URLs)"))] = None,
    peers_file: PeersOpt = None,
) -> None:
    path = peers_path(peers_file)
    entries = _load(path)
    if any(p.name == name.upper() for p in entries):
        fail(_("peer {name} is already in {path}; remove it first").format(name=name.upper(), path=path))
    entry = peers.PeerEntry(name.upper(), url, key_id, secret_file, secret_env, ca_file)
    candidate = [*entries, entry]
    try:
        peers.parse(peers.rows(candidate), str(path))  # what a running console will check
    except peers.PeersError as exc:
        fail(str(exc))
    peers.save(path, candidate)
    print(_("added {name} ({url}) to {path}").format(name=entry.name, url=entry.url, path=path))


@app.command("remove", help=_l("Stop syncing with a peer."))
def remove(name: Annotated[str, typer.Argument(help=_l("The peer's site name"))],
           peers_file: PeersOpt = None) -> None:
    path = peers_path(peers_file)
    entries = _load(path)
    kept = [p for p in entries if p.name != name.upper()]
    if len(kept) == len(entries):
        fail(_("no peer {name} in {path}").format(name=name.upper(), path=path))
    peers.save(path, kept)
    print(_("removed {name} from {path}").format(name=name.upper(), path=path))


@app.command("test", help=_l(
    "Reach each peer with a signed request: reachable, clock offset, how far apart."))
def test(name: Annotated[str | None, typer.Argument(help=_l("Only this peer"))] = None,
         peers_file: PeersOpt = None, db: DbOpt = None) -> None:
    from console.store.db import StoreError
    from console.store.store import Store

    entries = [p for p in _load(peers_path(peers_file)) if name is None or p.name == name.upper()]
    if not entries:
        fail(_("no such peer configured") if name else _("no peers configured"))
    try:
        with Store.open(db, site_name=os.environ.get("SUNRELAY_SITE")) as store:
            site, ours = store.site.site, store.vector()
    except StoreError as exc:
        fail(str(exc))
    failed = asyncio.run(_test_all(entries, site, ours))
    if failed:
        raise typer.Exit(1)


async def _test_all(entries: list[peers.PeerEntry], site: str, ours: dict[str, int]) -> int:
    from sync.client import PeerClient, PeerRefused, PeerUnavailable

    failed = 0
    for entry in entries:
        try:
            client = PeerClient(entry.url, entry.key(), site, verify=entry.verify())
        except peers.PeersError as exc:
            print(f"{entry.name}: {exc}")
            failed += 1
            continue
        try:
            sent = time.time()
            info = await client.info()
            offset = info["phys_now_ms"] / 1000 - (sent + time.time()) / 2
            theirs = info["vector"]
            behind = sum(max(0, s - ours.get(k, 0)) for k, s in theirs.items())
            ahead = sum(max(0, s - theirs.get(k, 0)) for k, s in ours.items())
            print(_("{name}: ok, site {site}, clock offset {offset} s, it has {behind} ops we lack, "
                    "we have {ahead} it lacks").format(name=entry.name, site=info["name"],
                                                       offset=f"{offset:+.1f}", behind=behind, ahead=ahead))
        except (PeerUnavailable, PeerRefused) as exc:
            print(_("{name}: unreachable: {error}").format(name=entry.name, error=exc))
            failed += 1
        finally:
            await client.aclose()
    return failed
