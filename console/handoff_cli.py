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
from console.policies_cli import AtOpt, PoliciesOpt, _load, _now
from console.store.store import Store
from console.store.tables import Handoff
from policies import FollowTheSun, PolicySet, group_on_call

app = typer.Typer(help="Follow-the-sun handoff notes: draft, send, acknowledge, read.",
                  no_args_is_help=True)
RefArg = Annotated[str | None, typer.Argument(help="Handoff id, or its last characters (see list)")]


def _group(ps: PolicySet, name: str | None) -> FollowTheSun:
    if name is not None:
        if name not in ps.follow_the_sun:
            fail(f"no follow-the-sun group {name!r} in the policies")
        return ps.follow_the_sun[name]
    if len(ps.follow_the_sun) != 1:
        fail("give --group: the policies have " + (
            ", ".join(sorted(ps.follow_the_sun)) or "no follow-the-sun group"))
    return next(iter(ps.follow_the_sun.values()))


def _shift(ps: PolicySet, group: FollowTheSun, region: str | None, now: datetime) -> Shift:
    """The shift of `region` (default: the region on duty) that ends next."""
    wanted = region or group_on_call(group, ps.schedules, now).region
    found = next((s for s in shifts_ending(group, now, now + timedelta(days=9))
                  if s.region == wanted), None) if wanted else None
    if found is None:
        fail(f"group {group.id} has no hand-off from region {wanted!r}")
    return found


def _pick(store: Store, ref: str | None, status: str) -> Handoff:
    if ref is not None:
        return handoffs.get(store, ref)
    rows = handoffs.handoffs(store, status=status)
    if len(rows) != 1:
        listed = ", ".join(r.id[-8:] for r in rows) or "none"
        fail(f"give the handoff: {len(rows)} {status} ({listed})")
    return rows[0]


@app.command()
def draft(
    group: Annotated[str | None, typer.Option(help="Follow-the-sun group [default: the only one]")] = None,
    region: Annotated[str | None, typer.Option(help="Outgoing region [default: the one on duty]")] = None,
    edit: Annotated[bool, typer.Option(help="Open $EDITOR on the note")] = True,
    at: AtOpt = None, policies_dir: PoliciesOpt = None, as_: AsOpt = None, db: DbOpt = None,
) -> None:
    """The draft for the end of this shift (made now if the console has not made it yet)."""
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
        print(f"handoff {row.id[-8:]} {shift.region} → {shift.next_region} at {stamp(shift.end)}: "
              f"{row.status}" + (f"; send it with: sunrelay handoff send {row.id[-8:]}"
                                 if row.status == "draft" else ""))


@app.command()
def send(
    ref: RefArg = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Send this Markdown instead",
                                              exists=True, dir_okay=False)] = None,
    as_: AsOpt = None, db: DbOpt = None,
) -> None:
    """Send a draft to the incoming region (default: the one draft there is)."""
    with opened(db) as store:
        try:
            row = _pick(store, ref, "draft")
            sent = handoffs.send(store, row.id, actor(as_), file.read_text() if file else None)
        except HandoffError as exc:
            fail(str(exc))
        print(f"handoff {sent.id[-8:]} sent to {sent.to_region}")


@app.command()
def ack(ref: RefArg = None, as_: AsOpt = None, db: DbOpt = None) -> None:
    """Acknowledge a handoff you received (default: the one waiting)."""
    with opened(db) as store:
        try:
            row = handoffs.ack(store, _pick(store, ref, "sent").id, actor(as_))
        except HandoffError as exc:
            fail(str(exc))
        print(f"handoff {row.id[-8:]} from {row.from_region} acknowledged")


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="draft, sent or acknowledged")] = None,
    db: DbOpt = None,
) -> None:
    """Handoffs, newest hand-off first."""
    with opened(db) as store:
        rows = handoffs.handoffs(store, status=status)
    if not rows:
        print("no handoffs")
        return
    lines = [("REF", "STATUS", "GROUP", "FROM", "TO", "HAND-OFF", "SENT BY", "ACK BY")] + [
        (r.id[-8:], r.status + (" (auto)" if r.automatic else ""), r.group_id, r.from_region,
         r.to_region, stamp(r.handoff_at), r.sent_by or "-", r.acknowledged_by or "-")
        for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())


def status_lines(row: Handoff) -> list[str]:
    """Where the handoff stands, as Markdown under the note."""
    out = [f"- drafted {stamp(row.drafted_at)} by {row.drafted_by}"]
    if row.sent_at is not None:
        how = " automatically at shift end (nobody sent it)" if row.automatic else ""
        out.append(f"- sent {stamp(row.sent_at)} by {row.sent_by}{how}")
    if row.escalated_at is not None:
        out.append(f"- not acknowledged in time: paged {', '.join(row.escalated_to) or 'nobody'} "
                   f"at {stamp(row.escalated_at)}")
    if row.acknowledged_at is not None:
        out.append(f"- acknowledged {stamp(row.acknowledged_at)} by {row.acknowledged_by}")
    return out


@app.command()
def show(ref: Annotated[str, typer.Argument(help="Handoff id, or its last characters")],
         db: DbOpt = None) -> None:
    """The handoff note as Markdown, with where it stands."""
    with opened(db) as store:
        try:
            row = handoffs.get(store, ref)
        except HandoffError as exc:
            fail(str(exc))
    print(row.markdown.rstrip("\n") + "\n\n---\n\n" + "\n".join(status_lines(row)))
