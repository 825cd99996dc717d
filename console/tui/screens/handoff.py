"""Handoff: the draft note for the end of this shift. Sending it, the handoffs
received from other regions and their history need the handoff service
(issue 7), and the screen says so."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown, Static

from ..services import handoff, queue
from .base import ConsoleScreen

NOT_CONFIGURED = ("Received handoffs and history: not configured. Sending a handoff to the next "
                  "region and acknowledging received ones arrive with the handoff service.")


class HandoffScreen(ConsoleScreen):
    DEFAULT_CSS = """
    HandoffScreen #handoff { height: 1fr; padding: 0 1; }
    HandoffScreen #received { color: $text-muted; margin-top: 1; }
    """

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="handoff"):
            yield Markdown("Drafting…", id="draft")
            yield Static(NOT_CONFIGURED, id="received")

    def reload(self) -> None:
        ctx = self.ctx
        ctx.header()  # looks up this console's region (kept for a minute)
        engine, ps, region, now = ctx.store.engine, ctx.policies, ctx.region, ctx.clock.now()

        def work() -> handoff.Draft:
            return handoff.draft(engine, queue.load(engine, ps, now), ps, region, now)

        self.background("handoff-load", work,
                        lambda d: self.query_one("#draft", Markdown).update(d.markdown))
