"""Label and value pairs, two to a line, for the incident screen.

It draws what `rich.table.Table.grid(padding=(0, 2), expand=True)` with a bold
label column and a wrapping value column, twice side by side, drew: the same
column widths and wrapping, and so the same cells on the terminal. A rich table
measures and renders every cell each time it is drawn (about 5 ms here), and
Textual draws it twice a paint (once for its height, once for its lines): more
than half the CPU of opening an incident. This lays the lines out once per width.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import ceil

from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

GAP = 2  # cells between columns
BOLD = Style(bold=True)

# (label, value, label, value); the second pair may be blank.
Row = tuple[str, str, str, str]


class FieldGrid(Widget):
    DEFAULT_CSS = """
    FieldGrid { height: auto; }
    """

    def __init__(self, rows: Sequence[Row] = (), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: tuple[Row, ...] = tuple(rows)
        self._laid_out: tuple[int, list[Strip]] | None = None

    def show(self, rows: Sequence[Row]) -> None:
        rows = tuple(rows)
        if rows != self.rows:
            self.rows = rows
            self._laid_out = None
            self.refresh(layout=True)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._laid_out = None

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._lines(width))

    def render_line(self, y: int) -> Strip:
        lines = self._lines(self.size.width)
        return lines[y] if y < len(lines) else Strip.blank(self.size.width, self.rich_style)

    def _lines(self, width: int) -> list[Strip]:
        if self._laid_out is None or self._laid_out[0] != width:
            self._laid_out = (width, self._lay_out(width))
        return self._laid_out[1]

    def _lay_out(self, width: int) -> list[Strip]:
        """Labels as wide as the longest (plus the gap), the room left shared equally by
        the two value columns (the first takes the odd cell), values wrapped in theirs."""
        if not self.rows:
            return []
        label_a = max(cell_len(r[0]) for r in self.rows) + GAP
        label_b = max(cell_len(r[2]) for r in self.rows) + GAP
        room = width - label_a - label_b
        value_a = max(GAP + 1, ceil(room / 2))
        value_b = max(1, room - value_a)
        base = self.rich_style
        bold = base + BOLD
        console = self.app.console
        out: list[Strip] = []
        for la, va, lb, vb in self.rows:
            cells = [([la], label_a, bold), (_wrap(va, value_a - GAP, console), value_a, base),
                     ([lb], label_b, bold), (_wrap(vb, value_b, console), value_b, base)]
            for i in range(max(len(lines) for lines, _w, _s in cells)):
                out.append(Strip([Segment(set_cell_size(lines[i] if i < len(lines) else "", w), style)
                                  for lines, w, style in cells]).crop(0, width))
        return out


def _wrap(value: str, width: int, console: Console) -> list[str]:
    """The lines rich wraps a cell's text into (at spaces; a longer word is cut with …)."""
    return [line.plain for line in Text(value).wrap(console, max(1, width), overflow="ellipsis")]
