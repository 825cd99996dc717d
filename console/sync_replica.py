"""The incident store as the sync protocol sees it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from console.domain.fold import wall_ms
from console.store import db
from console.store.store import Store
from sync import snapshot
from sync.oplog import BadOpError
from sync.ops import Op
from sync.replica import Outcome, Status


class StoreReplica:
    def __init__(self, store: Store, policy_digest: Callable[[], str | None] = lambda: None,
                 on_new_ops: Callable[[], None] | None = None) -> None:
        """`on_new_ops` runs after a batch brought anything new (the engine looks at once)."""
        self.store = store
        self._policy_digest = policy_digest
        self._on_new_ops = on_new_ops
        # Origins caught equivocating or sending corrupt ops: their ops wait, loudly,
        # until a person sorts out the cloned store; everyone else's keep flowing.
        self.quarantined: dict[str, str] = {}

    @property
    def site(self) -> str:
        return self.store.site.site

    @property
    def name(self) -> str:
        return self.store.site.name

    def vector(self) -> dict[str, int]:
        return self.store.vector()

    def ops_after(self, vector: Mapping[str, int], limit: int, max_bytes: int) -> tuple[list[Op], bool]:
        return self.store.ops_after(vector, limit, max_bytes)

    def site_ops(self, site: str, after: int, upto: int, limit: int) -> list[Op]:
        with db.reading(self.store.engine) as conn:
            return snapshot.site_ops(conn, site, after, upto, limit)

    def apply(self, ops: Sequence[Op]) -> list[Outcome]:
        """Ops stamped beyond this clock's tolerance wait (with the rest of their
        site's chain behind them) instead of dragging the clock forward."""
        held, new = self._receive(ops)
        return [held.get(op.op_id) or Outcome(op.op_id, "accepted" if op.op_id in new else "duplicate")
                for op in ops]

    def apply_counts(self, ops: Sequence[Op]) -> Counter[Status]:
        """`apply`, counted by status without an `Outcome` per op: what a snapshot
        stream keeps of its lots of thousands."""
        held, new = self._receive(ops)
        counts: Counter[Status] = Counter()
        for op in ops:
            op_id = op.op_id
            counts["held" if op_id in held else "accepted" if op_id in new else "duplicate"] += 1
        return counts

    def _receive(self, ops: Sequence[Op]) -> tuple[dict[str, Outcome], set[str]]:
        """Store the ops that may be stored now: the outcomes of those held back,
        and the ids of those that were new."""
        clock = self.store.clock
        horizon = clock.physical() + clock.max_offset_ms
        held: dict[str, Outcome] = {}
        sites_held: set[str] = set()
        ready: list[Op] = []
        for op in sorted(ops, key=lambda o: (o.site, o.seq)):
            if op.site in self.quarantined:
                held[op.op_id] = Outcome(op.op_id, "held", f"site quarantined: "
                                         f"{self.quarantined[op.site]}")
            elif op.site in sites_held or wall_ms(op.hlc) > horizon:
                sites_held.add(op.site)
                ahead = wall_ms(op.hlc) - clock.physical()
                held[op.op_id] = Outcome(
                    op.op_id, "held", f"stamped {ahead / 1000:.0f} s ahead of this console's clock")
            else:
                ready.append(op)
        try:
            new = {op.op_id for op in self.store.receive(ready)} if ready else set()
        except BadOpError as exc:
            self.quarantined[exc.site] = str(exc)
            raise
        if new and self._on_new_ops is not None:
            self._on_new_ops()
        return held, new

    def policy_digest(self) -> str | None:
        return self._policy_digest()
