"""The post-incident Markdown of a known incident, against a golden file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from console.reports.render import post_incident
from policies import PolicySet
from tests.console.opfactory import OpFactory
from tests.reports.conftest import ms

GOLDEN = Path(__file__).parent / "golden" / "post_incident_JKT-7.md"


def test_post_incident_markdown(ps: PolicySet) -> None:
    f = OpFactory()
    e = f.entity(1)
    ops = [
        f.op(
            "a",
            ms(2, 10),
            e,
            "trigger",
            {
                "key": "JKT-7",
                "key_number": 7,
                "title": "checkout 5xx",
                "service": "checkout",
                "severity": "sev1",
                "stage": "new",
                "labels": {},
                "priority": "P1",
                "team": "web",
            },
            actor="alertmanager",
        ),
        f.op(
            "a",
            ms(2, 10),
            e,
            "escalate",
            {
                "epoch": 0,
                "loop": 0,
                "level": 1,
                "at_ms": ms(2, 10),
                "reason": "paged alice (policy web, level 1)",
                "pages": [["alice", "console"], ["alice", "webhook"]],
            },
            actor="engine",
        ),
        f.op(
            "a",
            ms(2, 10) + 1500,
            e,
            "notify",
            {
                "outbox": 1,
                "cause": "escalate:0:0:0",
                "person": "alice",
                "channel": "console",
                "address": "alice",
                "outcome": "sent",
                "attempt": 1,
            },
            actor="dispatcher",
        ),
        f.op(
            "a",
            ms(2, 10) + 1600,
            e,
            "notify",
            {
                "outbox": 2,
                "cause": "escalate:0:0:0",
                "person": "alice",
                "channel": "webhook",
                "address": "https://hooks.example.org/alice",
                "outcome": "failed",
                "attempt": 1,
                "error": "HTTP 500",
            },
            actor="dispatcher",
        ),
        f.op("a", ms(2, 10, 1), e, "retrigger", {"summary": "checkout 5xx"}, actor="alertmanager"),
        f.op(
            "a",
            ms(2, 10, 15),
            e,
            "escalate",
            {
                "epoch": 0,
                "loop": 0,
                "level": 2,
                "at_ms": ms(2, 10, 15),
                "reason": "paged bob (policy web, level 2)",
                "pages": [["bob", "console"]],
            },
            actor="engine",
        ),
        f.op(
            "a",
            ms(2, 10, 15) + 800,
            e,
            "notify",
            {
                "outbox": 3,
                "cause": "escalate:0:0:1",
                "person": "bob",
                "channel": "console",
                "address": "bob",
                "outcome": "sent",
                "attempt": 1,
            },
            actor="dispatcher",
        ),
        f.op("a", ms(2, 10, 18), e, "ack", {"epoch": 0, "supersedes": []}, actor="bob"),
        f.op("a", ms(2, 10, 25), e, "note", {"text": "rolled back deploy 4411"}, actor="bob"),
        f.op(
            "a", ms(2, 10, 30), e, "update", {"text": "Checkout errors mitigated; monitoring."}, actor="bob"
        ),
        f.op("a", ms(2, 11, 5), e, "resolve", {"epoch": 0}, actor="bob"),
    ]
    assert post_incident(ops, ps, datetime(2026, 3, 3, tzinfo=UTC)) == GOLDEN.read_text()
