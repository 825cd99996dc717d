"""What the sync protocol needs from a store, whatever the store folds ops into."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from sync.ops import Op

Status = Literal["accepted", "duplicate", "held"]


@dataclass(frozen=True, slots=True)
class Outcome:
    op_id: str
    status: Status
    reason: str = ""


class Replica(Protocol):
    """Blocking calls: the server and client run them in worker threads."""

    @property
    def site(self) -> str: ...

    @property
    def name(self) -> str: ...

    def vector(self) -> dict[str, int]: ...

    def ops_after(self, vector: Mapping[str, int], limit: int, max_bytes: int) -> tuple[list[Op], bool]:
        """Ops the holder of `vector` lacks (contiguous per site), and whether more remain."""
        ...

    def site_ops(self, site: str, after: int, upto: int, limit: int) -> list[Op]:
        """At most `limit` ops of one site with `after < seq <= upto`, in seq order:
        a snapshot reads the log a page at a time."""
        ...

    def apply(self, ops: Sequence[Op]) -> list[Outcome]:
        """Store and fold ops in one transaction; refuse the whole batch by raising
        CorruptOpError or EquivocationError. Ops stamped too far in the future are
        `held`: not stored now, fetched again by a later pull."""
        ...

    def apply_counts(self, ops: Sequence[Op]) -> Counter[Status]:
        """`apply`, counted by status: what a snapshot stream keeps of lots of thousands."""
        ...

    def policy_digest(self) -> str | None: ...
