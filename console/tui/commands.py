"""The command palette (`ctrl+p` or `:`): jump to any incident by key or title,
switch screens, and run the current screen's incident actions."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

from sqlalchemy import Engine, select
from textual.command import DiscoveryHit, Hit, Hits, Provider

from console.i18n import _, _l
from console.store import db
from console.store.tables import Incident

INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
SCREENS = (("1", "queue", _l("Queue")), ("2", "incident", _l("Incident")),
           ("3", "oncall", _l("On call")), ("4", "handoff", _l("Handoff")), ("5", "peers", _l("Peers")),
           ("6", "policies", _l("Policies")), ("7", "reports", _l("Reports")))
ACTIONS = (("ack", _l("Acknowledge")), ("resolve", _l("Resolve")), ("escalate", _l("Escalate")),
           ("note", _l("Add a note")), ("update", _l("Post a status update")),
           ("reassign", _l("Reassign")), ("priority", _l("Set priority")),
           ("severity", _l("Set severity")), ("reopen", _l("Reopen")))


def incident_keys(engine: Engine, limit: int = 2000) -> list[tuple[str, str, str]]:
    """(key, title, status) of open incidents first, then the newest others."""
    cols = INCIDENTS.c
    with db.reading(engine) as conn:
        rows = conn.execute(select(cols.key, cols.title, cols.status)
                            .order_by((cols.status == "resolved"), cols.created_at.desc())
                            .limit(limit))
        return [(r.key, r.title, r.status) for r in rows]


class ConsoleCommands(Provider):
    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app: Any = self.app
        out: list[tuple[str, Callable[[], Any], str]] = [
            (_("Go to {screen}").format(screen=title), partial(app.action_screen, name),
             _("screen {number}").format(number=number))
            for number, name, title in SCREENS]
        screen = self.screen
        out += [(_("{action} (current incident)").format(action=title),
                 partial(screen.run_action, action), action)
                for action, title in ACTIONS if hasattr(screen, f"action_{action}")]
        return out

    async def discover(self) -> Hits:
        for text, run, help_text in self._commands():
            yield DiscoveryHit(text, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, run, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=help_text)
        app: Any = self.app
        keys = await asyncio.to_thread(incident_keys, app.ctx.store.engine)
        for key, title, status in keys:
            text = f"{key} {title}"
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(app.open_incident, key),
                          help=_("open {key} ({status})").format(key=key, status=status))

