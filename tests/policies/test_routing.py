"""Routing order, continue, metadata escalation, dedup keys, priorities, maintenance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from policies import Alert, PolicySet, fingerprint, priority, route
from policies.timeutil import parse_instant

from .conftest import PEOPLE

RULES = PEOPLE + """
[defaults]
escalation_policy = "default"
team = "ops"

[[teams]]
id = "ops"
members = ["alice"]

[[teams]]
id = "pay"
members = ["bob"]
escalation_policy = "pay-policy"

[[escalation_policies]]
id = "default"
levels = [{ targets = ["person:alice"] }]

[[escalation_policies]]
id = "pay-policy"
support_hours = "office"
levels = [{ targets = ["person:bob"] }]

[[escalation_policies]]
id = "db"
levels = [{ targets = ["person:carol"] }]

[[calendars]]
id = "office"
time_zone = "Europe/Berlin"
hours = [{ days = ["mon", "tue", "wed", "thu", "fri"], from = "09:00", to = "17:00" }]

[[routes]]
name = "vip"
match = { labels = ["tier=vip"] }
set = { priority = "P1", urgency = "high" }
continue = true

[[routes]]
name = "flap"
match = { severity = ["sev3", "sev4"] }
repeat = { count = 3, window = "10m", raise_to = "sev2" }
continue = true

[[routes]]
name = "pay"
match = { service = ["pay-*", "checkout"], text = "(?i)card|payment" }
set = { team = "pay", priority = "P3", urgency = "support_hours", dedup_key = "{service}:{labels[a]}" }

[[routes]]
name = "db"
match = { service = "pg-*", labels = ["env=~prod|live", "role!=replica"] }
set = { policy = "db", impact = "low" }

[[routes]]
name = "never reached for pay"
match = { service = "pay-*" }
set = { policy = "db" }

[[maintenance]]
id = "mw"
services = ["pg-*"]
labels = ["cluster=eu"]
start = "2026-12-12 22:00 Europe/Berlin"
end = "2026-12-13 04:00 Europe/Berlin"
"""

NOW = parse_instant("2026-12-09 11:00 Europe/Berlin")  # a Wednesday, office hours


def test_first_match_wins_and_continue_fills_the_rest(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(RULES)
    a = Alert("pay-api", "sev3", "card declined spike", {"a": "Declines", "tier": "vip"})
    d = route(a, ps, NOW)
    assert d.matched == ("vip", "flap", "pay")
    assert d.priority == "P1"  # the VIP rule set it first; pay's P3 does not override
    assert d.team == "pay" and d.policy == "pay-policy"  # policy from the team's default
    assert d.urgency == "high"
    assert d.dedup_key == "pay-api:Declines"
    # without the VIP label the pay rule's own priority and support-hours urgency apply
    d2 = route(Alert("pay-api", "sev3", "payment errors", {"alertname": "E"}), ps, NOW)
    assert (d2.priority, d2.urgency, d2.matched) == ("P3", "high", ("flap", "pay"))
    night = parse_instant("2026-12-09 23:00 Europe/Berlin")
    assert route(Alert("pay-api", "sev3", "payment errors"), ps, night).urgency == "low"


def test_text_and_label_matchers(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(RULES)
    # text does not match: falls through to "never reached for pay"
    d = route(Alert("pay-api", "sev2", "disk full"), ps, NOW)
    assert d.matched == ("never reached for pay",) and d.policy == "db"
    d = route(Alert("pg-main", "sev2", "lag", {"env": "live", "role": "primary"}), ps, NOW)
    assert d.policy == "db" and d.priority == "P4"  # impact low x urgency(sev2)=medium
    d = route(Alert("pg-main", "sev2", "lag", {"env": "staging"}), ps, NOW)
    assert d.matched == () and d.policy == "default" and d.team == "ops"
    d = route(Alert("pg-main", "sev2", "lag", {"env": "prod", "role": "replica"}), ps, NOW)
    assert d.matched == ()


def test_repeated_alerts_raise_severity(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(RULES)
    a = Alert("web", "sev4", "flapping", {"alertname": "Flap"})
    assert route(a, ps, NOW).severity == "sev4"
    one = [NOW - timedelta(minutes=2)]
    assert route(a, ps, NOW, history=one).severity == "sev4"
    two = [NOW - timedelta(minutes=2), NOW - timedelta(minutes=9)]
    d = route(a, ps, NOW, history=two)
    assert d.severity == "sev2" and d.raised_by_repeat and d.priority == "P2"
    old = [NOW - timedelta(minutes=2), NOW - timedelta(minutes=11)]
    assert route(a, ps, NOW, history=old).severity == "sev4"


def test_default_dedup_key_is_a_label_fingerprint_not_the_summary(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(RULES)
    a = Alert("web", "sev2", "High latency", {"alertname": "Latency", "instance": "a"})
    b = Alert("web", "sev2", "High latency", {"alertname": "Latency", "instance": "b"})
    c = Alert("web", "sev1", "Different words", {"instance": "a", "alertname": "Latency"})
    ka, kb, kc = (route(x, ps, NOW).dedup_key for x in (a, b, c))
    assert ka != kb, "same summary, different labels: different incidents"
    assert ka == kc, "same labels: same incident whatever the summary or severity"
    assert fingerprint(a, ["alertname"]) == fingerprint(b, ["alertname"])
    assert fingerprint(Alert("x", summary="s1")) != fingerprint(Alert("x", summary="s2"))


def test_a_decision_derives_its_dedup_key_once_and_compares_by_what_it_is_derived_from(
        make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(RULES + """
