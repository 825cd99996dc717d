"""The queue (home): open incidents, most urgent first, with live countdowns, a
filter bar, the views mine / my teams / all / resolved today, and marks (space,
`*` for all shown) so that an action applies to many incidents at once."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from console.i18n import _, _l

from ..services import queue
from ..services.actions import Target
from ..services.incident import is_high_risk
from ..widgets.incident_table import IncidentTable
from .actions import ACTION_BINDINGS, IncidentActions

FIRST_SCREENFUL = 200


class QueueScreen(IncidentActions):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", _l("Filter"), id="queue.filter"),
        Binding("v", "next_view", _l("View"), id="queue.view"),
        Binding("escape", "clear_filter", _l("Clear filter or marks"), show=False,
                id="queue.clear-filter"),
        *ACTION_BINDINGS,
    ]
    DEFAULT_CSS = """
    QueueScreen #views { height: 1; padding: 0 1; background: $boost; }
    QueueScreen IncidentTable { height: 1fr; }
    QueueScreen #filter { dock: bottom; display: none; border: none; height: 1; padding: 0 1; }
    QueueScreen #filter.-shown { display: block; }
    QueueScreen #shown { height: 1; padding: 0 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.index = queue.QueueIndex([], queue.Me(""))
        self.view = "all"
        self.filter = queue.Filter()
        self.screenful = False  # the first screenful has been shown
        self.loaded = False  # the whole queue has been

    def compose_body(self) -> ComposeResult:
        yield Static(id="views")
        yield IncidentTable(self.ctx.clock.now, id="queue-table")
        yield Static(id="shown")
        yield Input(placeholder=_("filter: words, s:sev1, p:P1, svc:payments*, team:db, st:ack, me"),
                    id="filter")

    @property
    def table(self) -> IncidentTable:
        return self.query_one(IncidentTable)

    def on_mount(self) -> None:
        # Textual calls BaseScreen.on_mount itself (handlers run up the MRO): calling it
        # here too subscribed to every change twice and ran two header tickers.
        self.table.focus()

    # -- data ----------------------------------------------------------------------

    def _day_start(self) -> datetime:
        now = self.ctx.clock.now()
        me = self.ctx.me  # a zone the policy set has checked (see services.status.header)
        tz = ZoneInfo(me.time_zone) if me.time_zone else now.astimezone().tzinfo
        return now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)

    def reload(self) -> None:
        engine, ps, since, me = self.ctx.store.engine, self.ctx.policies, self._day_start(), self.ctx.me
        first = not (self.loaded or self.screenful)
        coming = self.ctx.policies_coming

        def work() -> queue.QueueIndex | None:
            if first:
                # A screenful at once; the whole queue once it is on the terminal, so
                # that loading it does not hold the first frame back.
                shown = threading.Event()
                screenful = queue.QueueIndex(queue.load(engine, ps, since, limit=FIRST_SCREENFUL), me)
                self.app.call_from_thread(self.first_rows, screenful, shown)
                shown.wait(5.0)
                if coming:
                    # The policy set is being read, and its arrival loads the queue again
                    # (the deadlines need it): loading it now too cost ~0.5 s of CPU
                    # (10,000 rows) competing with the first keys for the interpreter.
                    return None
            return queue.QueueIndex(queue.load(engine, ps, since), me)

        self.background("queue-load", work, self.loaded_rows)

    def first_rows(self, index: queue.QueueIndex, shown: threading.Event) -> None:
        self.index = index
        self.screenful = True
        self.show_rows()

        def painted() -> None:
            shown.set()
            self.console.first_rows_shown()

        self.call_after_refresh(painted)

    def loaded_rows(self, index: queue.QueueIndex | None) -> None:
        """`None`: only the first screenful was read; the policy set's reload reads the rest."""
        if index is None:
            return
        self.index = index
        self.loaded = True
        self.show_rows()
        self.console.queue_loaded()

    def show_rows(self) -> None:
        shown = self.index.select(self.view, self.filter)
        table = self.table
        table.empty_text = (_("no incidents match the filter") if not self.filter.empty
                            else str(queue.VIEW_EMPTY[self.view]))
        table.set_rows(shown)
        counts = self.index.counts
        views = Text(no_wrap=True, overflow="ellipsis")
        for name in queue.VIEWS:
            label = f" {queue.VIEW_TITLES[name]} {counts[name]} "
            views.append(label, style="reverse bold" if name == self.view else "")
            views.append(" ")
        views.append(" " + _("v: next view"), style="dim")
        tabs = self.query_one("#views", Static)
        if str(tabs.content) != str(views):
            tabs.update(views)
        total = counts[self.view]
        text = _("{shown} of {total} shown").format(shown=len(shown), total=total)
        if table.marked:
            text = _("{n} marked (esc clears)").format(n=len(table.marked)) + " · " + text
        filter_text = self.query_one("#filter", Input).value.strip()
        if filter_text:
            text += " · " + _("filter: {text} (esc clears)").format(text=filter_text)

        self.query_one("#shown", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def tick(self) -> None:
        super().tick()
        self.table.tick()

    # -- keys ----------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        box.focus()

    @on(Input.Changed, "#filter")
    def filter_changed(self, event: Input.Changed) -> None:
        self.filter = queue.parse_filter(event.value)
        self.show_rows()

    @on(Input.Submitted, "#filter")
    def filter_done(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.value.strip():
            box.remove_class("-shown")
        self.table.focus()

    def action_clear_filter(self) -> None:
        """Esc clears the filter; with none, the marks."""
        box = self.query_one("#filter", Input)
        if self.filter.empty and not box.value:
            self.table.clear_marks()
            return
        box.value = ""
        box.remove_class("-shown")
        self.filter = queue.Filter()
        self.show_rows()
        self.table.focus()

    def action_next_view(self) -> None:
        views = queue.VIEWS
        self.view = views[(views.index(self.view) + 1) % len(views)]
        self.show_rows()

    @on(IncidentTable.Selected)
    def open_row(self, event: IncidentTable.Selected) -> None:
        self.console.open_incident(event.row.key, event.row)

    @on(IncidentTable.MarksChanged)
    def marks_changed(self) -> None:
        self.show_rows()

    def targets(self) -> list[Target]:
        """The marked rows, else the one under the cursor."""
        table = self.table
        rows = table.marked_rows or ([table.current] if table.current is not None else [])
        return [Target(r.key, r.severity, r.priority,
                       is_high_risk(r.priority, r.severity, r.labels)) for r in rows]

    def acted(self) -> None:
        self.table.clear_marks()
        super().acted()
