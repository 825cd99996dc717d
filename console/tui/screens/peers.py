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

from console import i18n
from console.i18n import _, ngettext

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
            yield Static(_("Sites in this store"), classes="section")
            yield Static(id="sites")

    def on_mount(self) -> None:
        # ConsoleScreen.on_mount runs as well (Textual calls each class's handler up the MRO).
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
        state.append(_("Sync: {state}").format(state=services.sync), style="bold")
        console = _("This console: {site}, {http}").format(site=self.ctx.store.site.name,
                                                           http=services.http)
        if services.local_seq is not None:
            console += "; " + ngettext("{n} op of its own", "{n} ops of its own",
                                       services.local_seq).format(n=services.local_seq)
        state.append("\n" + console)
        state.append("\n" + _("Policy set digest: {digest}").format(
            digest=ps.digest[:16] if ps else _("no policy set loaded")))
        if not services.peers:
            state.append("\n" + _("Peer consoles appear here when this console serves (not "
                                  "--no-serve) and peers.toml lists them (sunrelay peers add)."),
                         style="dim")
        self.query_one("#sync-state", Static).update(state)
        table = Table(expand=True, box=None, padding=(0, 1), header_style="bold", title_justify="left")
        for name, justify in ((_("PEER"), "left"), (_("STATE"), "left"), (_("LAST SYNC"), "left"),
                              (_("LAG"), "right"), (_("CLOCK"), "right"), (_("WAITING"), "right"),
                              (_("POLICIES"), "left")):
            table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
        now = self.ctx.clock.now().timestamp()
        errors = Text()
        for view in services.peers:
            table.add_row(*self._row(view, now, ps.digest if ps else None))
            if view.status.error:
                errors.append(f"{view.status.name}: {view.status.error}\n", style="red")
            if ps is not None and view.policy_digest not in (None, ps.digest):
                errors.append(_("{peer} runs another policy set ({theirs}; this console: {ours})")
                              .format(peer=view.status.name, theirs=view.policy_digest[:16],
                                      ours=ps.digest[:16]) + "\n", style="bold red")
        self.query_one("#peer-table", Static).update(table if services.peers else "")
        self.query_one("#peer-errors", Static).update(errors)

    @staticmethod
    def _row(view: PeerView, now: float, ours: str | None) -> tuple[Text | str, ...]:
        s = view.status
        if s.online is None:
            state = Text(_("connecting"), style="dim")
        else:
            word = _("online") if s.online else _("offline")
            if s.since:
                word = _("{state} since {time}").format(state=word, time=i18n.moment(
                    datetime.fromtimestamp(s.since, UTC), UTC, None) + "Z")
            state = Text(word, style="green" if s.online else "bold yellow")
        last = _("{age} ago").format(age=age(now - s.last_ok)) if s.last_ok else _("never")
        clock = f"{s.offset_ms / 1000:+.1f}s" if s.offset_ms is not None else "-"
        waiting = "-" if view.waiting is None else str(view.waiting)
        if view.policy_digest is None:
            policy = Text("-", style="dim")
        elif view.policy_digest == ours:
            policy = Text(_("same"))
        else:
            policy = Text(_("DIFFERS"), style="bold red")
        return (Text(s.name, style="bold"), state, last, str(s.lag) if s.online else "-", clock,
                waiting, policy)

    def show_sites(self, sites: list[peers.SiteRow]) -> None:
        table = Table(expand=True, box=None, padding=(0, 1), header_style="bold")
        table.add_column(_("SITE"), no_wrap=True)
        table.add_column(_("OPS"), justify="right")
        table.add_column(_("LAST OP"), no_wrap=True)
        for s in sites:
            table.add_row(s.name + (" " + _("(this console)") if s.local else ""), str(s.seq),

                          f"{s.last_op_at:%Y-%m-%d %H:%M:%S}Z" if s.last_op_at else "-")
        self.query_one("#sites", Static).update(table)
