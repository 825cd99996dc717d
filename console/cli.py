"""`sunrelay`: the scriptable command line over the incident store."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

import typer

from console import render
from console.domain import commands
from console.domain.commands import Change, IllegalTransition
from console.domain.state import IncidentState
from console.domain.vocabulary import VocabularyError
from console.store.db import StoreError
from console.store.store import NotFound, Store

app = typer.Typer(
    name="sunrelay", help="Sunrelay: the on-call console for the terminal.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Look after the store: migrate, rebuild, verify.", no_args_is_help=True)
app.add_typer(db_app, name="db")

DbOpt = Annotated[str | None, typer.Option(
    "--db", envvar="SUNRELAY_DB", show_envvar=True,
    help="Database URL or SQLite path [default: ~/.local/share/sunrelay/sunrelay.db]")]
AsOpt = Annotated[str | None, typer.Option(
    "--as", envvar="SUNRELAY_USER", show_envvar=True,
    help="Who is acting [default: your login name]")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (see docs/cli.md)")]
KeyArg = Annotated[str, typer.Argument(help="Incident key, e.g. JKT-42")]


def fail(message: str) -> NoReturn:
    print(f"sunrelay: error: {message}", file=sys.stderr)
    raise typer.Exit(1)


@contextmanager
def opened(url: str | None) -> Iterator[Store]:
    """The store, with every expected failure turned into one line on stderr."""
    try:
        store = Store.open(url, site_name=os.environ.get("SUNRELAY_SITE"))
    except StoreError as exc:
        fail(str(exc))
    try:
        yield store
    except (StoreError, NotFound, IllegalTransition, VocabularyError) as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    finally:
        store.close()


def actor(name: str | None) -> str:
    return name or getpass.getuser()


def dump(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def parse_labels(items: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"label {item!r} is not key=value")
        labels[name.strip()] = value.strip()
    return labels


@app.command()
def trigger(
    title: Annotated[str, typer.Argument(help="What is wrong, in a line")],
    service: Annotated[str, typer.Option("--service", "-s", help="The affected service")],
    severity: Annotated[str, typer.Option(help="sev1..sev4 or critical/high/medium/low")] = "sev2",
    dedup_key: Annotated[str | None, typer.Option(
        "--dedup-key", help="Repeats with this key fold into the open incident")] = None,
    label: Annotated[list[str] | None, typer.Option(
        "--label", "-l", help="key=value metadata; repeat for more")] = None,
    priority: Annotated[str | None, typer.Option(help="P1..P4")] = None,
    team: Annotated[str | None, typer.Option(help="Owning team")] = None,
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Open an incident, or retrigger the open one with the same dedup key."""
    labels = parse_labels(label or [])
    with opened(db) as store:
        result = store.trigger(actor(as_), title=title, service=service, severity=severity,
                               dedup_key=dedup_key, labels=labels, priority=priority, team=team)
        if as_json:
            dump({**render.incident_json(store.find(result.state.id)), "created": result.created})
        elif result.created:
            print(f"{result.state.key} triggered: {result.state.title}")
        else:
            print(f"{result.state.key} retriggered ({result.state.alert_count} alerts)")


