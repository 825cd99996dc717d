"""Reports as text: a table, JSON, CSV or Markdown; and the post-incident report."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from datetime import datetime, timedelta
from typing import Any

from console.domain.fold import wall_ms
from console.domain.timeline import describe
from console.domain.vocabulary import Kind
from console.engine.adapter import to_datetime
from console.reports.figures import SlaOutcome, Stats, incident
from policies import PolicySet
from sync.ops import Op

FORMATS = ("table", "json", "csv", "md")
_COLUMNS = ("incidents", "mtta mean", "mtta median", "mtta p90", "mttr mean", "mttr median", "mttr p90",
            "escalated", "repeat esc", "tte median", "ack SLA", "resolve SLA")


def minutes(value: float | None) -> str:
    if value is None:
        return "-"
    total = round(value)
    hours, mins = divmod(total, 60)
    return f"{hours}h{mins:02d}m" if hours else f"{mins}m"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def when(at: datetime | None) -> str:
    return "-" if at is None else at.strftime("%Y-%m-%d %H:%M:%SZ")


def _row(name: str, s: dict[str, Any]) -> list[str]:
    mtta, mttr, tte = s["mtta"], s["mttr"], s["time_to_escalate"]
    return [name, str(s["incidents"]), minutes(mtta.mean), minutes(mtta.median), minutes(mtta.p90),
            minutes(mttr.mean), minutes(mttr.median), minutes(mttr.p90), percent(s["escalation_rate"]),
            percent(s["repeat_escalation_rate"]), minutes(tte.median), percent(s["sla_ack"]),
            percent(s["sla_resolve"])]


def _rows(r: dict[str, Any]) -> list[list[str]]:
    return [_row(name, s) for name, s in r["groups"].items()] + [_row("all", r["all"])]


def _plain(value: Any) -> Any:
    """JSON-ready: times as ISO 8601, durations in minutes, dataclasses as objects."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, timedelta):
        return value.total_seconds() / 60
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _md_table(rows: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])] + [
        "| " + " | ".join(r) + " |" for r in rows[1:]]


def _sections(r: dict[str, Any]) -> list[tuple[str, list[list[str]]]]:
    h = r["handoffs"]
    delay: Stats = h["delay"]
    return [
        ("Figures", [[r["by"] or "", *_COLUMNS], *_rows(r)]),
        ("Handoffs", [["sent", "unacknowledged", "delay mean", "delay median", "delay p90"],
                      [str(h["sent"]), str(h["unacknowledged"]), minutes(delay.mean),
                       minutes(delay.median), minutes(delay.p90)]]),
        ("SLA breaches", [["incident", "sla", "goal", "due", "stopped"]] + [
            [b.key, b.sla, minutes(b.goal.total_seconds() / 60), when(b.due_at), when(b.stopped_at)]
            for b in r["sla_breaches"]]),
        ("Alert fatigue", [["person", "zone", "pages", "per week", "outside hours", "nights"]] + [
            [f["person"], f["time_zone"], str(f["pages"]), f"{f['pages_per_week']:.1f}",
             str(f["outside_working_hours"]), str(f["nights_interrupted"])] for f in r["fatigue"]]),
        ("Noisiest services", [["service", "incidents", "alerts", "deduplicated"]] + [
            [s["service"], str(s["incidents"]), str(s["alerts"]), str(s["deduplicated"])]
            for s in r["noisiest_services"]]),
    ]


def render(r: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"version": 1, **_plain(r)}, indent=2, ensure_ascii=False)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([r["by"] or "group", *_COLUMNS])
        writer.writerows(_rows(r))
        return buffer.getvalue().rstrip("\n")
    head = f"{when(r['since'])} – {when(r['until'])}"
    out = [f"# On-call report, {head}" if fmt == "md" else f"On-call report, {head}"]
    for title, rows in _sections(r):
        out += ["", f"## {title}" if fmt == "md" else title.upper(), ""]
        if len(rows) == 1:
            out.append("none")
        else:
            out += _md_table(rows) if fmt == "md" else _aligned(rows)
    return "\n".join(out)


def _sla_line(o: SlaOutcome) -> str:
    goal = minutes(o.goal.total_seconds() / 60)
    if o.met:
        return f"- {o.sla}: met (goal {goal}, stopped {when(o.stopped_at)})"
    return f"- {o.sla}: **breached** (goal {goal}, due {when(o.due_at)}, stopped {when(o.stopped_at)})"


def post_incident(ops: Sequence[Op], ps: PolicySet, now: datetime) -> str:
    """The post-incident report: facts, SLA outcomes, pages, the whole timeline, and headings."""
    facts = incident(ops, ps, now)
    if facts is None:
        raise ValueError("no trigger among these ops")
    ordered = sorted({op.op_id: op for op in ops}.values(), key=lambda o: o.sort_key)
    opener = ordered[0].actor
    ack = f"{when(facts.first_ack)} by {facts.first_ack_by} (after {minutes(facts.minutes(facts.first_ack))})"
    res = (f"{when(facts.resolved)} (after {minutes(facts.minutes(facts.resolved))})"
           if facts.resolved else "open")
    lines = [
        f"# Post-incident report: {facts.key} — {facts.title}", "",
        "| | |", "|---|---|",
        f"| Service | {facts.service} |", f"| Severity | {facts.severity} |",
        f"| Priority | {facts.priority or '-'} |", f"| Team | {facts.team or '-'} |",
        f"| Opened | {when(facts.created)} by {opener} |",
        f"| Acknowledged | {ack if facts.first_ack else 'never'} |",
        f"| Resolved | {res} |",
        f"| Alerts | {facts.alerts} ({facts.alerts - 1} deduplicated) |",
        f"| Escalations past level 1 | {len(facts.escalations)} |",
        "", "## SLA", "",
    ]
    lines += [_sla_line(o) for o in facts.sla] or ["- no SLA goal reached or missed"]
    lines += ["", "## Pages", ""]
    pages = [op for op in ordered if op.kind == Kind.NOTIFY]
    lines += [f"- {when(to_datetime(wall_ms(op.hlc)))} {describe(op)}" for op in pages] or ["- none"]
    lines += ["", "## Status updates", ""]
    lines += [f"- {when(to_datetime(wall_ms(op.hlc)))} {op.actor}: {op.payload.get('text')}"
              for op in ordered if op.kind == Kind.UPDATE] or ["- none"]
    lines += ["", "## Timeline", "", "| Time | Who | What |", "|---|---|---|"]
    lines += [f"| {when(to_datetime(wall_ms(op.hlc)))} | {op.actor} | {describe(op).replace('|', '/')} |"
              for op in ordered]
    lines += ["", "## Root cause", "", "_To be written._", "",
              "## Follow-up actions", "", "- [ ] _To be written._", ""]
    return "\n".join(lines)