[[routes]]
name = "keyed"
match = { service = "keyed" }
set = { dedup_key = "{service}/{fingerprint}" }
""")
    a = Alert("keyed", "sev2", "High latency", {"alertname": "Latency"})
    d = route(a, ps, NOW)
    assert d.dedup_key == f"keyed/{fingerprint(a)}" == d.dedup_key
    again = route(a, ps, NOW)
    assert again == d and hash(again) == hash(d), "one read or none: the same decision"
    other = route(Alert("keyed", "sev2", "High latency", {"alertname": "Errors"}), ps, NOW)
    assert other != d and other.dedup_key != d.dedup_key


def test_itil_priority_matrix() -> None:
    assert priority("high", "high") == "P1"
    assert priority("high", "medium") == priority("medium", "high") == "P2"
    assert priority("high", "low") == priority("medium", "medium") == priority("low", "high") == "P3"
    assert priority("medium", "low") == priority("low", "medium") == priority("low", "low") == "P4"
    custom = {"low": {"low": "P1"}}
    assert priority("low", "low", custom) == "P1"  # type: ignore[arg-type]
    assert priority("high", "high", custom) == "P1"  # falls back to ITIL


def test_maintenance_window_marks_the_decision(make_ps: Callable[..., PolicySet]) -> None:
    ps = make_ps(RULES)
    a = Alert("pg-main", "sev1", "down", {"cluster": "eu"})
    inside = parse_instant("2026-12-13 01:00 Europe/Berlin")
    d = route(a, ps, inside)
    assert d.suppressed_by_maintenance == "mw" and d.maintenance_mode == "record_only"
    assert route(a, ps, parse_instant("2026-12-13 04:00 Europe/Berlin")).suppressed_by_maintenance is None
    other = Alert("pg-main", "sev1", "down", {"cluster": "us"})
    assert route(other, ps, inside).suppressed_by_maintenance is None
    assert datetime(2026, 1, 1, tzinfo=UTC) < inside


def test_examples_vip_rule(examples: PolicySet) -> None:
    d = route(Alert("checkout", "sev3", "slow", {"customer_tier": "vip", "alertname": "Slow"}),
              examples, NOW)
    assert (d.priority, d.team, d.policy, d.urgency) == ("P1", "payments", "payments", "high")
