"""`sunrelay`: the scriptable command line over the incident store.

The store (SQLAlchemy, the table models: over half a second of imports on these
machines) is imported by the commands that open it, not here: `who`, `policies`
and `--help` of a command never pay for it.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from console import i18n
from console.domain import commands
from console.i18n import _, _l, ngettext

if TYPE_CHECKING:
    from console.domain.commands import Change
    from console.domain.state import IncidentState
    from console.store.store import Store

app = typer.Typer(
    name="sunrelay", help=_l("Sunrelay: the on-call console for the terminal."),
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
db_app = typer.Typer(help=_l("Look after the store: migrate, rebuild, verify."), no_args_is_help=True)
app.add_typer(db_app, name="db")

DbOpt = Annotated[str | None, typer.Option(
    "--db", envvar="SUNRELAY_DB", show_envvar=True,
    help=_l("Database URL or SQLite path [default: ~/.local/share/sunrelay/sunrelay.db]"))]
AsOpt = Annotated[str | None, typer.Option(
    "--as", envvar="SUNRELAY_USER", show_envvar=True,
    help=_l("Who is acting [default: your login name]"))]
JsonOpt = Annotated[bool, typer.Option("--json", help=_l("Print JSON (see docs/cli.md)"))]
KeyArg = Annotated[str, typer.Argument(help=_l("Incident key, e.g. JKT-42"))]


def fail(message: str) -> NoReturn:
    print(_("sunrelay: error: {message}").format(message=message), file=sys.stderr)
    raise typer.Exit(1)


def choose_language(value: str | None) -> str | None:
    """--lang is eager, so `--lang id --help` already shows help in Indonesian."""
    try:
        i18n.select(value)
    except i18n.UnknownLanguage:
        raise typer.BadParameter(_("{value!r} is not one of: {languages}").format(
            value=value, languages=", ".join(i18n.LANGUAGES))) from None
    return value


@app.callback()
def root(lang: Annotated[str | None, typer.Option(
    "--lang", metavar="LANG", is_eager=True, callback=choose_language,
    help=_l("Language: en or id (default: SUNRELAY_LANG, else the locale: LANGUAGE, LC_ALL, "
            "LC_MESSAGES, LANG; else en)"))] = None) -> None:
    # The work is done by choose_language; typer needs a callback to hold a global option.
    pass


@contextmanager
def opened(url: str | None) -> Iterator[Store]:
    """The store, with every expected failure turned into one line on stderr."""
    from console.domain.vocabulary import VocabularyError
    from console.store.db import StoreError
    from console.store.store import NotFound, Store

    try:
        store = Store.open(url, site_name=os.environ.get("SUNRELAY_SITE"))
    except StoreError as exc:
        fail(str(exc))
    try:
        yield store
    except (StoreError, NotFound, commands.IllegalTransition, VocabularyError) as exc:
        fail(str(exc.args[0]) if exc.args else str(exc))
    finally:
        store.close()


def actor(name: str | None) -> str:
    return name or getpass.getuser()


def dump(value: Any) -> None:
    """Indented for a person at a terminal; on one line for a script, which the C encoder
    writes three to four times faster (indenting is done by the pure-Python one)."""
    print(json.dumps(value, indent=2 if sys.stdout.isatty() else None, ensure_ascii=False))


def parse_labels(items: list[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(_("label {item!r} is not key=value").format(item=item))
        labels[name.strip()] = value.strip()
    return labels


@app.command(help=_l("Open an incident, or retrigger the open one with the same dedup key."))
def trigger(
    title: Annotated[str, typer.Argument(help=_l("What is wrong, in a line"))],
    service: Annotated[str, typer.Option("--service", "-s", help=_l("The affected service"))],
    severity: Annotated[str, typer.Option(help=_l("sev1..sev4 or critical/high/medium/low"))] = "sev2",
    dedup_key: Annotated[str | None, typer.Option(
        "--dedup-key", help=_l("Repeats with this key fold into the open incident"))] = None,
    label: Annotated[list[str] | None, typer.Option(
        "--label", "-l", help=_l("key=value metadata; repeat for more"))] = None,
    priority: Annotated[str | None, typer.Option(help="P1..P4")] = None,
    team: Annotated[str | None, typer.Option(help=_l("Owning team"))] = None,
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    from console import render

    labels = parse_labels(label or [])
    with opened(db) as store:
        result = store.trigger(actor(as_), title=title, service=service, severity=severity,
                               dedup_key=dedup_key, labels=labels, priority=priority, team=team)
        if as_json:
            dump({**render.incident_json(store.find(result.state.id)), "created": result.created})
        elif result.created:
            print(_("{key} triggered: {title}").format(key=result.state.key, title=result.state.title))
        else:
            print(ngettext("{key} retriggered ({count} alert)", "{key} retriggered ({count} alerts)",
                           result.state.alert_count).format(key=result.state.key,
                                                            count=result.state.alert_count))


@app.command("list", help=_l("Incidents: the open ones, most severe first, or all of them, newest first."))
def list_(
    status: Annotated[str, typer.Option(help=_l("open or all"))] = "open",
    db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    from console import render

    if status not in ("open", "all"):
        fail(_("--status must be open or all, not {status!r}").format(status=status))
    with opened(db) as store:
        rows = store.incidents(status=status)
        if as_json:
            dump({"version": render.JSON_VERSION, "incidents": [render.incident_json(r) for r in rows]})
        else:
            print(render.table(rows, datetime.now(UTC)))


@app.command(help=_l("One incident with its notes and full timeline."))
def show(key: KeyArg, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    from console import render

    with opened(db) as store:
        row = store.find(key)
        notes, timeline = store.notes(row.id), store.timeline(row.id)
        if as_json:
            dump({"version": render.JSON_VERSION, **render.detail_json(row, notes, timeline)})
        else:
            print(render.detail(row, notes, timeline))


def _act(key: str, who: str | None, url: str | None, as_json: bool,
         decide: Callable[[IncidentState], Change], done: str, **fields: str) -> None:
    from console import render

    with opened(url) as store:
        state = store.act(key, actor(who), decide)
        if as_json:
            dump(render.incident_json(store.find(state.id)))
        else:
            print(done.format(key=state.key, **fields))


@app.command(help=_l("Acknowledge: I have it; stop escalating."))
def ack(key: KeyArg, as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    _act(key, as_, db, as_json, commands.ack, _("{key} acknowledged"))


@app.command(help=_l("Give an acknowledged incident back: it is triggered again and escalates."))
def unack(key: KeyArg, as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    _act(key, as_, db, as_json, commands.unack, _("{key} unacknowledged: triggered again"))


@app.command(help=_l("Resolve the incident."))
def resolve(key: KeyArg, as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    _act(key, as_, db, as_json, commands.resolve, _("{key} resolved"))


@app.command(help=_l("Reopen a resolved incident."))
def reopen(
    key: KeyArg, reason: Annotated[str, typer.Option(help=_l("Why it is back"))] = "",
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    _act(key, as_, db, as_json, lambda s: commands.reopen(s, reason), _("{key} reopened"))


@app.command(help=_l("Add a note to the incident's timeline."))
def note(
    key: KeyArg, text: Annotated[str, typer.Argument(help=_l("The note"))],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    _act(key, as_, db, as_json, lambda s: commands.note(s, text), _("{key} noted"))


@app.command(help=_l("Escalate to the next level (or --level N)."))
def escalate(
    key: KeyArg,
    # The default reason is recorded in the op log and read by every console: it stays English.
    reason: Annotated[str, typer.Option(help=_l("Why escalate"))] = "escalated by hand",
    level: Annotated[int | None, typer.Option(help=_l("Go to this level [default: the next]"))] = None,
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    _act(key, as_, db, as_json, lambda s: commands.escalate(s, reason, level=level),
         _("{key} escalated"))


@app.command(help=_l("Set the severity."))
def severity(
    key: KeyArg, value: Annotated[str, typer.Argument(help="sev1..sev4")],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    _act(key, as_, db, as_json, lambda s: commands.set_severity(s, value),
         _("{key} severity {value}"), value=value)


@app.command(help=_l("Set the priority."))
def priority(
    key: KeyArg, value: Annotated[str, typer.Argument(help="P1..P4")],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    _act(key, as_, db, as_json, lambda s: commands.set_priority(s, value),
         _("{key} priority {value}"), value=value)


@app.command(help=_l("Set the response stage."))
def stage(
    key: KeyArg,
    value: Annotated[str, typer.Argument(help=_l("new, triage, investigating, mitigating, monitoring"))],
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    _act(key, as_, db, as_json, lambda s: commands.set_stage(s, value),
         _("{key} stage {value}"), value=value)


@app.command(help=_l("Hand the incident to another team, policy or person."))
def reassign(
    key: KeyArg,
    team: Annotated[str | None, typer.Option(help=_l("Hand to this team"))] = None,
    policy: Annotated[str | None, typer.Option(help=_l("Escalate by this policy"))] = None,
    assignee: Annotated[str | None, typer.Option(help=_l("Hand to this person"))] = None,
    as_: AsOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    _act(key, as_, db, as_json,
         lambda s: commands.reassign(s, team=team, policy=policy, assignee=assignee), _("{key} reassigned"))


@db_app.command(help=_l("Apply pending migrations (opening the store also does this)."))
def upgrade(db: DbOpt = None) -> None:
    from console.store import db as storedb

    try:
        engine = storedb.make_engine(storedb.resolve_url(db))
        try:
            before, after = storedb.upgrade(engine)
        finally:
            engine.dispose()
    except storedb.StoreError as exc:
        fail(str(exc))
    print(_("schema at {revision}").format(revision=after) if before == after else
          _("schema at {revision} (was {before})").format(revision=after, before=before or _("empty")))


@db_app.command(help=_l("Fold every incident again from the op log."))
def rebuild(db: DbOpt = None) -> None:
    with opened(db) as store:
        count = store.rebuild()
        print(_("rebuilt {count} incidents from {ops} ops").format(count=count, ops=store.count_ops()))


@db_app.command(help=_l("Check every site's hash chain: gaps and altered ops. Exit 1 if any."))
def verify(db: DbOpt = None) -> None:
    with opened(db) as store:
        problems = store.verify()
        count = store.count_ops()
    if problems:
        for problem in problems:
            print(f"sunrelay: {problem}", file=sys.stderr)
        fail(ngettext("op log damaged: {problems} problem(s) in {count} op",
                      "op log damaged: {problems} problem(s) in {count} ops", count)
             .format(problems=len(problems), count=count))
    print(ngettext("op log intact: {count} op", "op log intact: {count} ops", count).format(count=count))


def mount_tools(first: str) -> None:
    """Command groups that pull in heavy libraries (the policy language's pydantic
    models and holiday calendars, the HTTP client) are imported only when asked
    for, or for --help: incident commands should not pay a fifth of a second."""
    everything = first in ("--help", "-h")
    if everything or first in ("policies", "who"):
        from console import policies_cli

        app.add_typer(policies_cli.app, name="policies")
        app.command("who", help=policies_cli.WHO_HELP)(policies_cli.who)
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

        app.command("update", help=updates.HELP)(updates.update)
    if everything or first == "oncall":
        from console import override_cli

        app.add_typer(override_cli.app, name="oncall")
    if everything or first == "report":
        from console import report_cli

        app.add_typer(report_cli.app, name="report")
    if everything or first in ("console", "demo"):
        from console.tui import cli as tui_cli

        app.command("console", help=tui_cli.CONSOLE_HELP)(tui_cli.console)
        app.command("demo", help=tui_cli.DEMO_HELP)(tui_cli.demo)


def split_lang(args: list[str]) -> tuple[list[str], list[str]]:
    """A leading `--lang X` (or `--lang=X`), and the arguments after it, which name the command."""
    if args and args[0].startswith("--lang="):
        return args[:1], args[1:]
    if args and args[0] == "--lang":
        return args[:2], args[2:]
    return [], args


def main() -> None:
    lang, rest = split_lang(sys.argv[1:])
    # Chosen before typer builds the commands, whose help texts are then read in that language.
    with suppress(i18n.UnknownLanguage):  # --lang's own callback reports it, in the usual form
        i18n.select(lang[-1].removeprefix("--lang=") if lang else None)
    # No command (or only options, as in `sunrelay --readonly`) opens the console.
    if not rest or (rest[0].startswith("-") and rest[0] not in ("--help", "-h")):
        rest.insert(0, "console")
    mount_tools(rest[0])
    app(args=[*lang, *rest])
