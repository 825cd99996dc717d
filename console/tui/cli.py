"""`sunrelay` (the console, also `sunrelay console`) and `sunrelay demo`.

Textual is imported inside the commands, so the scriptable incident commands
never pay for it.
"""

from __future__ import annotations

import gc
import getpass
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from console.i18n import _, _l

if TYPE_CHECKING:
    from console.tui.services.node import ServeOptions

DbOpt = Annotated[str | None, typer.Option(
    "--db", envvar="SUNRELAY_DB", help=_l("Database URL or SQLite path"))]
AsOpt = Annotated[str | None, typer.Option(
    "--as", envvar="SUNRELAY_USER", help=_l("Who is at the console [default: your login name]"))]
PoliciesOpt = Annotated[Path | None, typer.Option(
    "--policies", envvar="SUNRELAY_POLICIES", file_okay=False, help=_l("Policy directory"))]
NoMouse = Annotated[bool, typer.Option("--no-mouse", help=_l("No mouse reporting (thin links)"))]
LowColor = Annotated[bool, typer.Option(
    "--low-color", help=_l("16 colours, the terminal's own palette"))]
Compact = Annotated[bool, typer.Option("--compact", help=_l("A shorter footer"))]
Readonly = Annotated[bool, typer.Option("--readonly", help=_l("Watch only: no action keys"))]
Keys = Annotated[str | None, typer.Option(
    "--keys", envvar="SUNRELAY_KEYS",
    help=_l("Remap keys: BINDING-ID=KEY,... (ids are listed by ?), e.g. incident.ack=A"))]
HostOpt = Annotated[str, typer.Option(help=_l("Address the console serves HTTP on (ingest, sync)"))]
PortOpt = Annotated[int, typer.Option(help=_l("Port the console serves HTTP on"))]
# `console` and `demo` are mounted on the root command by console.cli, hence their help there.
CONSOLE_HELP = _l("The full-screen console (what `sunrelay` with no command opens): a full peer that "
                  "serves ingest and sync over HTTP and runs the engine when it wins the election.")
DEMO_HELP = _l("Try Sunrelay: sample incidents, live alerts and two peer consoles, as the Jakarta "
               "on-call engineer.\n\nA new store holds a week of history and a dozen open incidents "
               "made from the example policies; Berlin and New York sync theirs in; simulated monitoring "
               "raises and clears alerts through the console's HTTP ingest meanwhile.")


def parse_keys(text: str | None) -> dict[str, str]:
    keymap: dict[str, str] = {}
    for item in (text or "").split(","):
        if item.strip():
            ident, sep, key = item.partition("=")
            if not sep or not ident.strip() or not key.strip():
                raise typer.BadParameter(_("{item!r} is not BINDING-ID=KEY").format(item=item),
                                         param_hint="--keys")
            keymap[ident.strip()] = key.strip()
    return keymap


def run_console(url: str | None, actor: str, policy_dir: Path | None, *, no_mouse: bool,
                low_color: bool, compact: bool, readonly: bool, keys: str | None,
                serve: ServeOptions | None, site_name: str | None = None) -> None:
    """Open the store and the policies, and run the console (with its Node when
    `serve`) until it is quit or the terminal goes away (SIGHUP) or it is told to
    stop (SIGTERM): exit status 0.

    The collector is off from here until the queue's first screenful is on the
    terminal (`SunrelayApp.first_rows_shown` freezes the heap and turns it back
    on): start-up makes objects that live as long as the console (modules, the
    store, the screens), and collecting among them cost ~0.1 s of the first frame."""
    gc.disable()
    keymap = parse_keys(keys)
    if low_color:
        os.environ["TEXTUAL_COLOR_SYSTEM"] = "standard"
    from console.paths import default_policies_dir
    from console.store.db import StoreError
    from console.store.store import Store
    from console.tui.app import SunrelayApp

    directory = policy_dir or default_policies_dir()
    try:
        store = Store.open(url, site_name=site_name or os.environ.get("SUNRELAY_SITE"))
    except StoreError as exc:
        print(_("sunrelay: error: {message}").format(message=exc), file=sys.stderr)
        raise typer.Exit(1) from None
    try:
        app = SunrelayApp(store, actor=actor, policy_dir=directory, readonly=readonly,
                          compact=compact, low_color=low_color, keymap=keymap, handle_signals=True,
                          serve=serve)
        app.run(mouse=not no_mouse)
    finally:
        store.close()


