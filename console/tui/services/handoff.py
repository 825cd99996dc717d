"""The Handoff screen's data and actions, through `console.handoff`: the same
drafts, handoffs and ops as `sunrelay handoff draft|send|ack|list|show`.

This console's shift is its region's duty in its follow-the-sun group (the
region whose schedule has me; else the region on duty), ending at the next
hand-off; its draft is the handoff the runner (or `handoff draft`) made for
that hand-off. Received handoffs are those sent to my region and not yet
acknowledged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from console.handoff import store as handoffs
from console.handoff.draft import Shift, shifts_ending
from console.handoff.runner import new_draft
from console.handoff_cli import status_lines
from console.i18n import _, _l
from console.store.store import Store
from console.store.tables import Handoff
from policies import PolicySet, group_on_call

HISTORY = 20
# A handoff's status as people read it; `Item.status` keeps the store's value.
STATUSES = {"draft": _l("draft"), "sent": _l("sent"), "acknowledged": _l("acknowledged")}


@dataclass(frozen=True, slots=True)
class Item:
    """One handoff as the screen shows it; `standing` says where it stands (as `handoff show`)."""

    id: str
    ref: str  # the last 8 characters, as `handoff list` shows
    status: str  # draft, sent or acknowledged
    automatic: bool
    route: str  # "jakarta → berlin (sre)"
    handoff_at: datetime
    markdown: str
    standing: list[str]  # Markdown bullets

    @property
    def status_text(self) -> str:
        """'sent (auto)' / 'dikirim (otomatis)'."""
        return str(STATUSES.get(self.status, self.status)) + (_(" (auto)") if self.automatic else "")


@dataclass(frozen=True, slots=True)
class Handoffs:
    shift: Shift | None
    problem: str | None  # why there is no shift to draft for
    draft: Item | None  # this shift's handoff (a draft, or already sent)
    received: list[Item]  # sent to my region, waiting for an acknowledgement
    history: list[Item]


def item(row: Handoff) -> Item:
    return Item(row.id, row.id[-8:], row.status, row.automatic,
                f"{row.from_region} → {row.to_region} ({row.group_id})",
                row.handoff_at, row.markdown, status_lines(row))



def my_shift(ps: PolicySet | None, region: str | None, now: datetime) -> tuple[Shift | None, str | None]:
    """The shift of my region (else the region on duty) that ends next, or why there is none."""
    if ps is None:
        return None, _("no policy set loaded")
    groups = sorted(ps.follow_the_sun.values(), key=lambda g: g.id)
    if not groups:
        return None, _("no follow-the-sun group in the policy set")
    group = next((g for g in groups if any(r.name == region for r in g.regions)), groups[0])
    wanted = region if any(r.name == region for r in group.regions) else \
        group_on_call(group, ps.schedules, now).region
    found = next((s for s in shifts_ending(group, now, now + timedelta(days=9))
                  if s.region == wanted), None)
    if found is None:
        return None, _("group {group} has no hand-off from region {region}").format(
            group=group.id, region=wanted)
    return found, None


def load(store: Store, ps: PolicySet | None, region: str | None, now: datetime) -> Handoffs:
    shift, problem = my_shift(ps, region, now)
    rows = handoffs.handoffs(store)
    mine = next((r for r in rows if shift is not None and r.group_id == shift.group
                 and r.from_region == shift.region and r.handoff_at == shift.end), None)
    received = [r for r in rows if r.status == "sent" and r is not mine
                and (region is None or r.to_region == region)]
    shown = {r.id for r in received} | ({mine.id} if mine else set())
    return Handoffs(shift, problem, item(mine) if mine else None, [item(r) for r in received],
                    [item(r) for r in rows if r.id not in shown][:HISTORY])


def draft_now(store: Store, ps: PolicySet, shift: Shift, now: datetime, actor: str) -> Item:
    """Draft the note for `shift` now (the runner would, `draft_before` the hand-off)."""
    return item(new_draft(store, ps, shift, now, actor))


def save(store: Store, ref: str, actor: str, markdown: str) -> Item:
    return item(handoffs.edit(store, ref, actor, markdown))


def send(store: Store, ref: str, actor: str, markdown: str) -> Item:
    """Hand the note over as it stands in the editor."""
    return item(handoffs.send(store, ref, actor, markdown))


def ack(store: Store, ref: str, actor: str) -> Item:
    return item(handoffs.ack(store, ref, actor))
