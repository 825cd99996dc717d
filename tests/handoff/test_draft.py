"""The draft for a shift with a known history, at an injected time."""

from __future__ import annotations

from datetime import UTC, datetime

from console.domain import commands
from console.domain.commands import Change
from console.domain.vocabulary import Kind
from console.handoff.draft import shifts_ending
from console.handoff.runner import new_draft
from console.notify.dispatcher import recorded
from console.store.store import Store
from policies import PolicySet
from tests.handoff.conftest import Clock, page


def history(store: Store, clock: Clock) -> None:
    clock.at(0, 30)
    store.trigger("mon", title="disk filling", service="postgres-main", severity="sev3", priority="P3")
    clock.at(2, 0)
    store.trigger("mon", title="checkout down", service="checkout", severity="sev1", priority="P1")
    page(store, "JKT-2", 1, ["ayu"], clock.now)
    page(store, "JKT-2", 2, ["anna"], clock.at(2, 5))
    clock.at(2, 7)
    store.act("JKT-2", "anna", commands.ack)
    clock.at(3, 0)
    store.act("JKT-2", "anna", lambda s: commands.note(s, "rolled back the deploy"))
    clock.at(4, 0)
    store.trigger("mon", title="cache misses", service="cache", severity="sev2")
    page(store, "JKT-3", 1, ["ayu"], clock.now)
    clock.at(4, 1)
    store.act("JKT-3", "ayu", commands.ack)
    clock.at(4, 30)
    store.act("JKT-3", "ayu", commands.resolve)
    clock.at(5, 0)
    store.act("JKT-2", "anna", recorded([Change(Kind.UPDATE, {"text": "mitigated; monitoring"})]))


def test_the_shift_before_berlin(ps: PolicySet) -> None:
    [shift] = shifts_ending(ps.follow_the_sun["sre"], datetime(2026, 3, 2, 8, 30, tzinfo=UTC),
                            datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    assert (shift.region, shift.next_region) == ("jakarta", "berlin")
    assert (shift.start, shift.end, shift.next_end) == (
        datetime(2026, 3, 2, 1, tzinfo=UTC), datetime(2026, 3, 2, 9, tzinfo=UTC),
        datetime(2026, 3, 3, 1, tzinfo=UTC))


def test_draft_content_for_a_known_shift(store: Store, clock: Clock, ps: PolicySet) -> None:
    history(store, clock)
    now = clock.at(8, 30)
    [shift] = shifts_ending(ps.follow_the_sun["sre"], now, datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    row = new_draft(store, ps, shift, now, "handoff")
    f = row.facts
    assert (row.status, row.from_region, row.to_region) == ("draft", "jakarta", "berlin")
    assert [(i["key"], i["status"], i["level"], i["owner"], i["next_deadline"]) for i in f["open"]] == [
        ("JKT-2", "acknowledged", 2, "anna", "2026-03-02 09:00Z"),  # the next update reminder
        ("JKT-1", "triggered", 0, None, "2026-03-02 10:06Z"),  # 80% of the 12 h ack SLA
    ]
    assert [i["key"] for i in f["opened"]] == ["JKT-2", "JKT-3"]  # JKT-1 predates the shift
    assert [(i["key"], i["resolved_by"]) for i in f["resolved"]] == [("JKT-3", "ayu")]
    assert [(n["at"], n["key"], n["kind"], n["text"]) for n in f["notes"]] == [
        ("2026-03-02 03:00Z", "JKT-2", "note", "rolled back the deploy"),
        ("2026-03-02 05:00Z", "JKT-2", "update", "mitigated; monitoring"),
    ]
    assert [(d["at"], d["key"], d["what"]) for d in f["deadlines"]] == [
        ("2026-03-02 09:00Z", "JKT-2", "status update"),
        ("2026-03-02 12:30Z", "JKT-1", "ack SLA"),
    ]
    assert [(u["at"], u["key"], u["level"], u["people"]) for u in f["unanswered_pages"]] == [
        ("2026-03-02 02:00Z", "JKT-2", 1, ["ayu"]),  # escalated to anna 5 minutes later
    ]
    assert [m["id"] for m in f["maintenance"]] == ["db-upgrade"]
    md = row.markdown
    assert md.startswith("# Handoff: jakarta → berlin (sre)\n\nShift 2026-03-02 01:00Z – 2026-03-02 09:00Z;")
    assert "| JKT-2 | sev1 | P1 | acknowledged | 2 | anna | 2026-03-02 09:00Z | checkout down |" in md
    assert "- 2026-03-02 05:00Z JKT-2 anna (update): mitigated; monitoring" in md
    assert "- 2026-03-02 02:00Z JKT-2 level 1: ayu" in md
    assert "- 2026-03-02 20:00Z – 2026-03-02 22:00Z db-upgrade (record_only; postgres-*): Postgres 17" in md