def console(
    db: DbOpt = None, as_: AsOpt = None, policies_dir: PoliciesOpt = None,
    no_mouse: NoMouse = False, low_color: LowColor = False, compact: Compact = False,
    readonly: Readonly = False, keys: Keys = None, host: HostOpt = "127.0.0.1", port: PortOpt = 8765,
    serve: Annotated[bool, typer.Option(
        "--serve/--no-serve",
        help=_l("Run ingest, sync and the engine election beside the console (--no-serve: only look)"))]
    = True,
    engine: Annotated[bool, typer.Option(
        "--engine/--no-engine", help=_l("Take part in the engine election"))] = True,
    peers_file: Annotated[Path | None, typer.Option(
        "--peers", envvar="SUNRELAY_PEERS",
        help=_l("peers.toml: the consoles to sync with [default: next to the store]"))] = None,
    region: Annotated[list[str] | None, typer.Option(
        help=_l("Follow-the-sun region whose handoffs this console drafts and escalates; repeat "
                "for more [default: every region]"))] = None,
) -> None:
    from console.tui.services.node import ServeOptions

    options = (ServeOptions(peers_file, host=host, port=port, engine=engine,
                            regions=tuple(region or ()) or None) if serve else None)
    run_console(db, as_ or getpass.getuser(), policies_dir, no_mouse=no_mouse,
                low_color=low_color, compact=compact, readonly=readonly, keys=keys, serve=options)


def demo(
    db: Annotated[str | None, typer.Option(
        "--db", help=_l("Keep the demo store here [default: a temporary directory, removed after]"))]
    = None,
    seed: Annotated[int, typer.Option(help=_l("Random seed for the sample data"))] = 7,
    feed: Annotated[bool, typer.Option(help=_l("Simulated monitoring raising and clearing alerts"))]
    = True,
    regions: Annotated[bool, typer.Option(
        help=_l("Berlin and New York as peer consoles (sunrelay serve on 127.0.0.1)"))] = True,
    interval: Annotated[float, typer.Option(help=_l("Seconds between simulated alerts"))] = 5.0,
    no_mouse: NoMouse = False, low_color: LowColor = False, compact: Compact = False,
    keys: Keys = None,
) -> None:
    from datetime import UTC, datetime

    from console import demo as sample
    from console.tui.services.node import ServeOptions
    from policies import load

    ps = load(sample.EXAMPLES)
    tmp = Path(tempfile.mkdtemp(prefix="sunrelay-demo-"))
    path = Path(db) if db else tmp / "demo.db"
    if path.exists():
        shutil.rmtree(tmp, ignore_errors=True)
        print(_("sunrelay: error: {message}").format(
            message=_("{path} exists; the demo fills a new store").format(path=path)), file=sys.stderr)
        raise typer.Exit(1)
    url = f"sqlite:///{path.resolve()}"
    now = datetime.now(UTC)
    port = sample.free_port()
    peers_file = tmp / "peers.toml"  # stays absent without the regions: no peers
    peers = sample.Regions(tmp, port, peers_file) if regions else None
    simulator = sample.Feed([f"http://127.0.0.1:{port}", *(peers.urls if peers else [])], ps,
                            interval, seed) if feed else None
    try:
        if peers is not None:
            peers.start(ps, now)
        actor = sample.fill(url, ps, now, seed)
        if simulator is not None:
            simulator.start()
        run_console(url, actor, sample.EXAMPLES, no_mouse=no_mouse, low_color=low_color,
                    compact=compact, readonly=False, keys=keys, site_name=sample.SITE,
                    serve=ServeOptions(peers_file, port=port, sync_every=5.0, regions=("jakarta",)))
    finally:
        if simulator is not None:
            simulator.stop.set()
            simulator.join(timeout=10)
        if peers is not None:
            peers.stop()
        shutil.rmtree(tmp, ignore_errors=True)
