"""`sunrelay policies check|simulate` and `sunrelay who`: the CLI edge of `policies`.

This is the one place that reads the clock for policies; everything below it
takes `now` as an argument.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

import policies
from policies.followthesun import group_on_call
from policies.ics import schedule_ics
from policies.schedule import next_change, on_call
from policies.simulate import render
from policies.timeutil import format_duration, parse_duration, parse_instant, zone

app = typer.Typer(help="Validate and simulate the policy set.", no_args_is_help=True)

PoliciesOpt = Annotated[
    Path | None,
    typer.Option("--policies", envvar="SUNRELAY_POLICIES", help="Policy directory.",
                 file_okay=False),
]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="Instant, e.g. '2026-12-06 03:00 Asia/Jakarta' (default: now)."),
]


def default_policies_dir() -> Path:
    """`policies/` next to the store, else the packaged examples (a fresh machine works)."""
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    store_side = Path(data) / "sunrelay" / "policies"
    if store_side.is_dir():
        return store_side
    return Path(policies.__file__).parent / "examples"


def _load(directory: Path | None) -> policies.PolicySet:
    path = directory or default_policies_dir()
    try:
        return policies.load(path)
    except policies.PolicyError as exc:
        for p in exc.problems:
            typer.echo(str(p), err=True)
        typer.echo(f"{len(exc.problems)} error(s) in {path}", err=True)
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


@app.command("check")
def check_cmd(
    directory: Annotated[Path | None, typer.Argument(help="Policy directory.")] = None,
    policies_dir: PoliciesOpt = None,
    days: Annotated[int, typer.Option(help="Coverage horizon in days.")] = 90,
    at: AtOpt = None,
) -> None:
    """Schema, references, cycles and coverage; exit 1 when there are errors."""
    ps = _load(directory or policies_dir)
    now = _now(at)
    problems = policies.check(ps, now, days=days)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    for p in errors + warnings:
        typer.echo(str(p))
    typer.echo(
        f"{ps.source_dir}: {len(errors)} error(s), {len(warnings)} warning(s); "
        f"coverage checked {days} days from {now:%Y-%m-%d %H:%M} UTC; digest {ps.digest[:12]}"
    )
    if errors:
        raise typer.Exit(1)


@app.command("simulate")
def simulate_cmd(
    service: Annotated[str, typer.Option(help="Service name of the alert.")],
    severity: Annotated[str, typer.Option(help="sev1..sev4.")] = "sev2",
    labels: Annotated[
        list[str] | None, typer.Option("--labels", help="k=v, repeatable or comma-separated.")
    ] = None,
    summary: Annotated[str, typer.Option(help="Alert summary.")] = "simulated alert",
    source: Annotated[str, typer.Option(help="Alert source.")] = "simulate",
    at: AtOpt = None,
    ack_after: Annotated[
        str | None, typer.Option(help="Acknowledge this long after each (re)trigger, e.g. 20m.")
    ] = None,
    resolve_after: Annotated[str | None, typer.Option(help="Resolve this long after.")] = None,
    horizon: Annotated[str, typer.Option(help="Stop after this long.")] = "12h",
    tz: Annotated[str | None, typer.Option(help="Zone to print times in.")] = None,
    policies_dir: PoliciesOpt = None,
) -> None:
    """Minute-by-minute timeline of who is paged when, through which channel."""
    if severity not in ("sev1", "sev2", "sev3", "sev4"):
        raise typer.BadParameter("use sev1..sev4", param_hint="--severity")
    ps = _load(policies_dir)
    label_map: dict[str, str] = {}
    for chunk in labels or []:
        for item in chunk.split(","):
            if item.strip():
                k, sep, v = item.partition("=")
                if not sep:
                    raise typer.BadParameter(f"{item!r} is not k=v", param_hint="--labels")
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
    local = at.astimezone(zone(p.time_zone))
    return f"{p.name} ({local:%a %H:%M} {p.time_zone})"


def _people(ps: policies.PolicySet, ids: tuple[str, ...], at: datetime) -> str:
    return ", ".join(_person(ps, x, at) for x in ids) or "NOBODY"


def who(
    at: AtOpt = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help="Only this schedule or group.")
    ] = None,
    ics: Annotated[
        str | None, typer.Option("--ics", help="Write an iCalendar file of this schedule's shifts.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Where --ics writes.")] = None,
    days: Annotated[int, typer.Option(help="Days of shifts for --ics.")] = 30,
    policies_dir: PoliciesOpt = None,
) -> None:
    """On call now and next, per schedule and follow-the-sun group, in local time."""
    ps = _load(policies_dir)
    now = _now(at)
    if ics is not None:
        if ics not in ps.schedules:
            raise typer.BadParameter(f"unknown schedule {ics!r}", param_hint="--ics")
        data = schedule_ics(ps, ics, now, now + timedelta(days=days))
        target = out or Path(f"{ics}.ics")
        target.write_bytes(data)
        typer.echo(f"wrote {target} ({days} days of {ics})")
        return
    found = False
    for sid, sched in sorted(ps.schedules.items()):
        if schedule is not None and sid != schedule:
            continue
        found = True
        typer.echo(f"schedule {sid} ({sched.time_zone})")
        typer.echo(f"  now:  {_people(ps, on_call(sched, now), now)}")
        nxt = next_change(sched, now)
        if nxt is not None:
            when = nxt.start.astimezone(zone(sched.time_zone))
            typer.echo(f"  next: {_people(ps, nxt.people, nxt.start)} from {when:%a %Y-%m-%d %H:%M}"
                       f" (in {format_duration(nxt.start - now)})")
    for gid, group in sorted(ps.follow_the_sun.items()):
        if schedule is not None and gid != schedule:
            continue
        found = True
        g = group_on_call(group, ps.schedules, now)
        typer.echo(f"follow-the-sun {gid}: region {g.region}")
        typer.echo(f"  now:  {_people(ps, g.people, now)}")
        if g.handoff_at is not None:
            after = group_on_call(group, ps.schedules, g.handoff_at)
            typer.echo(f"  next: {after.region}: {_people(ps, after.people, g.handoff_at)} at "
                       f"{g.handoff_at:%Y-%m-%d %H:%M} UTC (in {format_duration(g.handoff_at - now)})")
    if not found:
        raise typer.BadParameter(f"unknown schedule or group {schedule!r}", param_hint="--schedule")
