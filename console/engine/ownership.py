"""Which console runs an incident's timers, and when another one steps in (DESIGN §5).

The console that created an incident owns it. Every other console holds back
while it has heard from the owner recently; once the owner has been silent for
the takeover grace, the others step in one after another, in an order that
differs per incident (so the load spreads), each a `step` later than the one
before. A healthy mesh therefore pages once, and a partition pages on each
side at least once: fail open, a page too many rather than none. After the
partition heals, both executions of a step are on its timeline, and the step
is not paged again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

TAKEOVER_GRACE = timedelta(seconds=60)
TAKEOVER_STEP = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Ownership:
    me: str  # this console's site id
    last_heard: Callable[[str], datetime | None]  # when we last heard from a console, by site id
    grace: timedelta = TAKEOVER_GRACE
    step: timedelta = TAKEOVER_STEP

    def rank(self, incident_id: str, owner: str, sites: Collection[str]) -> int:
        """Our place among the stand-ins for this incident: a stable shuffle per incident."""
        stand_ins = sorted(
            (set(sites) | {self.me}) - {owner},
            key=lambda site: hashlib.sha256(f"{incident_id}:{site}".encode()).digest())
        return stand_ins.index(self.me)

    def hold_until(self, owner: str, incident_id: str, due_at: datetime, now: datetime,
                   sites: Collection[str]) -> datetime | None:
        """None when this console should act on what fell due at `due_at`; otherwise
        the moment it should look again (the owner may have acted by then)."""
        if owner == self.me:
            return None
        heard = self.last_heard(owner)
        silent_since = due_at if heard is None else max(heard, due_at - self.grace)
        stagger = (self.rank(incident_id, owner, sites) + 1) * self.step
        takeover = max(due_at, silent_since + self.grace) + stagger
        return None if now >= takeover else takeover
