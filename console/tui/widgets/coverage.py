"""A 24-hour strip per follow-the-sun region: one cell an hour, filled while the
region holds the pager, with its local hours underneath."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static

from console.i18n import _

from ..model import Lane


class Coverage(Static):
    DEFAULT_CSS = """
    Coverage { height: auto; padding: 0 1; }
    """

    def show(self, lanes: Sequence[Lane]) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        if not lanes:
            text.append(_("no follow-the-sun groups in the policy set"), style="dim")

        for lane in lanes:
            text.append(f"{lane.group}/{lane.region:<10} ", style="bold")
            for on in lane.cells:
                text.append("█" if on else "·", style="reverse" if on else "dim")
            text.append(f" {lane.time_zone}\n")
            text.append(" " * (len(lane.group) + 12))
            text.append("".join(str(h // 10) if h % 6 == 0 else " " for h in lane.local_hours),
                        style="dim")
            text.append("\n")
            text.append(" " * (len(lane.group) + 12))
            text.append("".join(str(h % 10) if h % 6 == 0 else " " for h in lane.local_hours),
                        style="dim")
            text.append("\n")
        self.update(text)
