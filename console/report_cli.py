"""`sunrelay report`: on-call figures over a window, and the post-incident report."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated

import typer

from console.cli import DbOpt, KeyArg, fail, opened
from console.i18n import _, _l
from console.policies_cli import AtOpt, PoliciesOpt, _duration, _load, _now
from console.reports.figures import GROUPINGS, report
from console.reports.render import FORMATS, post_incident, render
from console.store import db as storedb
from sync import oplog
from sync.ops import Op

app = typer.Typer(
    help=_l("On-call figures from the op log; `report incident KEY` for a post-incident report."),
    invoke_without_command=True)


@app.callback(help=_l(
    "Volume, MTTA/MTTR, escalations, handoff delay, SLA attainment, alert fatigue, noisy services."))
def figures(
    ctx: typer.Context,
    since: Annotated[str, typer.Option(help=_l("How far back, e.g. 30d, 2w, 12h"))] = "30d",
    by: Annotated[str | None, typer.Option(help=_l("Group by service, team, region, severity or person"))]
    = None,
    fmt: Annotated[str, typer.Option("--format", help=f"{', '.join(FORMATS)}")] = "table",
    at: AtOpt = None, policies_dir: PoliciesOpt = None, db: DbOpt = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    if by is not None and by not in GROUPINGS:
        fail(_("{option} must be one of {choices}, not {value!r}").format(
            option="--by", choices=", ".join(GROUPINGS), value=by))
    if fmt not in FORMATS:
        fail(_("{option} must be one of {choices}, not {value!r}").format(
            option="--format", choices=", ".join(FORMATS), value=fmt))
    window = _duration(since, "--since")
    assert window is not None
    ps = _load(policies_dir)
    now = _now(at)
    histories: dict[str, list[Op]] = defaultdict(list)
    with opened(db) as store, storedb.reading(store.engine) as conn:
        for op in oplog.iter_ops_by_entity(conn):
            histories[op.entity].append(op)
    print(render(report(histories, ps, now - window, now, by), fmt))


@app.command("incident", help=_l(
    "The post-incident report as Markdown: timeline, pages, SLA outcomes, root cause headings."))
def incident_cmd(
    key: KeyArg,
    fmt: Annotated[str, typer.Option("--format", help="md")] = "md",
    policies_dir: PoliciesOpt = None, db: DbOpt = None,
) -> None:
    if fmt != "md":
        fail(_("the post-incident report is Markdown: --format md"))
    ps = _load(policies_dir)
    with opened(db) as store:
        ops = store.timeline(store.find(key).id)
    print(post_incident(ops, ps, datetime.now(UTC)), end="")
