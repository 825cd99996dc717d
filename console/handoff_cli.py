"""`sunrelay handoff draft|send|ack|list|show`: follow-the-sun handoffs from the shell."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import click
import typer

from console.cli import AsOpt, DbOpt, actor, fail, opened
from console.handoff import store as handoffs
from console.handoff.draft import Shift, shifts_ending, stamp
from console.handoff.runner import new_draft
from console.handoff.store import HandoffError
from console.i18n import _, _l
from console.policies_cli import AtOpt, PoliciesOpt, _load, _now
from console.store.store import Store
from console.store.tables import Handoff
from policies import FollowTheSun, PolicySet, group_on_call

app = typer.Typer(help=_l("Follow-the-sun handoff notes: draft, send, acknowledge, read."),
                  no_args_is_help=True)
RefArg = Annotated[str | None, typer.Argument(help=_l("Handoff id, or its last characters (see list)"))]


def _group(ps: PolicySet, name: str | None) -> FollowTheSun:
    if name is not None:
        if name not in ps.follow_the_sun:
            fail(_("no follow-the-sun group {name!r} in the policies").format(name=name))
        return ps.follow_the_sun[name]
    if len(ps.follow_the_sun) != 1:
        fail(_("give --group: the policies have {groups}").format(
            groups=", ".join(sorted(ps.follow_the_sun)) or _("no follow-the-sun group")))
    return next(iter(ps.follow_the_sun.values()))


def _shift(ps: PolicySet, group: FollowTheSun, region: str | None, now: datetime) -> Shift:
    """The shift of `region` (default: the region on duty) that ends next."""
    wanted = region or group_on_call(group, ps.schedules, now).region
    found = next((s for s in shifts_ending(group, now, now + timedelta(days=9))
                  if s.region == wanted), None) if wanted else None
    if found is None:
        fail(_("group {group} has no hand-off from region {region!r}").format(group=group.id, region=wanted))
    return found


def _pick(store: Store, ref: str | None, status: str) -> Handoff:
    if ref is not None:
        return handoffs.get(store, ref)
    rows = handoffs.handoffs(store, status=status)
    if len(rows) != 1:
        listed = ", ".join(r.id[-8:] for r in rows) or _("none")
        fail(_("give the handoff: {count} {status} ({listed})").format(
            count=len(rows), status=status, listed=listed))
    return rows[0]


@app.command(help=_l("The draft for the end of this shift (made now if the console has not made it yet)."))
def draft(
    group: Annotated[str | None, typer.Option(
        help=_l("Follow-the-sun group [default: the only one]"))] = None,
    region: Annotated[str | None, typer.Option(
        help=_l("Outgoing region [default: the one on duty]"))] = None,
    edit: Annotated[bool, typer.Option(help=_l("Open $EDITOR on the note"))] = True,
    at: AtOpt = None, policies_dir: PoliciesOpt = None, as_: AsOpt = None, db: DbOpt = None,
) -> None:
    ps = _load(policies_dir)
    now = _now(at)
    shift = _shift(ps, _group(ps, group), region, now)
    with opened(db) as store:
        try:
            rows = handoffs.handoffs(store, group=shift.group, region=shift.region, handoff_at=shift.end)
            row = rows[0] if rows else new_draft(store, ps, shift, now, actor(as_))
            if edit and row.status == "draft":
                text = click.edit(row.markdown, extension=".md", require_save=True)
                if text is not None and text != row.markdown:
                    row = handoffs.edit(store, row.id, actor(as_), text)
        except HandoffError as exc:
            fail(str(exc))
        if not edit:
            print(row.markdown)
        where = _("handoff {ref} {region} → {next_region} at {at}: {status}").format(
            ref=row.id[-8:], region=shift.region, next_region=shift.next_region, at=stamp(shift.end),
            status=row.status)
        print(where + (_("; send it with: sunrelay handoff send {ref}").format(ref=row.id[-8:])
                       if row.status == "draft" else ""))


@app.command(help=_l("Send a draft to the incoming region (default: the one draft there is)."))
def send(
    ref: RefArg = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help=_l("Send this Markdown instead"),
                                              exists=True, dir_okay=False)] = None,
    as_: AsOpt = None, db: DbOpt = None,
) -> None:
    with opened(db) as store:
        try:
            row = _pick(store, ref, "draft")
            sent = handoffs.send(store, row.id, actor(as_), file.read_text() if file else None)
        except HandoffError as exc:
            fail(str(exc))
        print(_("handoff {ref} sent to {region}").format(ref=sent.id[-8:], region=sent.to_region))


@app.command(help=_l("Acknowledge a handoff you received (default: the one waiting)."))
def ack(ref: RefArg = None, as_: AsOpt = None, db: DbOpt = None) -> None:
    with opened(db) as store:
        try:
            row = handoffs.ack(store, _pick(store, ref, "sent").id, actor(as_))
        except HandoffError as exc:
            fail(str(exc))
        print(_("handoff {ref} from {region} acknowledged").format(ref=row.id[-8:], region=row.from_region))


@app.command("list", help=_l("Handoffs, newest hand-off first."))
def list_(
    status: Annotated[str | None, typer.Option(help=_l("draft, sent or acknowledged"))] = None,
    db: DbOpt = None,
) -> None:
    with opened(db) as store:
        rows = handoffs.handoffs(store, status=status)
    if not rows:
        print(_("no handoffs"))
        return
    lines = [(_("REF"), _("STATUS"), _("GROUP"), _("FROM"), _("TO"), _("HAND-OFF"), _("SENT BY"),
              _("ACK BY"))] + [
        (r.id[-8:], r.status + (_(" (auto)") if r.automatic else ""), r.group_id, r.from_region,
         r.to_region, stamp(r.handoff_at), r.sent_by or "-", r.acknowledged_by or "-")
        for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def status_lines(row: Handoff) -> list[str]:
    """Where the handoff stands, as Markdown under the note."""
    out = ["- " + _("drafted {at} by {who}").format(at=stamp(row.drafted_at), who=row.drafted_by)]
    if row.sent_at is not None:
        sent = (_("sent {at} by {who} automatically at shift end (nobody sent it)") if row.automatic
                else _("sent {at} by {who}"))
        out.append("- " + sent.format(at=stamp(row.sent_at), who=row.sent_by))
    if row.escalated_at is not None:
        out.append("- " + _("not acknowledged in time: paged {people} at {at}").format(
            people=", ".join(row.escalated_to) or _("nobody"), at=stamp(row.escalated_at)))
    if row.acknowledged_at is not None:
        out.append("- " + _("acknowledged {at} by {who}").format(
            at=stamp(row.acknowledged_at), who=row.acknowledged_by))
    return out


@app.command(help=_l("The handoff note as Markdown, with where it stands."))
def show(ref: Annotated[str, typer.Argument(help=_l("Handoff id, or its last characters"))],
         db: DbOpt = None) -> None:
    with opened(db) as store:
        try:
            row = handoffs.get(store, ref)
        except HandoffError as exc:
            fail(str(exc))
    print(row.markdown.rstrip("\n") + "\n\n---\n\n" + "\n".join(status_lines(row)))
