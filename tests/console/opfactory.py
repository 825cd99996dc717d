"""Hand-made ops from several simulated sites, hashed and chained like real ones."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sync.hlc import HLC
from sync.ops import GENESIS_HASH, Op, op_hash

_salt = itertools.count(1)


@dataclass
class OpFactory:
    """Sites named by letter; each call stamps an op at the given ms (and counter)."""

    salt: int = field(default_factory=lambda: next(_salt))
    seqs: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    tips: dict[str, str] = field(default_factory=lambda: defaultdict(lambda: GENESIS_HASH))
    made: int = 0

    def site(self, letter: str) -> str:
        return f"{self.salt:08x}{letter * 24}"

    def entity(self, n: int = 0) -> str:
        return f"{self.salt:08x}-0000-7000-8000-{n:012x}"

    def op(self, letter: str, at_ms: int, entity: str, kind: str, payload: dict[str, Any],
           actor: str = "alice", counter: int = 0) -> Op:
        site = self.site(letter)
        self.seqs[site] += 1
        self.made += 1
        op_id = f"{self.salt:08x}-{self.made:04x}-7000-8000-{ord(letter):012x}"
        hlc = HLC(at_ms, counter).encode()
        seq, prev = self.seqs[site], self.tips[site]
        digest = op_hash(op_id, site, seq, hlc, actor, entity, kind, payload, 1, prev)
        self.tips[site] = digest
        return Op(op_id, site, seq, hlc, actor, entity, kind, payload, 1, prev, digest)

    def trigger(self, letter: str, at_ms: int, entity: str, number: int = 1, **extra: Any) -> Op:
        payload = {"key": f"{letter.upper()}{self.salt}-{number}", "key_number": number, "title": "db down",
                   "service": "payments", "severity": "sev2", "stage": "new", "labels": {},
                   **extra}
        return self.op(letter, at_ms, entity, "trigger", payload)
