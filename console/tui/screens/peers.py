"""Peers: the consoles this one syncs with, live from the sync service (online or
offline and since when, last sync, lag, clock offset, this console's ops each one
still lacks, a different policy set, the last error), then every site whose ops
this store holds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ..model import age
from ..services import peers
from .base import ConsoleScreen

if TYPE_CHECKING:
    from console.replication import PeerView


class PeersScreen(ConsoleScreen):
    DEFAULT_CSS = """
    PeersScreen #peers { height: 1fr; padding: 0 1; }
    PeersScreen .section { text-style: bold; color: $accent; margin-top: 1; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="peers"):
            yield Static(id="sync-state")
            yield Static(id="peer-table")
            yield Static(id="peer-errors")
            yield Static("Sites in this store", classes="section")
            yield Static(id="sites")

    def on_mount(self) -> None:
        super().on_mount()
        self.console.services_changed.subscribe(self, lambda _: self.show_peers())

    def reload(self) -> None:
        store = self.ctx.store
        self.show_peers()
        self.background("peers-load",
                        lambda: peers.sites(store.engine, store.site.site, store.site.name),
                        self.show_sites)

    def show_peers(self) -> None:
        services = self.ctx.services
        ps = self.ctx.policies
        state = Text()
        state.append(f"Sync: {services.sync}", style="bold")
        own = f"{services.local_seq} ops of its own" if services.local_seq is not None else ""
        state.append(f"\nThis console: {self.ctx.store.site.name}, {services.http}"
                     + (f"; {own}" if own else ""))
        state.append(f"\nPolicy set digest: {ps.digest[:16] if ps else 'no policy set loaded'}")
        if not services.peers:
            state.append("\nPeer consoles appear here when this console serves (not --no-serve) "
                         "and peers.toml lists them (sunrelay peers add).", style="dim")
        self.query_one("#sync-state", Static).update(state)
        table = Table(expand=True, box=None, padding=(0, 1), header_style="bold", title_justify="left")
        for name, justify in (("PEER", "left"), ("STATE", "left"), ("LAST SYNC", "left"),
                              ("LAG", "right"), ("CLOCK", "right"), ("WAITING", "right"),
                              ("POLICIES", "left")):
            table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        now = self.ctx.clock.now().timestamp()
        errors = Text()
        for view in services.peers:
            table.add_row(*self._row(view, now, ps.digest if ps else None))
            if view.status.error:
                errors.append(f"{view.status.name}: {view.status.error}\n", style="red")
            if ps is not None and view.policy_digest not in (None, ps.digest):
                errors.append(f"{view.status.name} runs another policy set ({view.policy_digest[:16]}; "
                              f"this console: {ps.digest[:16]})\n", style="bold red")
        self.query_one("#peer-table", Static).update(table if services.peers else "")
        self.query_one("#peer-errors", Static).update(errors)

    @staticmethod
    def _row(view: PeerView, now: float, ours: str | None) -> tuple[Text | str, ...]:
        s = view.status
        since = f" since {datetime.fromtimestamp(s.since, UTC):%H:%MZ}" if s.since else ""
        if s.online is None:
            state = Text("connecting", style="dim")
        else:
            state = Text(("online" if s.online else "offline") + since,
                         style="green" if s.online else "bold yellow")
        last = f"{age(now - s.last_ok)} ago" if s.last_ok else "never"
        clock = f"{s.offset_ms / 1000:+.1f}s" if s.offset_ms is not None else "-"
        waiting = "-" if view.waiting is None else str(view.waiting)
        if view.policy_digest is None:
            policy = Text("-", style="dim")
        elif view.policy_digest == ours:
            policy = Text("same")
        else:
            policy = Text("DIFFERS", style="bold red")
        return (Text(s.name, style="bold"), state, last, str(s.lag) if s.online else "-", clock,
                waiting, policy)

    def show_sites(self, sites: list[peers.SiteRow]) -> None:
        table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
        table.add_column("SITE", no_wrap=True)
        table.add_column("OPS", justify="right")
        table.add_column("LAST OP", no_wrap=True)
        for s in sites:
            table.add_row(s.name + (" (this console)" if s.local else ""), str(s.seq),
                          f"{s.last_op_at:%Y-%m-%d %H:%M:%S}Z" if s.last_op_at else "-")
        self.query_one("#sites", Static).update(table)
