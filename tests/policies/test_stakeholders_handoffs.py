"""The `[[stakeholders]]` and `[[handoffs]]` tables: optional, checked, and outside older digests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

import policies
from policies import PolicyError, PolicySet
from tests.policies.conftest import EXAMPLES, PEOPLE

GROUP = PEOPLE + """
[[teams]]
id = "web"
members = ["alice"]

[[schedules]]
id = "eu"
time_zone = "Europe/Berlin"
[[schedules.layers]]
rotation = "daily"
start = 2026-01-05
members = ["alice"]

[[follow_the_sun]]
id = "sre"
[[follow_the_sun.regions]]
name = "berlin"
time_zone = "Europe/Berlin"
working_hours = { from = "09:00", to = "21:00" }
schedule = "eu"
[[follow_the_sun.regions]]
name = "nyc"
time_zone = "America/New_York"
working_hours = { from = "15:00", to = "03:00" }
schedule = "eu"
"""

EXTRA = """
[[stakeholders]]
id = "web-status"
teams = ["web"]
priorities = ["P1", "P2"]
channels = [{ channel = "slack", address = "https://hooks.example.org/status" },
            { channel = "email", address = "status@example.org" }]

[[stakeholders]]
id = "everything-db"
services = ["db-*"]
channels = [{ channel = "webhook", address = "https://hooks.example.org/db" }]

[[handoffs]]
group = "sre"
draft_before = "45m"
ack_timeout = "20m"
leads = { berlin = "alice", nyc = "carol" }
"""


def test_stakeholders_match_on_team_service_and_priority(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(GROUP + EXTRA)
    assert [s.id for s in ps.stakeholders_for("web", "checkout", "P1")] == ["web-status"]
    assert ps.stakeholders_for("web", "checkout", "P3") == []
    assert [s.id for s in ps.stakeholders_for(None, "db-main", None)] == ["everything-db"]
    assert [c.channel for c in ps.stakeholders["web-status"].channels] == ["slack", "email"]


def test_handoff_rules_and_their_defaults(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(GROUP + EXTRA)
    rules = ps.handoff_rules("sre")
    assert (rules.draft_before, rules.ack_timeout) == (timedelta(minutes=45), timedelta(minutes=20))
    assert rules.leads == {"berlin": "alice", "nyc": "carol"}
    default = make_ps(GROUP).handoff_rules("sre")
    assert (default.draft_before, default.ack_timeout, default.leads) == (
        timedelta(minutes=30), timedelta(minutes=30), {})


def test_references_are_checked(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(GROUP + """
    [[stakeholders]]
    id = "x"
    teams = ["nope"]
    channels = [{ channel = "email", address = "x@example.org" }]

    [[handoffs]]
    group = "sre"
    leads = { tokyo = "zed" }
    """.replace("\n    ", "\n"))
    messages = [p.message for p in policies.check(ps, datetime(2026, 3, 2, tzinfo=UTC), days=1)
                if p.severity == "error"]
    assert "unknown team 'nope'" in messages
    assert "group 'sre' has no region 'tokyo'" in messages
    assert "unknown person 'zed'" in messages


def test_bad_addresses_are_schema_errors(make_ps: Callable[..., PolicySet]) -> None:
    with pytest.raises(PolicyError, match="not an http"):
        make_ps(GROUP + """
[[stakeholders]]
id = "x"
channels = [{ channel = "slack", address = "hooks.example.org" }]
""")


def test_a_set_without_the_new_tables_keeps_its_digest(make_ps: Callable[..., PolicySet]) -> None:
    """Peers compare digests: adding the tables to the language must not change old sets'."""
    assert policies.load(EXAMPLES).digest.startswith("0f5554c67bc83540")
    assert make_ps(GROUP).digest != make_ps(GROUP + EXTRA).digest
