"""Two consoles with engines and synced stores: a healthy mesh pages each step once;
a partition pages it on both sides, and after healing nobody pages it again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import policies
from console.engine.cycle import Engine
from console.engine.incidents import open_or_repeat
from console.engine.ownership import Ownership
from console.store.store import Store
from policies import Alert
from tests.engine.conftest import T0, Clock, load_policies, policy_text


class Console:
    def __init__(self, path: Path, name: str, clock: Clock, ps: policies.PolicySet) -> None:
        self.store = Store.open(f"sqlite:///{path}", site_name=name, physical=clock.ms)
        self.heard: dict[str, datetime] = {}
        self.engine = Engine(self.store, lambda: ps,
                             ownership=Ownership(self.store.site.site, self.heard.get))

    def steps(self, key: str) -> list[tuple[int, int, list[str]]]:
        state = self.store.get(key)
        return [(s.loop, s.level, [a.site for a in s.attempts]) for s in state.steps]


def exchange(a: Console, b: Console) -> None:
    """A sync round both ways (the protocol itself is tested in tests/sync)."""
    for source, target in ((a, b), (b, a)):
        ops, _ = source.store.ops_after(target.store.vector(), 10_000, 1 << 30)
        target.store.receive(ops)


def setup(tmp_path: Path) -> tuple[Clock, Console, Console, str]:
    clock = Clock()
    ps = load_policies(tmp_path / "policies", policy_text())
    jkt = Console(tmp_path / "jkt.db", "JKT", clock, ps)
    ber = Console(tmp_path / "ber.db", "BER", clock, ps)
    alert = Alert(service="web", severity="sev1", summary="checkout is down")
    with jkt.store.writing() as w:
        key = open_or_repeat(w, "test", alert=alert, decision=policies.route(alert, ps, T0),
                             dedup_key="x", now=T0).state.key
    exchange(jkt, ber)
    return clock, jkt, ber, key


def tick_both(clock: Clock, jkt: Console, ber: Console, *, connected: bool) -> None:
    if connected:  # each heard from the other just now
        jkt.heard[ber.store.site.site] = clock.now
        ber.heard[jkt.store.site.site] = clock.now
    jkt.engine.tick(clock.now)
    ber.engine.tick(clock.now)
    if connected:
        exchange(jkt, ber)


def test_a_healthy_mesh_pages_every_step_exactly_once(tmp_path: Path) -> None:
    clock, jkt, ber, key = setup(tmp_path)
    for _ in range(40):  # 20 minutes in 30 s rounds: level 1, level 2, the repeat
        tick_both(clock, jkt, ber, connected=True)
        clock.advance(seconds=30)
    owner = jkt.store.site.site
    assert jkt.steps(key) == ber.steps(key) == [(0, 1, [owner]), (0, 2, [owner]), (1, 1, [owner])]


def test_a_partition_pages_on_both_sides_then_never_again(tmp_path: Path) -> None:
    clock, jkt, ber, key = setup(tmp_path)
    tick_both(clock, jkt, ber, connected=True)  # level 1, by the owner, seen by both
    cut_at = clock.advance(seconds=30)
    while clock.now < cut_at + timedelta(minutes=9):  # level 2 falls due at +5 min, cut off
        tick_both(clock, jkt, ber, connected=False)
        clock.advance(seconds=15)
    jkt_site, ber_site = jkt.store.site.site, ber.store.site.site
    assert jkt.steps(key) == [(0, 1, [jkt_site]), (0, 2, [jkt_site])]
    assert ber.steps(key) == [(0, 1, [jkt_site]), (0, 2, [ber_site])]  # stepped in for the owner

    exchange(jkt, ber)  # healed
    before = jkt.steps(key)
    assert before[1] == (0, 2, [jkt_site, ber_site]) or before[1] == (0, 2, [ber_site, jkt_site])
    tick_both(clock, jkt, ber, connected=True)
    assert jkt.steps(key) == ber.steps(key) == before  # level 2 is not paged a third time


def test_stand_ins_take_turns_in_a_stable_order_per_incident() -> None:
    heard = {"owner": T0}
    a, b = (Ownership(site, heard.get) for site in ("a" * 32, "b" * 32))
    sites = ["owner", "a" * 32, "b" * 32]
    assert sorted((a.rank("inc-1", "owner", sites), b.rank("inc-1", "owner", sites))) == [0, 1]
    first = a if a.rank("inc-1", "owner", sites) == 0 else b
    second = b if first is a else a
    due_at = T0 + timedelta(minutes=5)
    # While the owner was heard from lately, both wait past the grace.
    assert first.hold_until("owner", "inc-1", due_at, due_at, sites) == due_at + first.step
    late = due_at + first.step
    assert first.hold_until("owner", "inc-1", due_at, late, sites) is None
    assert second.hold_until("owner", "inc-1", due_at, late, sites) == due_at + 2 * second.step
    assert a.hold_until("a" * 32, "inc-1", due_at, due_at, sites) is None  # an owner acts at once
