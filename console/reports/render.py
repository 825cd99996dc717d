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
from console.i18n import _, _l, decimal, duration
from console.reports.figures import SlaOutcome, Stats, incident
from policies import PolicySet
from sync.ops import Op

FORMATS = ("table", "json", "csv", "md")
# CSV's header: a machine interface, never translated. The table and Markdown show _TITLES.
_COLUMNS = ("incidents", "mtta mean", "mtta median", "mtta p90", "mttr mean", "mttr median", "mttr p90",
            "escalated", "repeat esc", "tte median", "ack SLA", "resolve SLA")
_TITLES = (_l("incidents"), _l("mtta mean"), _l("mtta median"), _l("mtta p90"), _l("mttr mean"),
           _l("mttr median"), _l("mttr p90"), _l("escalated"), _l("repeat esc"), _l("tte median"),
           _l("ack SLA"), _l("resolve SLA"))
# The figures' names for SLA goals and groupings, as people read them.
_SLA = {"ack": _l("ack"), "resolve": _l("resolve")}
_BY = {"service": _l("service"), "team": _l("team"), "region": _l("region"), "severity": _l("severity"),
       "person": _l("person")}


def minutes(value: float | None) -> str:
    """A table cell: '1h05m' / '1j05m'."""
    if value is None:
        return "-"
    total = round(value)
    hours, mins = divmod(total, 60)
    return (_("{hours}h{minutes}m").format(hours=hours, minutes=f"{mins:02d}") if hours
            else _("{minutes}m").format(minutes=mins))


def spoken(value: timedelta) -> str:
    """A duration in a sentence: '1 hour, 5 minutes' / '1 jam, 5 menit'."""
    return duration(value)


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
    return [_row(name, s) for name, s in r["groups"].items()] + [_row(_("all"), r["all"])]


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
        (_("Figures"), [[str(_BY.get(r["by"], r["by"])) if r["by"] else "", *map(str, _TITLES)], *_rows(r)]),
        (_("Handoffs"), [[_("sent"), _("unacknowledged"), _("delay mean"), _("delay median"), _("delay p90")],
                         [str(h["sent"]), str(h["unacknowledged"]), minutes(delay.mean),
                          minutes(delay.median), minutes(delay.p90)]]),
        (_("SLA breaches"), [[_("incident"), _("sla"), _("goal"), _("due"), _("stopped")]] + [
            [b.key, str(_SLA.get(b.sla, b.sla)), minutes(b.goal.total_seconds() / 60), when(b.due_at),
             when(b.stopped_at)]
            for b in r["sla_breaches"]]),
        (_("Alert fatigue"), [[_("person"), _("zone"), _("pages"), _("per week"), _("outside hours"),
                               _("nights")]] + [
            [f["person"], f["time_zone"], str(f["pages"]), decimal(f["pages_per_week"]),
             str(f["outside_working_hours"]), str(f["nights_interrupted"])] for f in r["fatigue"]]),
        (_("Noisiest services"), [[_("service"), _("incidents"), _("alerts"), _("deduplicated")]] + [
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
    head = _("On-call report, {since} – {until}").format(since=when(r["since"]), until=when(r["until"]))
    out = [f"# {head}" if fmt == "md" else head]
    for title, rows in _sections(r):
        out += ["", f"## {title}" if fmt == "md" else title.upper(), ""]
        if len(rows) == 1:
            out.append(_("none"))
        else:
            out += _md_table(rows) if fmt == "md" else _aligned(rows)
    return "\n".join(out)


def _sla_line(o: SlaOutcome) -> str:
    sla, goal = _SLA.get(o.sla, o.sla), spoken(o.goal)
    if o.met:
        return "- " + _("{sla}: met (goal {goal}, stopped {stopped})").format(
            sla=sla, goal=goal, stopped=when(o.stopped_at))
    return "- " + _("{sla}: **breached** (goal {goal}, due {due}, stopped {stopped})").format(
        sla=sla, goal=goal, due=when(o.due_at), stopped=when(o.stopped_at))


def post_incident(ops: Sequence[Op], ps: PolicySet, now: datetime) -> str:
    """The post-incident report: facts, SLA outcomes, pages, the whole timeline, and headings."""
    facts = incident(ops, ps, now)
    if facts is None:
        raise ValueError("no trigger among these ops")
    ordered = sorted({op.op_id: op for op in ops}.values(), key=lambda o: o.sort_key)
    opener = ordered[0].actor
    after = _("{at} (after {duration})")
    ack = after.format(at=_("{at} by {who}").format(at=when(facts.first_ack), who=facts.first_ack_by),
                       duration=spoken(facts.first_ack - facts.created)) if facts.first_ack else _("never")
    res = (after.format(at=when(facts.resolved), duration=spoken(facts.resolved - facts.created))
           if facts.resolved else _("open"))
    none, tbw = "- " + _("none"), "_" + _("To be written.") + "_"
    lines = [
        "# " + _("Post-incident report: {key} — {title}").format(key=facts.key, title=facts.title), "",
        "| | |", "|---|---|",
        f"| {_('Service')} | {facts.service} |", f"| {_('Severity')} | {facts.severity} |",
        f"| {_('Priority')} | {facts.priority or '-'} |", f"| {_('Team')} | {facts.team or '-'} |",
        f"| {_('Opened')} | " + _("{at} by {who}").format(at=when(facts.created), who=opener) + " |",
        f"| {_('Acknowledged')} | {ack} |",
        f"| {_('Resolved')} | {res} |",
        f"| {_('Alerts')} | " + _("{count} ({deduplicated} deduplicated)").format(
            count=facts.alerts, deduplicated=facts.alerts - 1) + " |",
        f"| {_('Escalations past level 1')} | {len(facts.escalations)} |",
        "", "## " + _("SLA"), "",
    ]
    lines += [_sla_line(o) for o in facts.sla] or ["- " + _("no SLA goal reached or missed")]
    lines += ["", "## " + _("Pages"), ""]
    pages = [op for op in ordered if op.kind == Kind.NOTIFY]
    lines += [f"- {when(to_datetime(wall_ms(op.hlc)))} {describe(op)}" for op in pages] or [none]
    lines += ["", "## " + _("Status updates"), ""]
    lines += [f"- {when(to_datetime(wall_ms(op.hlc)))} {op.actor}: {op.payload.get('text')}"
              for op in ordered if op.kind == Kind.UPDATE] or [none]
    lines += ["", "## " + _("Timeline"), "", f"| {_('Time')} | {_('Who')} | {_('What')} |", "|---|---|---|"]
    lines += [f"| {when(to_datetime(wall_ms(op.hlc)))} | {op.actor} | {describe(op).replace('|', '/')} |"
              for op in ordered]
    lines += ["", "## " + _("Root cause"), "", tbw, "",
              "## " + _("Follow-up actions"), "", "- [ ] " + tbw, ""]
    return "\n".join(lines)
