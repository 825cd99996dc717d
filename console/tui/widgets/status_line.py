"""The header line every screen carries: site and region, who I am and whether I
am on call, local time and UTC, engine and sync state."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..model import HeaderInfo


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    def show(self, info: HeaderInfo) -> None:
        """Draw `info`; skipped when nothing changed, so the once-a-second call
        costs nothing between minute changes. At 80 columns the region and the
        weekday give way so that engine and sync state stay readable."""
        text = self._line(info, full=True)
        if text.cell_len > self.size.width - 2 > 0:
            text = self._line(info, full=False)
        if str(text) != str(self.content):
            self.update(text)

    @staticmethod
    def _line(info: HeaderInfo, full: bool) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(info.site, style="bold")
        if info.region and full:
            text.append(f" {info.region}")
        text.append(" · ")
        text.append(info.me)
        if info.on_call:
            text.append(" ON CALL", style="bold reverse")
        if info.readonly:
            text.append(" READONLY", style="bold")
        local = info.local_time if full else info.local_time.split()[-1]
        text.append(f" · {local} {info.utc_time} · ")
        text.append(f"engine: {info.engine}", style=ENGINE_STYLES.get(info.engine, "dim"))
        text.append(" · ")
        text.append(f"sync: {info.sync}", style=_sync_style(info.sync))
        return text


ENGINE_STYLES = {"running": "", "behind": "bold red", "failing": "bold red"}


def _sync_style(sync: str) -> str:
    if "offline" in sync:
        return "bold yellow"
    return "" if sync.startswith(("online", "connecting")) else "dim"
