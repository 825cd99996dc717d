"""The incident screen's field grid draws the lines rich's grid table drew (the
incident snapshots hold two widths; this holds wrapping, cut words and conflicts
at many)."""

from __future__ import annotations

import asyncio

from rich.console import Console
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult

from console.tui.screens.incident import grid_rows
from console.tui.widgets.field_grid import FieldGrid, Row

FIELDS = [("Status", "triggered (epoch 0)"), ("Severity", "sev1"), ("Priority", "P1"),
          ("Stage", "new"), ("Service", "checkout-service-" + "x" * 60), ("Team", "payments"),
          ("Acknowledged", "Tue, Mar 10, 2026, 02:02Z by somebody with a long name"),
          ("Resolved", "-"), ("Created", "Tue, Mar 10, 2026, 02:02Z")]
LABELS = {"alertname": "CheckoutLatency", "risk": "high", "region": "ap-southeast-1"}


def rich_lines(rows: list[Row], width: int) -> list[str]:
    grid = Table.grid(padding=(0, 2), expand=True)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(ratio=1)
    for a, b, c, d in rows:
        grid.add_row(a, Text(b), c, Text(d))
    console = Console(width=width, color_system=None)
    return ["".join(s.text for s in line) for line in console.render_lines(grid, console.options)]


class GridApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FieldGrid(id="grid")


def test_grid_lines_match_rich_grid_table() -> None:
    async def run(width: int) -> None:
        app = GridApp()
        async with app.run_test(size=(width, 40)) as pilot:
            grid = app.query_one(FieldGrid)
            for rows in (grid_rows(FIELDS, LABELS, {"assignee": ["alice", "bob", None]}),
                         grid_rows(FIELDS[:4], {}, {}), grid_rows(FIELDS, {}, {})):
                grid.show(rows)
                await pilot.pause()
                drawn = [grid.render_line(y).text for y in range(grid.size.height)]
                assert drawn == rich_lines(rows, width), (width, rows)

    for width in (30, 41, 57, 78, 79, 120, 158):
        asyncio.run(run(width))
