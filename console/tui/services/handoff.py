"""The draft handoff note for the end of this region's shift: open incidents,
what changed during the shift, and deadlines in the next hours. Sending,
receiving and acknowledging handoffs come with issue 7; until then the draft
is what the console can honestly write."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from console.store import db
from console.store.tables import Incident
from policies import PolicySet
from policies.followthesun import duties, group_on_call
from sync.tables import OpLogRow

from ..model import QueueRow

OPS = OpLogRow.__table__  # type: ignore[attr-defined]
INCIDENTS = Incident.__table__  # type: ignore[attr-defined]
HORIZON = timedelta(hours=4)


@dataclass(frozen=True, slots=True)
class Draft:
    shift: str
    shift_start: datetime
    markdown: str


def shift_window(ps: PolicySet | None, region: str | None, now: datetime) -> tuple[str, datetime]:
    """This region's current duty (since when), or the last 8 hours when it is off duty."""
    if ps is not None and region is not None:
        for group in ps.follow_the_sun.values():
            g = group_on_call(group, ps.schedules, now)
            if g.region == region and g.handoff_at is not None:
                spans = duties(group, now - timedelta(hours=24), now + timedelta(seconds=1))
                start = max((d.start for d in spans if d.region == region), default=now)
                return f"{region} until {g.handoff_at:%H:%M}Z, then {g.next_region}", start
    return "the last 8 hours", now - timedelta(hours=8)


def draft(engine: Engine, rows: list[QueueRow], ps: PolicySet | None, region: str | None,
          now: datetime) -> Draft:
    shift, start = shift_window(ps, region, now)
    stamp = f"{int(start.timestamp() * 1000):013d}"
    with db.reading(engine) as conn:
        changed = list(conn.execute(
            select(INCIDENTS.c.key, OPS.c.kind).join(INCIDENTS, INCIDENTS.c.id == OPS.c.entity)
            .where(OPS.c.hlc >= stamp)))
    open_rows = [r for r in rows if r.status != "resolved"]
    lines = [f"# Handoff: {shift}", "", f"## Open incidents ({len(open_rows)})", ""]
    lines += [f"- **{r.key}** {r.severity} {r.priority or ''} {r.status}/{r.stage}: {r.title}"
              for r in open_rows[:20]]
    if len(open_rows) > 20:
        lines.append(f"- … and {len(open_rows) - 20} more")
    per_key = Counter(key for key, _ in changed)
    kinds = Counter(kind for _, kind in changed)
    lines += ["", f"## This shift (since {start:%H:%M}Z): {len(changed)} changes", ""]
    lines += [f"- {n} × {kind}" for kind, n in kinds.most_common()]
    lines += [f"- {key}: {n} changes" for key, n in per_key.most_common(8)]
    soon = sorted((r for r in open_rows if r.deadline is not None and r.deadline <= now + HORIZON),
                  key=lambda r: r.deadline or now)
    lines += ["", f"## Deadlines in the next {int(HORIZON.total_seconds() // 3600)} hours", ""]
    lines += [f"- {r.deadline:%H:%M}Z {r.key} {r.deadline_kind}"
              + (" (passed)" if r.deadline and r.deadline < now else "") for r in soon[:15]]
    if not soon:
        lines.append("- none")
    return Draft(shift, start, "\n".join(lines))
