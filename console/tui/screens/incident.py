"""One incident: every field, labels, SLA clocks with time left, what the policy
says comes next, the timeline of every op (and which console it came from),
and the same action keys as the queue.

Opened from the queue, the header (title and the fields the queue row holds)
shows at once; the rest comes from the store in a worker. The app keeps one
incident screen and shows each incident in it (`show_incident`), since
composing a screen afresh costs more than a key's budget."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from console import i18n
from console.i18n import _, _l

from ..model import QueueRow, countdown
from ..services import incident
from ..services.actions import Target
from ..services.status import engine_text
from ..widgets.field_grid import FieldGrid, Row
from .actions import ACTION_BINDINGS, IncidentActions

# The SLA goals (`incident.Clock.kind`) as the clocks line names them.
SLA_GOALS = {"ack": _l("ack"), "resolve": _l("resolve")}
KIND_STYLE = {"trigger": "bold", "ack": "green", "resolve": "green", "escalate": "bold red",
              "note": "", "reopen": "bold yellow", "unack": "yellow"}


def title_text(key: str, severity: str, priority: str | None, high_risk: bool, title: str) -> Text:
    text = Text(no_wrap=False)
    text.append(f"{key} ", style="bold reverse")
    text.append(f" {severity.upper()} {priority or ''} ", style="bold")
    if high_risk:
        text.append(" " + _("HIGH-RISK") + " ", style="bold reverse")
    text.append(" " + title)
    return text


def row_fields(row: QueueRow) -> list[tuple[str, str]]:
    """What the queue's row knows, in the order the full detail lists it."""
    return [(_("Status"), incident.status_text(row.status)), (_("Severity"), row.severity),
            (_("Priority"), row.priority or "-"), (_("Stage"), row.stage),
            (_("Service"), row.service), (_("Team"), row.team or "-"),
            (_("Policy"), row.policy or "-"), (_("Assignee"), row.assignee or "-"),
            (_("Escalation"), _("level {level}").format(level=row.level)),
            (_("Alerts"), str(row.alert_count)), (_("Created"), incident.when(row.created_at))]


def grid_rows(fields: list[tuple[str, str]], labels: dict[str, str],
              conflicts: dict[str, list[str | None]]) -> list[Row]:
    """The fields two to a line, the labels last, then a line per conflicting field."""
    cells = [*fields, (_("Labels"), ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) or "-")]
    rows: list[Row] = []
    for i in range(0, len(cells), 2):
        left = cells[i]
        right = cells[i + 1] if i + 1 < len(cells) else ("", "")
        rows.append((left[0], left[1], right[0], right[1]))
    for name, values in conflicts.items():
        rows.append((_("Conflict"), _("{field} set concurrently: {values}").format(
            field=name, values=" / ".join(str(v) for v in values)), "", ""))
    return rows


