"""Reports: the last week in figures: incidents opened and resolved per day,
median times to acknowledge and to resolve, by severity and by service."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Sparkline, Static

from ..services import reports
from ..widgets.bars import Bars
from .base import ConsoleScreen


def _minutes(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f} min" if value < 120 else f"{value / 60:.1f} h"


class ReportsScreen(ConsoleScreen):
    DEFAULT_CSS = """
    ReportsScreen #reports { height: 1fr; padding: 0 1; }
    ReportsScreen Sparkline { height: 3; margin: 0 1; }
    ReportsScreen Horizontal { height: auto; }
    ReportsScreen Bars { width: 1fr; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="reports"):
            yield Static(id="figures")
            yield Sparkline([], id="opened")
            yield Bars(id="per-day")
            with Horizontal():
                yield Bars(id="by-severity")
                yield Bars(id="by-service")

    def reload(self) -> None:
        engine, now = self.ctx.store.engine, self.ctx.clock.now()
        self.background("reports-load", lambda: reports.build(engine, now), self.show)

    def show(self, r: reports.Report) -> None:
        text = Text()
        text.append("Last 7 days: ", style="bold")
        text.append(f"{r.total} incidents, {r.open_now} still open · "
                    f"median time to acknowledge {_minutes(r.mtta_minutes)} · "
                    f"to resolve {_minutes(r.mttr_minutes)}")
        self.query_one("#figures", Static).update(text)
        self.query_one("#opened", Sparkline).data = [float(n) for n in r.opened_per_day]
        self.query_one("#per-day", Bars).show(
            "Opened per day", list(zip(r.days, r.opened_per_day, strict=True)))
        self.query_one("#by-severity", Bars).show("By severity", r.by_severity, width=16)
        self.query_one("#by-service", Bars).show("By service", r.by_service, width=16)
