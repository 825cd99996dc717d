"""`sunrelay policies check|simulate` and `sunrelay who`: the CLI edge of `policies`.

This is the one place that reads the clock for policies; everything below it
takes `now` as an argument.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

import policies
from console import i18n
from console.cli import DbOpt, opened
from console.i18n import _, _l, ngettext
from console.paths import default_policies_dir as default_policies_dir
from policies.followthesun import group_on_call
from policies.ics import schedule_ics
from policies.schedule import ShiftOverride, next_change, on_call
from policies.simulate import render
from policies.timeutil import parse_duration, parse_instant, zone

app = typer.Typer(help=_l("Validate and simulate the policy set."), no_args_is_help=True)

PoliciesOpt = Annotated[
    Path | None,
    typer.Option("--policies", envvar="SUNRELAY_POLICIES", help=_l("Policy directory."),
                 file_okay=False),
]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help=_l("Instant, e.g. '2026-12-06 03:00 Asia/Jakarta' (default: now)."),),
]


def _load(directory: Path | None) -> policies.PolicySet:
    path = directory or default_policies_dir()
    try:
        return policies.load(path)
    except policies.PolicyError as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        typer.echo(ngettext("{count} error in {path}", "{count} errors in {path}", len(exc.problems))
                   .format(count=len(exc.problems), path=path), err=True)
        raise typer.Exit(1) from exc


def _now(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC).replace(microsecond=0)
    try:
        return parse_instant(at)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--at") from exc


def _duration(text: str | None, name: str) -> timedelta | None:
    if text is None:
        return None
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=name) from exc


@app.command("check", help=_l("Schema, references, cycles and coverage; exit 1 when there are errors."))
def check_cmd(
    directory: Annotated[Path | None, typer.Argument(help=_l("Policy directory."))] = None,
    policies_dir: PoliciesOpt = None,
    days: Annotated[int, typer.Option(help=_l("Coverage horizon in days."))] = 90,
    at: AtOpt = None,
) -> None:
    ps = _load(directory or policies_dir)
    now = _now(at)
    problems = policies.check(ps, now, days=days)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for p in errors + warnings:
        typer.echo(str(p))
    typer.echo(
        _("{dir}: {errors} error(s), {warnings} warning(s); coverage checked {days} days from {start} UTC; "
          "digest {digest}").format(dir=ps.source_dir, errors=len(errors), warnings=len(warnings),
                                    days=days, start=f"{now:%Y-%m-%d %H:%M}", digest=ps.digest[:12])
    )
    if errors:
        raise typer.Exit(1)


@app.command("simulate", help=_l("Minute-by-minute timeline of who is paged when, through which channel."))
def simulate_cmd(
    service: Annotated[str, typer.Option(help=_l("Service name of the alert."))],
    severity: Annotated[str, typer.Option(help="sev1..sev4.")] = "sev2",
    labels: Annotated[
        list[str] | None, typer.Option("--labels", help=_l("k=v, repeatable or comma-separated."))
    ] = None,
    summary: Annotated[str, typer.Option(help=_l("Alert summary."))] = "simulated alert",
    source: Annotated[str, typer.Option(help=_l("Alert source."))] = "simulate",
    at: AtOpt = None,
    ack_after: Annotated[
        str | None, typer.Option(help=_l("Acknowledge this long after each (re)trigger, e.g. 20m."))
    ] = None,
    resolve_after: Annotated[str | None, typer.Option(help=_l("Resolve this long after."))] = None,
    horizon: Annotated[str, typer.Option(help=_l("Stop after this long."))] = "12h",
    tz: Annotated[str | None, typer.Option(help=_l("Zone to print times in."))] = None,
    policies_dir: PoliciesOpt = None,
) -> None:
    if severity not in ("sev1", "sev2", "sev3", "sev4"):
        raise typer.BadParameter(_("use sev1..sev4"), param_hint="--severity")
    ps = _load(policies_dir)
    label_map: dict[str, str] = {}
    for chunk in labels or []:
        for item in chunk.split(","):
            if item.strip():
                k, sep, v = item.partition("=")
                if not sep:
                    raise typer.BadParameter(_("{item!r} is not k=v").format(item=item),
                                             param_hint="--labels")
                label_map[k.strip()] = v.strip()
    alert = policies.Alert(service=service, severity=severity, summary=summary,  # type: ignore[arg-type]
                           labels=label_map, source=source)
    start = _now(at)
    sim = policies.simulate(
        ps, alert, start,
        ack_after=_duration(ack_after, "--ack-after"),
        resolve_after=_duration(resolve_after, "--resolve-after"),
        horizon=_duration(horizon, "--horizon") or timedelta(hours=12),
    )
    zone_name = tz or _zone_of(at) or "UTC"
    for line in render(sim, zone_name):
        typer.echo(line)


def _zone_of(at: str | None) -> str | None:
    if not at:
        return None
    last = at.strip().split()[-1]
    try:
        zone(last)
    except ValueError:
        return None
    return last


def _person(ps: policies.PolicySet, pid: str, at: datetime) -> str:
    p = ps.people.get(pid)
    if p is None:
        return pid
    return f"{p.name} ({i18n.moment(at, zone(p.time_zone), None, 'EHm')} {p.time_zone})"


def _people(ps: policies.PolicySet, ids: tuple[str, ...], at: datetime) -> str:
    return ", ".join(_person(ps, x, at) for x in ids) or _("NOBODY")


def recorded_overrides(url: str | None) -> Sequence[ShiftOverride]:
    """The overrides recorded in the store (`sunrelay oncall override`, the console's `t`),
    so `who` names whom the engine would page. No store yet: none, and none is made."""
    from console.overrides import OverrideLog
    from console.store.db import resolve_url

    resolved = resolve_url(url)
    if resolved.startswith("sqlite:///") and not Path(resolved.removeprefix("sqlite:///")).exists():
        return ()
    with opened(url) as store:
        return OverrideLog(store.engine)()


# `who` is mounted on the root command by console.cli, hence its help there.
WHO_HELP = _l("On call now and next, per schedule and follow-the-sun group, in local time.")


def who(
    at: AtOpt = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help=_l("Only this schedule or group."))
    ] = None,
    ics: Annotated[
        str | None, typer.Option("--ics", help=_l("Write an iCalendar file of this schedule's shifts."))
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help=_l("Where --ics writes."))] = None,
    days: Annotated[int, typer.Option(help=_l("Days of shifts for --ics."))] = 30,
    policies_dir: PoliciesOpt = None,
    db: DbOpt = None,
) -> None:
    ps = _load(policies_dir)
    now = _now(at)
    overrides = recorded_overrides(db)
    if ics is not None:
        if ics not in ps.schedules:
            raise typer.BadParameter(_("unknown schedule {name!r}").format(name=ics), param_hint="--ics")
        data = schedule_ics(ps, ics, now, now + timedelta(days=days), overrides)
        target = out or Path(f"{ics}.ics")
        target.write_bytes(data)
        typer.echo(ngettext("wrote {file} ({days} day of {schedule})",
                            "wrote {file} ({days} days of {schedule})", days)
                   .format(file=target, days=days, schedule=ics))
        return
    found = False
    for sid, sched in sorted(ps.schedules.items()):
        if schedule is not None and sid != schedule:
            continue
        found = True
        typer.echo(_("schedule {id} ({zone})").format(id=sid, zone=sched.time_zone))
        typer.echo("  " + _("now:  {people}").format(people=_people(ps, on_call(sched, now, overrides), now)))
        nxt = next_change(sched, now, overrides)
        if nxt is not None:
            typer.echo("  " + _("next: {people} from {start} ({relative})").format(
                people=_people(ps, nxt.people, nxt.start),
                start=i18n.moment(nxt.start, zone(sched.time_zone)),
                relative=i18n.relative(nxt.start - now)))
    for gid, group in sorted(ps.follow_the_sun.items()):
        if schedule is not None and gid != schedule:
            continue
        found = True
        g = group_on_call(group, ps.schedules, now, overrides)
        typer.echo(_("follow-the-sun {id}: region {region}").format(id=gid, region=g.region))
        typer.echo("  " + _("now:  {people}").format(people=_people(ps, g.people, now)))
        if g.handoff_at is not None:
            after = group_on_call(group, ps.schedules, g.handoff_at, overrides)
            typer.echo("  " + _("next: {region}: {people} at {start} UTC ({relative})").format(
                region=after.region, people=_people(ps, after.people, g.handoff_at),
                start=i18n.moment(g.handoff_at, UTC), relative=i18n.relative(g.handoff_at - now)))
    if not found:
        raise typer.BadParameter(_("unknown schedule or group {name!r}").format(name=schedule),
                                 param_hint="--schedule")
