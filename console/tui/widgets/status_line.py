"""The header line every screen carries: site and region, who I am and whether I
am on call, local time and UTC, engine and sync state."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.widgets import Static

from console.i18n import _

from ..model import HeaderInfo
from ..services.status import engine_text


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; color: $text; padding: 0 1; }
    """
    info: HeaderInfo | None = None

    def on_resize(self, _event: events.Resize) -> None:
        """The first `show` may come before the layout knows the width."""
        if self.info is not None:
            self.show(self.info)

    def show(self, info: HeaderInfo) -> None:
        """Draw `info`; skipped when nothing changed, so the once-a-second call
        costs nothing between minute changes. At 80 columns the region, the
        weekday and some words give way (`budi@JKT`, `eng`, the short sync
        state) so that engine and sync state stay readable."""
        self.info = info
        text = self._line(info, full=True)
        if text.cell_len > self.size.width - 2 > 0:
            text = self._line(info, full=False)
        if str(text) != str(self.content):
            self.update(text)

    @staticmethod
    def _line(info: HeaderInfo, full: bool) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        if full:
            text.append(info.site, style="bold")
            if info.region:
                text.append(f" {info.region}")
            text.append(" · ")
            text.append(info.me)
        else:
            text.append(f"{info.me}@")
            text.append(info.site, style="bold")
        if info.on_call:
            text.append(" " + _("ON CALL"), style="bold reverse")
        if info.readonly:
            text.append(" " + _("READONLY"), style="bold")
        local = info.local_time if full else info.local_time.split()[-1]
        text.append(f" · {local} {info.utc_time} · ")
        engine = engine_text(info.engine)
        text.append((_("engine: {state}") if full else _("eng {state}")).format(state=engine),
                    style=ENGINE_STYLES.get(info.engine, "dim"))
        text.append(" · ")
        text.append(_("sync: {state}").format(state=info.sync) if full else info.sync_short,
                    style=_sync_style(info.sync))
        return text


ENGINE_STYLES = {"running": "", "behind": "bold red", "failing": "bold red"}


def _sync_style(sync: str) -> str:
    """`sync` as `services.status.sync_text` words it, in the language shown."""
    if _("offline") in sync:
        return "bold yellow"
    return "" if sync.startswith((_("online"), _("connecting"))) else "dim"

