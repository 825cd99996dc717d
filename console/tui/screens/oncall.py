"""Who is on call now and next for every schedule and follow-the-sun group, in
each person's local time, the time to each hand-off, and a 24-hour coverage
strip per region."""

from __future__ import annotations

from datetime import datetime

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..model import Lane
from ..services import oncall
from ..widgets.coverage import Coverage
from .base import ConsoleScreen


def rota_table(rotas: list[oncall.Rota], me: str | None) -> Table:
    table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
    table.add_column("SCHEDULE", no_wrap=True, ratio=2)
    table.add_column("NOW", ratio=3)
    table.add_column("NEXT", ratio=3)
    table.add_column("IN", no_wrap=True, width=7)
    for r in rotas:
        def people(ps: list[oncall.Person]) -> Text:
            text = Text()
            for i, p in enumerate(ps):
                if i:
                    text.append(", ")
                text.append(p.name, style="bold reverse" if p.id == me else "bold")
                text.append(f" {p.local.rsplit(' ', 1)[0]}" if p.local else "", style="dim")
            return text if ps else Text("NOBODY", style="bold reverse")
        name = Text(r.id)
        if r.region:
            name.append(f" ({r.region}→{r.next_region})", style="dim")
        table.add_row(name, people(r.now), people(r.next), r.handoff_in)
    return table


class OnCallScreen(ConsoleScreen):
    """Refreshed once a minute: hand-offs move on minutes, not seconds."""

    DEFAULT_CSS = """
    OnCallScreen #oncall { height: 1fr; padding: 0 1; }
    OnCallScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.shown_minute: datetime | None = None

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="oncall"):
            yield Static(id="rotas")
            yield Static("Next 24 hours, by region (hours are local)", classes="section")
            yield Coverage(id="coverage")

    def reload(self) -> None:
        ps, now = self.ctx.policies, self.ctx.clock.now()
        if ps is None:
            self.query_one("#rotas", Static).update(
                Text("no policy set loaded: see the Policies screen (6)", style="bold"))
            self.query_one(Coverage).show([])
            return
        self.shown_minute = now.replace(second=0, microsecond=0)
        self.background("oncall-load", lambda: (oncall.rotas(ps, now), oncall.lanes(ps, now)),
                        self.show)

    def show(self, data: tuple[list[oncall.Rota], list[Lane]]) -> None:
        rotas, lanes = data
        self.query_one("#rotas", Static).update(rota_table(rotas, self.ctx.me.person))
        self.query_one(Coverage).show(lanes)

    def tick(self) -> None:
        super().tick()
        minute = self.ctx.clock.now().replace(second=0, microsecond=0)
        if self.shown_minute is not None and minute != self.shown_minute:
            self.reload()
