"""Each report figure on a hand-built op log with known answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from console.reports.figures import report
from console.reports.render import render
from policies import PolicySet
from sync.ops import Op
from tests.console.opfactory import OpFactory
from tests.reports.conftest import ms


class Log:
    """Incidents written op by op, as consoles would have recorded them."""

    def __init__(self) -> None:
        self.f = OpFactory()
        self.ops: dict[str, list[Op]] = {}
        self.n = 0

    def incident(self, at: int, service: str = "web", priority: str | None = "P1") -> str:
        self.n += 1
        entity = self.f.entity(self.n)
        extra: dict[str, Any] = {"key": f"JKT-{self.n}", "service": service}
        if priority:
            extra["priority"] = priority
        self.ops[entity] = [self.f.trigger("a", at, entity, self.n, **extra)]
        return entity

    def add(self, entity: str, at: int, kind: str, actor: str = "alice", site: str = "a",
            **payload: Any) -> None:
        self.ops[entity].append(self.f.op(site, at, entity, kind, payload, actor=actor))

    def page(self, entity: str, at: int, level: int, person: str, loop: int = 0, site: str = "a") -> None:
        self.add(entity, at, "escalate", actor="engine", site=site, epoch=0, loop=loop, level=level,
                 at_ms=at, reason="", pages=[[person, "console"]])


@pytest.fixture
def log() -> Log:
    log = Log()
    one = log.incident(ms(2, 10))
    log.page(one, ms(2, 10), 1, "alice")
    log.add(one, ms(2, 10, 4), "ack", epoch=0, supersedes=[])
    log.add(one, ms(2, 11), "resolve", epoch=0)
    two = log.incident(ms(3, 10))
    log.page(two, ms(3, 10), 1, "alice")
    log.page(two, ms(3, 10, 15), 2, "bob")
    log.page(two, ms(3, 10, 15), 2, "bob", site="b")  # the same step on a second console
    log.add(two, ms(3, 10, 20), "ack", actor="bob", epoch=0, supersedes=[])
    log.add(two, ms(3, 13), "resolve", actor="bob", epoch=0)
    three = log.incident(ms(4, 10), service="db", priority="P2")  # no SLA for P2 here
    log.add(three, ms(4, 10, 1), "retrigger")
    log.add(three, ms(4, 10, 2), "retrigger")
    log.page(three, ms(4, 10), 1, "alice")
    log.page(three, ms(4, 10, 10), 2, "bob")
    log.page(three, ms(4, 10, 30), 1, "alice", loop=1)  # the repeat loop: a second escalation
    log.add(three, ms(4, 10, 40), "ack", epoch=0, supersedes=[])
    old = log.incident(ms(20, 10, month=2))  # before the window
    log.add(old, ms(20, 10, 5, month=2), "ack", epoch=0, supersedes=[])
    return log


SINCE, NOW = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC)


def test_volume_mtta_mttr(log: Log, ps: PolicySet) -> None:
    r = report(log.ops, ps, SINCE, NOW)["all"]
    assert r["incidents"] == 3
    mtta, mttr = r["mtta"], r["mttr"]
    assert (mtta.count, round(mtta.mean, 3), mtta.median, mtta.p90) == (3, 21.333, 20, 40)
    assert (mttr.count, mttr.mean, mttr.median, mttr.p90) == (2, 120, 120, 180)


def test_escalation_rates_and_time_to_escalate(log: Log, ps: PolicySet) -> None:
    r = report(log.ops, ps, SINCE, NOW)["all"]
    assert r["escalation_rate"] == pytest.approx(2 / 3)
    assert r["repeat_escalation_rate"] == pytest.approx(1 / 3)
    assert (r["time_to_escalate"].count, r["time_to_escalate"].median) == (2, 12.5)


def test_sla_attainment_and_breaches(log: Log, ps: PolicySet) -> None:
    r = report(log.ops, ps, SINCE, NOW)
    assert (r["all"]["sla_ack"], r["all"]["sla_resolve"]) == (0.5, 0.5)
    assert [(b.key, b.sla, b.due_at) for b in r["sla_breaches"]] == [
        ("JKT-2", "ack", datetime(2026, 3, 3, 10, 10, tzinfo=UTC)),
        ("JKT-2", "resolve", datetime(2026, 3, 3, 12, 0, tzinfo=UTC)),
    ]


def test_grouped_by_service_and_person(log: Log, ps: PolicySet) -> None:
    by_service = report(log.ops, ps, SINCE, NOW, by="service")["groups"]
    assert {k: v["incidents"] for k, v in by_service.items()} == {"db": 1, "web": 2}
    assert by_service["web"]["mttr"].mean == 120
    by_person = report(log.ops, ps, SINCE, NOW, by="person")["groups"]
    assert {k: v["incidents"] for k, v in by_person.items()} == {"alice": 2, "bob": 1}


def test_noisiest_services_and_dedup_counts(log: Log, ps: PolicySet) -> None:
    assert report(log.ops, ps, SINCE, NOW)["noisiest_services"] == [
        {"service": "db", "incidents": 1, "alerts": 3, "deduplicated": 2},
        {"service": "web", "incidents": 2, "alerts": 2, "deduplicated": 0},
    ]


def test_handoff_delay(log: Log, ps: PolicySet) -> None:
    header = {"group": "sre", "from_region": "jakarta", "to_region": "berlin",
              "shift_start_ms": ms(2, 1), "handoff_at_ms": ms(2, 9), "markdown": "# x", "facts": {}}
    for n, (sent, acked) in enumerate(((ms(2, 9), ms(2, 9, 12)), (ms(3, 9), None))):
        entity = log.f.entity(100 + n)
        log.ops[entity] = [log.f.op("a", sent, entity, "handoff_send", {**header, "automatic": False})]
        if acked:
            log.add(entity, acked, "handoff_ack", actor="anna")
    h = report(log.ops, ps, SINCE, NOW)["handoffs"]
    assert (h["sent"], h["unacknowledged"], h["delay"].mean) == (2, 1, 12)


def test_pages_outside_working_hours_and_nights_across_the_dst_change(ps: PolicySet) -> None:
    """Berlin goes to summer time on 29 March 2026 at 01:00Z; alice works Mon-Fri 09-17 local."""
    log = Log()
    monday = log.incident(ms(30, 7, 30))  # 09:30 CEST on Monday: inside (08:30 in CET terms)
    log.page(monday, ms(30, 7, 30), 1, "alice")
    friday = log.incident(ms(27, 7, 30))  # 08:30 CET on Friday: outside
    log.page(friday, ms(27, 7, 30), 1, "alice")
    night = log.incident(ms(28, 23, 30))
    log.page(night, ms(28, 23, 30), 1, "alice")  # 00:30 CET, Sunday
    log.page(night, ms(29, 1, 30), 2, "alice")  # 03:30 CEST: the same night, after the jump
    r = report(log.ops, ps, datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    [alice] = r["fatigue"]
    assert (alice["person"], alice["pages"], alice["outside_working_hours"], alice["nights_interrupted"]) == (
        "alice", 4, 3, 1)
    assert alice["pages_per_week"] == pytest.approx(4 / (6 / 7))


def test_every_format_renders(log: Log, ps: PolicySet) -> None:
    r = report(log.ops, ps, SINCE, NOW, by="service")
    assert render(r, "csv").splitlines()[:2] == [
        "service,incidents,mtta mean,mtta median,mtta p90,mttr mean,mttr median,mttr p90,escalated,"
        "repeat esc,tte median,ack SLA,resolve SLA",
        "db,1,40m,40m,40m,-,-,-,100%,100%,10m,-,-"]
    assert '"incidents": 3' in render(r, "json")
    md = render(r, "md")
    assert "| all | 3 | 21m | 20m | 40m | 2h00m | 2h00m | 3h00m | 67% | 33% | 12m | 50% | 50% |" in md
    assert render(r, "table").splitlines()[0] == (
        "On-call report, 2026-03-01 00:00:00Z – 2026-03-10 00:00:00Z")
