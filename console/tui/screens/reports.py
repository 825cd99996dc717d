"""Reports: the on-call figures of `sunrelay report` over the last week (`w`
cycles 7 days, 30 days, a day), with incidents opened per day as a sparkline
and bars for severities, the noisiest services and pages per person."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer, VerticalScroll
from textual.widgets import Sparkline, Static

from console.i18n import _, _l
from console.reports.render import minutes, percent

from ..services import reports
from ..widgets.bars import Bars
from .base import ConsoleScreen


class ReportsScreen(ConsoleScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "window", _l("Window"), id="reports.window"),
    ]
    DEFAULT_CSS = """
    ReportsScreen #reports { height: 1fr; padding: 0 1; }
    ReportsScreen Sparkline { height: 3; margin: 0 1; }
    ReportsScreen Horizontal { height: auto; }
    ReportsScreen Bars { width: 1fr; }
    ReportsScreen #table-box { height: auto; overflow-x: auto; overflow-y: hidden; }
    ReportsScreen #table { width: auto; }
    ReportsScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.window = reports.WINDOWS[0]

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="reports"):
            yield Static(_("Loading…"), id="figures")
            yield Sparkline([], id="opened")
            with Horizontal():
                yield Bars(id="by-severity")
                yield Bars(id="by-service")
                yield Bars(id="fatigue")
            yield Static(_("As `sunrelay report --by severity` prints it"), classes="section")
            with ScrollableContainer(id="table-box"):
                yield Static(id="table")

    def reload(self) -> None:
        ps, engine, now, window = self.ctx.policies, self.ctx.store.engine, self.ctx.clock.now(), \
            self.window
        if ps is None:
            self.query_one("#figures", Static).update(
                Text(_("no policy set loaded: see the Policies screen (6)"), style="bold"))
            return
        self.background("reports-load", lambda: reports.build(engine, ps, now, window), self.show)

    def show(self, r: reports.Report) -> None:
        f = r.figures
        total = f["all"]
        days = round((r.now - r.since).total_seconds() / 86400)
        text = Text()
        text.append(_("Last {days} days: ").format(days=days), style="bold")
        text.append(_("{n} incidents · MTTA median {mtta} · MTTR median {mttr} · escalated {esc} · "
                      "ack SLA {ack} · resolve SLA {res} · handoffs sent {sent}, unacknowledged "
                      "{unack}").format(
            n=total["incidents"], mtta=minutes(total["mtta"].median),
            mttr=minutes(total["mttr"].median), esc=percent(total["escalation_rate"]),
            ack=percent(total["sla_ack"]), res=percent(total["sla_resolve"]),
            sent=f["handoffs"]["sent"], unack=f["handoffs"]["unacknowledged"]))
        text.append("\n" + _("Opened per day, {first} to {last} (w: window)").format(
            first=r.days[0], last=r.days[-1]), style="dim")
        self.query_one("#figures", Static).update(text)
        self.query_one("#opened", Sparkline).data = [float(n) for n in r.opened_per_day]
        self.query_one("#by-severity", Bars).show(
            _("By severity"), [(name, g["incidents"]) for name, g in f["groups"].items()], width=8)
        self.query_one("#by-service", Bars).show(
            _("Noisiest (alerts)"), [(s["service"], s["alerts"]) for s in f["noisiest_services"][:6]],
            width=8)
        self.query_one("#fatigue", Bars).show(
            _("Pages per person"), [(p["person"], p["pages"]) for p in f["fatigue"][:6]], width=8)
        self.query_one("#table", Static).update(Text(r.text, no_wrap=True))

    def action_window(self) -> None:
        windows = reports.WINDOWS
        self.window = windows[(windows.index(self.window) + 1) % len(windows)]
        self.reload()
