"""The queue: a line-API table that renders only the rows on screen.

`DataTable` rebuilds per-row structures on every change and blocks for
seconds at tens of thousands of rows; this widget holds a list of rows
handed to it already filtered and sorted, renders a line on demand, caches
the static part of each visible line, and computes countdowns as
`deadline - now()` at render time. `tick()` repaints only the countdown and
age strip at the right edge of the visible rows.

Rows can be marked (space, or `*` for every row shown) so that the screen
applies an action to all of them; marks live on the rows shown, so a row that
leaves the view (filtered out, resolved) leaves the marked set too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.i18n import _, _l

from ..model import QueueRow, age, countdown

# Four cells each; the values stay English (they are the store's), the words shown do not.
STATUS_SHORT = {"triggered": _l("TRIG"), "acknowledged": _l("ACK"), "resolved": _l("RES")}
# What falls due (`QueueRow.deadline_kind`) and its countdown, in NEXT's ten cells: the kind
# takes three, so that an overdue `-3h05m` still fits.
DEADLINE_KINDS = {"esc": _l("esc {countdown}"), "ack": _l("ack {countdown}"),
                  "fix": _l("fix {countdown}"), "due": _l("due {countdown}")}
SOON_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    title: str
    width: int  # 0: takes the room left
    min_screen: int = 0  # shown only on screens at least this wide


COLUMNS = (
    Column("sev", _l("SEV"), 4),
    Column("pri", _l("P"), 2),
    Column("key", _l("KEY"), 9),
    Column("title", _l("TITLE"), 0),
    Column("service", _l("SERVICE"), 14, 100),
    Column("status", _l("STAT"), 4),
    Column("stage", _l("STAGE"), 11, 120),
    Column("assignee", _l("OWNER"), 9, 100),
    Column("level", _l("L"), 2),
    Column("alerts", _l("N"), 3, 100),
    # The ticking strip: kept last so one region repaints it.
    Column("next", _l("NEXT"), 10),
    Column("age", _l("AGE"), 4),
)
TICKING = ("next", "age")


def _fit(text: str, width: int) -> str:
    if len(text) > width:
        return text[: max(0, width - 1)] + "…" if width > 1 else text[:width]
    return text.ljust(width)


class IncidentTable(ScrollView, can_focus=True):
    """Rows of `QueueRow`; posts `Highlighted` as the cursor moves and `Selected` on enter."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "move(1)", _l("Down"), show=False, id="table.down"),
        Binding("up,k", "move(-1)", _l("Up"), show=False, id="table.up"),
        Binding("pagedown,ctrl+d", "page(1)", _l("Page down"), show=False, id="table.page-down"),
        Binding("pageup,ctrl+u", "page(-1)", _l("Page up"), show=False, id="table.page-up"),
        Binding("home,g", "jump(0)", _l("Top"), show=False, id="table.top"),
        Binding("end,G", "jump(-1)", _l("Bottom"), show=False, id="table.bottom"),
        Binding("enter", "select", _l("Open"), id="table.open"),
        Binding("space", "mark", _l("Mark"), show=False, id="table.mark"),
        Binding("asterisk", "mark_all", _l("Mark all shown"), show=False, id="table.mark-all"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "incident-table--header", "incident-table--cursor", "incident-table--sev1",
        "incident-table--sev2", "incident-table--sev3", "incident-table--sev4",
        "incident-table--overdue", "incident-table--soon", "incident-table--dim",
        "incident-table--acked", "incident-table--mark",
    }
    DEFAULT_CSS = """
    IncidentTable { overflow-x: hidden; background: $surface; }
    IncidentTable > .incident-table--header { text-style: bold; background: $panel; color: $text; }
    IncidentTable > .incident-table--cursor { background: $accent 40%; }
    IncidentTable:focus > .incident-table--cursor { background: $accent; color: $text; }
    IncidentTable > .incident-table--sev1 { color: $error; text-style: bold; }
    IncidentTable > .incident-table--sev2 { color: $warning; text-style: bold; }
    IncidentTable > .incident-table--sev3 { color: $primary; }
    IncidentTable > .incident-table--sev4 { color: $text-muted; }
    IncidentTable > .incident-table--overdue { color: $error; text-style: bold reverse; }
    IncidentTable > .incident-table--soon { color: $warning; text-style: bold; }
    IncidentTable > .incident-table--dim { color: $text-muted; }
    IncidentTable > .incident-table--acked { color: $success; }
    IncidentTable > .incident-table--mark { color: $accent; text-style: bold reverse; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        def __init__(self, row: QueueRow | None) -> None:
            self.row = row
            super().__init__()

    class Selected(Message):
        def __init__(self, row: QueueRow) -> None:
            self.row = row
            super().__init__()

    class MarksChanged(Message):
        def __init__(self, marked: int) -> None:
            self.marked = marked
            super().__init__()

    def __init__(self, now: Callable[[], datetime], *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._now = now
        self.rows: Sequence[QueueRow] = ()
        self.marked: set[str] = set()  # keys
        self._static: dict[tuple[str, bool, bool], list[Segment]] = {}
        self._styles: dict[str, Style] = {}
        self._layout: list[tuple[Column, int]] = []
        self._tick_x = 0
        self._base: Style | None = None
        self.empty_text = _("no incidents")

    # -- data ----------------------------------------------------------------------

    def set_rows(self, rows: Sequence[QueueRow]) -> None:
        """Replace the rows, keeping the cursor on the same incident when it is still there."""
        current = self.current
        self.rows = rows
        self._static.clear()
        if self.marked:
            kept = {r.key for r in rows if r.key in self.marked}
            if kept != self.marked:
                self.marked = kept
                self.post_message(self.MarksChanged(len(kept)))
        size = Size(self.size.width, len(rows) + 1)
        if size != self.virtual_size:
            self.virtual_size = size
        key = current.key if current is not None else None
        index = next((i for i, r in enumerate(rows) if r.key == key), -1) if key else -1
        if index < 0:
            index = min(self.cursor, max(0, len(rows) - 1))
        self.cursor = index
        self.refresh()

    @property
    def marked_rows(self) -> list[QueueRow]:
        """The marked rows in the order shown."""
        return [r for r in self.rows if r.key in self.marked]

    def clear_marks(self) -> None:
        if self.marked:
            self.marked = set()
            self._static.clear()
            self.refresh()
            self.post_message(self.MarksChanged(0))

    @property
    def current(self) -> QueueRow | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def tick(self) -> None:
        """Repaint the countdown and age strip of the visible rows, nothing else."""
        width = self.size.width - self._tick_x
        if width > 0 and self.rows:
            self.refresh(Region(self._tick_x, 1, width, self.size.height - 1))

    # -- layout and styles ---------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out(event.size.width)
        self.virtual_size = Size(event.size.width, len(self.rows) + 1)

    def _lay_out(self, width: int) -> None:
        shown = [c for c in COLUMNS if width >= c.min_screen]
        fixed = sum(c.width for c in shown) + len(shown) - 1 + 1  # separators, left margin
        flex = max(8, width - fixed)
        self._layout = [(c, c.width or flex) for c in shown]
        self._tick_x = 1 + sum(w + 1 for c, w in self._layout if c.name not in TICKING)
        self._static.clear()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._static.clear()
        self._base = None

    @property
    def base_style(self) -> Style:
        """`rich_style` (walks the DOM for background colours) once per style change."""
        if self._base is None:
            self._base = self.rich_style
        return self._base

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.get_component_rich_style(f"incident-table--{name}")
        return style

    # -- rendering -----------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self._layout:
            self._lay_out(width)
        base = self.base_style
        if y == 0:
            header = self._style("header")
            text = " " + " ".join(_fit(str(c.title), w) for c, w in self._layout)
            return Strip([Segment(_fit(text, width), base + header)], width)
        index = y - 1 + self.scroll_offset.y
        if index >= len(self.rows):
            if index == 0:
                return Strip([Segment(_fit("  " + self.empty_text, width), base + self._style("dim"))],
                             width)
            return Strip.blank(width, base)
        row = self.rows[index]
        is_cursor = index == self.cursor
        line = base + self._style("cursor") if is_cursor else base
        cached = (row.key, is_cursor, row.key in self.marked)
        segments = self._static.get(cached)
        if segments is None:
            segments = self._static[cached] = self._static_segments(row, line, cached[2])
        return Strip([*segments, *self._ticking(row, line)]).adjust_cell_length(width, line)

    def _cell(self, row: QueueRow, name: str) -> tuple[str, str | None]:
        """The text of a static cell and the component style it takes, if any."""
        if name == "sev":
            return row.severity.upper(), row.severity
        if name == "pri":
            return row.priority or "-", None
        if name == "key":
            return row.key, None
        if name == "title":
            return ("! " if row.conflicted else "") + row.title, None
        if name == "service":
            return row.service, "dim"
        if name == "status":
            return str(STATUS_SHORT.get(row.status, row.status)), (
                "acked" if row.status == "acknowledged" else None)
        if name == "stage":
            return row.stage, "dim"
        if name == "assignee":
            return row.assignee or "-", None
        if name == "level":
            return f"L{row.level}", None
        if name == "alerts":
            return str(row.alert_count), "dim"
        return "", None

    def _static_segments(self, row: QueueRow, line: Style, marked: bool) -> list[Segment]:
        out = [Segment("*", line + self._style("mark")) if marked else Segment(" ", line)]
        for column, w in self._layout:
            if column.name in TICKING:
                continue
            text, style = self._cell(row, column.name)
            out.append(Segment(_fit(text, w), line + self._style(style) if style else line))
            out.append(Segment(" ", line))
        return out

    def _ticking(self, row: QueueRow, line: Style) -> list[Segment]:
        now = self._now()
        widths = dict((c.name, w) for c, w in self._layout)
        style = line
        if row.deadline is None or row.status == "resolved":
            next_text = "-"
            style = line + self._style("dim")
        else:
            left = (row.deadline - now).total_seconds()
            kind = DEADLINE_KINDS.get(row.deadline_kind, row.deadline_kind + " {countdown}")
            next_text = str(kind).format(countdown=countdown(left))


            if left < 0:
                style = line + self._style("overdue")
            elif left < SOON_SECONDS:
                style = line + self._style("soon")
        since = row.resolved_at if row.status == "resolved" and row.resolved_at else row.created_at
        return [
            Segment(_fit(next_text, widths["next"]).rjust(widths["next"]), style),
            Segment(" ", line),
            Segment(_fit(age((now - since).total_seconds()), widths["age"]), line),
        ]

    # -- cursor --------------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        top = self.scroll_offset.y
        self.refresh(Region(0, old - top + 1, self.size.width, 1))
        self.refresh(Region(0, new - top + 1, self.size.width, 1))
        visible = max(1, self.size.height - 1)
        if new < top:
            self.scroll_to(y=new, animate=False, immediate=True)
        elif new >= top + visible:
            self.scroll_to(y=new - visible + 1, animate=False, immediate=True)
        self.post_message(self.Highlighted(self.current))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self.refresh()

    def action_move(self, delta: int) -> None:
        if self.rows:
            self.cursor = max(0, min(len(self.rows) - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(1, self.size.height - 2))

    def action_jump(self, where: int) -> None:
        if self.rows:
            self.cursor = len(self.rows) - 1 if where < 0 else 0

    def action_mark(self) -> None:
        """Mark or unmark the row under the cursor, and move on to the next."""
        row = self.current
        if row is None:
            return
        self.marked ^= {row.key}
        self.refresh(Region(0, self.cursor - self.scroll_offset.y + 1, self.size.width, 1))
        self.post_message(self.MarksChanged(len(self.marked)))
        self.action_move(1)

    def action_mark_all(self) -> None:
        """Mark every row shown; when they all are already, unmark them."""
        if len(self.marked) == len(self.rows):
            self.clear_marks()
            return
        self.marked = {r.key for r in self.rows}
        self._static.clear()
        self.refresh()
        self.post_message(self.MarksChanged(len(self.marked)))

    def action_select(self) -> None:
        if self.current is not None:
            self.post_message(self.Selected(self.current))

    def on_click(self, event: events.Click) -> None:
        index = event.y - 1 + self.scroll_offset.y
        if event.y >= 1 and 0 <= index < len(self.rows):
            if index == self.cursor and event.chain > 1:
                self.action_select()
            self.cursor = index
