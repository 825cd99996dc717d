"""`sunrelay oncall override|list|cancel`: cover someone's shift from the shell, as an op
that syncs to every console and that the engine pages by."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from console.cli import AsOpt, DbOpt, actor, fail, opened
from console.i18n import _, lazy_gettext
from console.overrides import OverrideError, OverrideLog, cancel, take
from console.policies_cli import PoliciesOpt, _load
from policies import parse_instant

app = typer.Typer(help=lazy_gettext("On-call overrides: take a shift, list them, cancel one."),
                  no_args_is_help=True)


def _instant(text: str, name: str) -> datetime:
    try:
        return parse_instant(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from exc


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


@app.command()
def override(
    schedule: Annotated[str, typer.Option(help=lazy_gettext("The schedule to cover"))],
    start: Annotated[str, typer.Option(help=lazy_gettext("From, e.g. '2026-12-06 03:00 Asia/Jakarta'"))],
    end: Annotated[str, typer.Option(help=lazy_gettext("Until (same forms as --start)"))],
    person: Annotated[str | None, typer.Option(help=lazy_gettext("Who covers [default: you]"))] = None,
    replaces: Annotated[str | None, typer.Option(
        help=lazy_gettext("Cover only this person's turns [default: whoever is on call, and gaps]"))] = None,
    policies_dir: PoliciesOpt = None, as_: AsOpt = None, db: DbOpt = None,
) -> None:
    """Put someone (you) on call for a schedule over a span."""
    ps = _load(policies_dir)
    who = actor(as_)
    if person is None:
        me = ps.person_by_login(who)
        if me is None:
            fail(_("{who!r} is not a person in the policies: give --person").format(who=who))
        person = me.id
    with opened(db) as store:
        try:
            made = take(store, ps, who, schedule, _instant(start, "--start"), _instant(end, "--end"),
                        person, replaces)
        except OverrideError as exc:
            fail(str(exc))
    print(_("override {ref}: {who} on call for {schedule} {start} – {end}").format(
        ref=made.id[-8:], who=made.user, schedule=made.schedule, start=_stamp(made.start),
        end=_stamp(made.end)))


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help=lazy_gettext("Also those that have ended"))] = False,
    db: DbOpt = None,
) -> None:
    """Active overrides, earliest first."""
    now = datetime.now(UTC)
    with opened(db) as store:
        log = OverrideLog(store.engine)
        log.refresh()
    rows = [o for o in log.active if all_ or o.end > now]
    if not rows:
        print(_("no overrides"))
        return
    lines = [(_("REF"), _("SCHEDULE"), _("WHO"), _("REPLACES"), _("FROM"), _("UNTIL"), _("BY"))] + [
        (o.id[-8:], o.schedule, o.user, o.replaces or "-", _stamp(o.start), _stamp(o.end), o.by)
        for o in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


@app.command("cancel")
def cancel_(
    ref: Annotated[str, typer.Argument(help=lazy_gettext("Override id, or its last characters (see list)"))],
    as_: AsOpt = None, db: DbOpt = None,
) -> None:
    """Withdraw an override: the schedule applies again."""
    with opened(db) as store:
        try:
            gone = cancel(store, OverrideLog(store.engine), actor(as_), ref)
        except OverrideError as exc:
            fail(str(exc))
    print(_("override {ref} cancelled: {schedule} {start} – {end} is back to the rota").format(
        ref=gone.id[-8:], schedule=gone.schedule, start=_stamp(gone.start), end=_stamp(gone.end)))
