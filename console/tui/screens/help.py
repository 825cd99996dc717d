"""`?`: every key of the screen underneath and of the app, generated from the
active bindings so it cannot drift from what the keys do."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.i18n import _, _l

FILTER_HELP = _l(
    "Filter (/): words match key, title and service; s:sev1 (or s:1,2), p:P1, svc:payments*, "
    "team:db, st:ack (status or stage), me (assigned to me). Enter keeps the filter, esc "
    "clears it. v cycles the views: all open, mine, my teams, resolved today.\n\n"
    "Resolving a P1 asks first; resolving or escalating a high-risk incident (P1 at sev1, or "
    "labelled risk=high) needs its key typed. Keys are remapped with --keys ID=KEY,...")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", _l("Close"), id="help.close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1; }
    """

    def __init__(self, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, padding=(0, 1), expand=True, header_style="bold",
                      title=_("Keys (esc closes)"))
        table.add_column(_("KEY"), no_wrap=True)
        table.add_column(_("WHAT"))
        table.add_column(_("ID"), style="dim", no_wrap=True)
        for key, what, ident in self.rows:
            table.add_row(key, what, ident)
        with VerticalScroll():
            yield Static(table)
            yield Static(Text(str(FILTER_HELP)))


    def action_close(self) -> None:
        self.dismiss(None)
