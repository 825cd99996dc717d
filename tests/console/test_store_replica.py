"""StoreReplica: what the sync protocol's ops do to a real store."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from console.store.store import Store
from console.sync_replica import StoreReplica
from sync.ops import Op
from tests.console.opfactory import OpFactory


def _lots() -> list[list[Op]]:
    """Lots with new ops, ops sent twice (in one lot and again later), and ops
    stamped an hour ahead, which wait with the rest of their site's chain."""
    make, now = OpFactory(), int(time.time() * 1000)
    entity = make.entity(1)
    trigger = make.op("a", now, entity, "trigger", {
        "key": "BER-1", "key_number": 1, "title": "disk full", "service": "db", "severity": "sev2"})
    note = make.op("a", now + 1, entity, "note", {"text": "looking"})
    ahead = make.op("b", now + 3_600_000, entity, "note", {"text": "from the future"})
    behind = make.op("b", now + 2, entity, "ack", {"epoch": 0})  # seq 2 of b: waits for seq 1
    return [[trigger, note, trigger], [note, ahead, behind, make.op("a", now + 3, entity, "ack",
                                                                    {"epoch": 0})]]


def test_apply_counts_count_what_apply_reports_and_store_the_same(tmp_path: Path) -> None:
    with (Store.open(f"sqlite:///{tmp_path / 'listed.db'}", site_name="JKT") as listed,
          Store.open(f"sqlite:///{tmp_path / 'counted.db'}", site_name="JKT") as counted):
        seen = []
        for lot in _lots():
            outcomes = StoreReplica(listed).apply(lot)
            assert [o.op_id for o in outcomes] == [op.op_id for op in lot]
            counts = StoreReplica(counted).apply_counts(lot)
            assert counts == Counter(o.status for o in outcomes)
            seen.append(counts)
        assert seen == [Counter(accepted=3), Counter(duplicate=1, held=2, accepted=1)]
        assert counted.projection() == listed.projection()
        assert _remote_vector(counted) == _remote_vector(listed) != {}


def _remote_vector(store: Store) -> dict[str, int]:
    return {site: seq for site, seq in store.vector().items() if site != store.site.site}
