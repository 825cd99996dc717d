"""Labelled horizontal bars for the report figures (16-colour safe: block characters)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from console.i18n import _

LABEL_WIDTH = 12  # longer labels are cut, so that three bars fit side by side in 80 columns


class Bars(Static):
    DEFAULT_CSS = """
    Bars { height: auto; padding: 0 1; }
    """

    def show(self, title: str, items: Sequence[tuple[str, int]], width: int = 30) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(title + "\n", style="bold")
        top = max((n for _label, n in items), default=0)
        label_w = min(LABEL_WIDTH, max((len(label) for label, _n in items), default=0))
        for label, n in items:
            bar = round(n / top * width) if top else 0
            shown = label if len(label) <= label_w else label[:label_w - 1] + "…"
            text.append(f"{shown:<{label_w}} ")
            text.append("█" * bar, style="bold")
            text.append(f" {n}\n")
        if not items:
            text.append(_("nothing yet") + "\n", style="dim")

        self.update(text)