@app.command("list")
def list_(
    status: Annotated[str, typer.Option(help="open or all")] = "open",
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Incidents: the open ones, most severe first, or all of them, newest first."""
    if status not in ("open", "all"):
        fail(f"--status must be open or all, not {status!r}")
    with opened(db) as store:
        rows = store.incidents(status=status)
        if as_json:
            dump({"version": render.JSON_VERSION, "incidents": [render.incident_json(r) for r in rows]})
        else:
            print(render.table(rows, datetime.now(UTC)))


@app.command()
def show(key: KeyArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """One incident with its notes and full timeline."""
    with opened(db) as store:
        row = store.find(key)
        notes, timeline = store.notes(row.id), store.timeline(row.id)
        if as_json:
            dump({"version": render.JSON_VERSION, **render.detail_json(row, notes, timeline)})
        else:
            print(render.detail(row, notes, timeline))


def _act(key: str, who: str | None, url: str | None, as_json: bool,
         decide: Callable[[IncidentState], Change], done: str) -> None:
    with opened(url) as store:
        state = store.act(key, actor(who), decide)
        if as_json:
            dump(render.incident_json(store.find(state.id)))
        else:
            print(f"{state.key} {done}")


@app.command()
def ack(key: KeyArg, as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Acknowledge: I have it; stop escalating."""
    _act(key, as_, db, as_json, commands.ack, "acknowledged")


@app.command()
def unack(key: KeyArg, as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Give an acknowledged incident back: it is triggered again and escalates."""
    _act(key, as_, db, as_json, commands.unack, "unacknowledged: triggered again")


@app.command()
def resolve(key: KeyArg, as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Resolve the incident."""
    _act(key, as_, db, as_json, commands.resolve, "resolved")


@app.command()
def reopen(
    key: KeyArg, reason: Annotated[str, typer.Option(help="Why it is back")] = "",
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Reopen a resolved incident."""
    _act(key, as_, db, as_json, lambda s: commands.reopen(s, reason), "reopened")


@app.command()
def note(
    key: KeyArg, text: Annotated[str, typer.Argument(help="The note")],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Add a note to the incident's timeline."""
    _act(key, as_, db, as_json, lambda s: commands.note(s, text), "noted")


@app.command()
def escalate(
    key: KeyArg,
    reason: Annotated[str, typer.Option(help="Why escalate")] = "escalated by hand",
    level: Annotated[int | None, typer.Option(help="Go to this level [default: the next]")] = None,
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Escalate to the next level (or --level N)."""
    _act(key, as_, db, as_json, lambda s: commands.escalate(s, reason, level=level),
         "escalated")


@app.command()
def severity(
    key: KeyArg, value: Annotated[str, typer.Argument(help="sev1..sev4")],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Set the severity."""
    _act(key, as_, db, as_json, lambda s: commands.set_severity(s, value), f"severity {value}")


@app.command()
def priority(
    key: KeyArg, value: Annotated[str, typer.Argument(help="P1..P4")],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Set the priority."""
    _act(key, as_, db, as_json, lambda s: commands.set_priority(s, value), f"priority {value}")


@app.command()
def stage(
    key: KeyArg,
    value: Annotated[str, typer.Argument(help="new, triage, investigating, mitigating, monitoring")],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Set the response stage."""
    _act(key, as_, db, as_json, lambda s: commands.set_stage(s, value), f"stage {value}")


@app.command()
def reassign(
    key: KeyArg,
    team: Annotated[str | None, typer.Option(help="Hand to this team")] = None,
    policy: Annotated[str | None, typer.Option(help="Escalate by this policy")] = None,
    assignee: Annotated[str | None, typer.Option(help="Hand to this person")] = None,
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """Hand the incident to another team, policy or person."""
    _act(key, as_, db, as_json,
         lambda s: commands.reassign(s, team=team, policy=policy, assignee=assignee), "reassigned")


@db_app.command()
def upgrade(db: DbOpt = None) -> None:
    """Apply pending migrations (opening the store also does this)."""
    from console.store import db as storedb

    try:
        engine = storedb.make_engine(storedb.resolve_url(db))
        try:
            before, after = storedb.upgrade(engine)
        finally:
            engine.dispose()
    except StoreError as exc:
        fail(str(exc))
    print(f"schema at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@db_app.command()
def rebuild(db: DbOpt = None) -> None:
    """Fold every incident again from the op log."""
    with opened(db) as store:
        count = store.rebuild()
        print(f"rebuilt {count} incidents from {store.count_ops()} ops")


@db_app.command()
def verify(db: DbOpt = None) -> None:
    """Check every site's hash chain: gaps and altered ops. Exit 1 if any."""
    with opened(db) as store:
        problems = store.verify()
        count = store.count_ops()
    if problems:
        for problem in problems:
            print(f"sunrelay: {problem}", file=sys.stderr)
        fail(f"op log damaged: {len(problems)} problem(s) in {count} ops")
    print(f"op log intact: {count} ops")


def mount_tools(first: str) -> None:
    """Command groups that pull in heavy libraries (the policy language's pydantic
    models and holiday calendars, the HTTP client) are imported only when asked
    for, or for --help: incident commands should not pay a fifth of a second."""
    everything = first in ("--help", "-h")
    if everything or first in ("policies", "who"):
        from console import policies_cli

        app.add_typer(policies_cli.app, name="policies")
        app.command("who")(policies_cli.who)
    if everything or first == "peers":
        from console import peers_cli

        app.add_typer(peers_cli.app, name="peers")
    if everything or first == "serve":
        from console import serve

        app.command("serve")(serve.serve)
    if everything or first == "handoff":
        from console import handoff_cli

        app.add_typer(handoff_cli.app, name="handoff")
    if everything or first == "update":
        from console import updates

        app.command("update")(updates.update)
    if everything or first == "oncall":
        from console import override_cli

        app.add_typer(override_cli.app, name="oncall")
    if everything or first == "report":
        from console import report_cli

        app.add_typer(report_cli.app, name="report")
    if everything or first in ("console", "demo"):
        from console.tui import cli as tui_cli

        app.command("console")(tui_cli.console)
        app.command("demo")(tui_cli.demo)


def main() -> None:
    # No command (or only options, as in `sunrelay --readonly`) opens the console.
    if len(sys.argv) == 1 or (sys.argv[1].startswith("-") and sys.argv[1] not in ("--help", "-h")):
        sys.argv.insert(1, "console")
    mount_tools(sys.argv[1])
    app()
