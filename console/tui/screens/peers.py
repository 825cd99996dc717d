"""Peers: the consoles this one syncs with. Until the sync service exists, it
shows every site whose ops this store holds, this console's own ops (all of
them waiting for a peer) and the policy digest, and says sync is not
configured."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..services import peers
from .base import ConsoleScreen


class PeersScreen(ConsoleScreen):
    DEFAULT_CSS = """
    PeersScreen #peers { height: 1fr; padding: 0 1; }
    PeersScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="peers"):
            yield Static(id="sync-state")
            yield Static("Sites in this store", classes="section")
            yield Static(id="sites")

    def reload(self) -> None:
        store = self.ctx.store
        self.background("peers-load",
                        lambda: peers.sites(store.engine, store.site.site, store.site.name),
                        self.show)

    def show(self, sites: list[peers.SiteRow]) -> None:
        ps = self.ctx.policies
        local = next((s for s in sites if s.local), None)
        state = Text()
        state.append(f"Sync: {self.ctx.services.sync}", style="bold")
        state.append("\nPeer consoles (region, online, last sync, lag, clock offset, errors) "
                     "appear here once peers are configured.", style="dim")
        state.append(f"\nThis console: {self.ctx.store.site.name}, "
                     f"{local.seq if local else 0} ops of its own, all waiting for a peer")
        state.append(f"\nPolicy set digest: {ps.digest[:16] if ps else 'no policy set loaded'}")
        self.query_one("#sync-state", Static).update(state)
        table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
        table.add_column("SITE", no_wrap=True)
        table.add_column("OPS", justify="right")
        table.add_column("LAST OP", no_wrap=True)
        for s in sites:
            table.add_row(s.name + (" (this console)" if s.local else ""), str(s.seq),
                          f"{s.last_op_at:%Y-%m-%d %H:%M:%S}Z" if s.last_op_at else "-")
        self.query_one("#sites", Static).update(table)