class IncidentScreen(IncidentActions):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", _l("Back"), id="incident.back"),
        Binding("j,down", "scroll(1)", _l("Down"), show=False, id="incident.down"),
        Binding("k,up", "scroll(-1)", _l("Up"), show=False, id="incident.up"),
        *ACTION_BINDINGS,
    ]
    DEFAULT_CSS = """
    IncidentScreen #detail { height: 1fr; padding: 0 1; }
    IncidentScreen #title { text-style: bold; margin-bottom: 1; }
    IncidentScreen #clocks { margin: 1 0; }
    IncidentScreen .section { text-style: bold; color: $accent; }
    """

    def __init__(self, key: str, row: QueueRow | None = None) -> None:
        super().__init__()
        self.key = key
        self.row = row
        self.detail: incident.Detail | None = None

    def compose_body(self) -> ComposeResult:
        title, fields = self._header()
        with VerticalScroll(id="detail"):
            yield Static(title, id="title")
            yield FieldGrid(fields, id="fields")
            yield Static(id="clocks")
            yield Static(_("Timeline"), classes="section")
            yield Static(_("loading…"), id="timeline")

    def _header(self) -> tuple[Text, list[Row]]:
        """What shows before the detail loads: the queue row's fields, if it was given."""
        row = self.row
        if row is None:
            return Text(_("{key}: loading…").format(key=self.key)), []
        return (title_text(row.key, row.severity, row.priority,
                           incident.is_high_risk(row.priority, row.severity, row.labels), row.title),
                grid_rows(row_fields(row), row.labels, {}))

    def show_incident(self, key: str, row: QueueRow | None) -> None:
        """Show another incident in this screen (mounted already): its header now, the
        rest when the worker has read it."""
        self.key, self.row, self.detail = key, row, None
        title, fields = self._header()
        self.query_one("#title", Static).update(title)
        self.query_one(FieldGrid).show(fields)
        self.query_one("#clocks", Static).update("")
        self.query_one("#timeline", Static).update(_("loading…"))
        self.query_one("#detail", VerticalScroll).scroll_home(animate=False)
        self.reload()

    def reload(self) -> None:
        """After the next repaint: the header shows first, and the worker reading the
        detail does not compete with that repaint for the interpreter."""
        self.call_after_refresh(self._load)

    def _load(self) -> None:
        store, key, ps, now = self.ctx.store, self.key, self.ctx.policies, self.ctx.clock.now()
        self.background("incident-load", lambda: incident.load(store, key, ps, now), self.show)

    def show(self, detail: incident.Detail) -> None:
        self.detail = detail
        self.key = detail.key
        self.query_one("#title", Static).update(title_text(
            detail.key, detail.severity, detail.priority, detail.high_risk, detail.title))
        self.query_one(FieldGrid).show(grid_rows(detail.fields, detail.labels, detail.conflicts))
        lines = Text()
        for entry in detail.timeline:
            lines.append(f"{entry.at:%m-%d %H:%M:%S}Z ", style="dim")
            lines.append(f"{entry.actor:<10} ")
            lines.append(entry.text, style=KIND_STYLE.get(entry.kind, ""))
            if entry.origin:
                lines.append("  " + _("(from {site})").format(site=entry.origin), style="italic")
            lines.append("\n")
        self.query_one("#timeline", Static).update(lines)
        self.tick()

    def _clock_text(self, now: datetime) -> Text:
        text = Text()
        detail = self.detail
        if detail is None:
            return text
        text.append(_("SLA") + "  ", style="bold")
        if not detail.clocks:
            text.append(_("no SLA target for this priority") if self.ctx.policies else
                        _("no policy set loaded"), style="dim")
        for clock in detail.clocks:
            if clock.due_at is None:
                continue
            left = (clock.due_at - now).total_seconds()
            style = "dim" if clock.stopped else ("bold reverse" if left < 0 else
                                                  "bold" if clock.warn_at and clock.warn_at <= now
                                                  else "")
            state = _("met") if clock.stopped else countdown(left)
            text.append(f"{SLA_GOALS.get(clock.kind, clock.kind)} {state}", style=style)
            text.append(" " + _("(due {time})").format(
                time=i18n.moment(clock.due_at, UTC, None) + "Z") + "   ", style="dim")
        text.append("\n" + _("Next") + " ", style="bold")
        if not detail.coming:
            text.append(_("nothing due") if detail.status != "resolved" else _("resolved"),
                        style="dim")
        for item in detail.coming[:3]:
            left = (item.at - now).total_seconds()
            text.append(f"\n  {countdown(left):>7} ", style="bold reverse" if left < 0 else "bold")
            text.append(item.text)
            if left < 0 and self.ctx.services.engine != "running":
                text.append("  " + _("(overdue: engine {state})").format(
                    state=engine_text(self.ctx.services.engine)), style="dim")
        return text

    def tick(self) -> None:
        super().tick()
        self.query_one("#clocks", Static).update(self._clock_text(self.ctx.clock.now()))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_scroll(self, delta: int) -> None:
        self.query_one("#detail", VerticalScroll).scroll_relative(y=delta, animate=False)

    def targets(self) -> list[Target]:
        d = self.detail
        return [] if d is None else [Target(d.key, d.severity, d.priority, d.high_risk)]
