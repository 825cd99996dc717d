"""The op: one immutable change, identified, stamped and hash-chained per site.

Nothing here knows what an op means; the application gives `kind` and
`payload` their sense. The hash covers every field, so an op altered at rest
or in flight no longer matches its hash, and the chain (each op carries the
hash of its site's previous op) makes a missing op visible.
"""

from __future__ import annotations

import hashlib
import json
from _json import encode_basestring, make_encoder
from collections.abc import Mapping
from typing import Any, NamedTuple

GENESIS_HASH = "0" * 64


# One C encoder for every call, built as `json.dumps(sort_keys=True,
# separators=(",", ":"), ensure_ascii=False)` builds its own on each call (which
# costs more than encoding a small payload), so the text is the same. Without
# circular-reference markers: a value that contains itself fails with
# RecursionError instead of ValueError.
_ENCODE = make_encoder(None, json.JSONEncoder().default, encode_basestring, None, ":", ",",
                       True, False, True)


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no spaces, UTF-8 kept as is."""
    return "".join(_ENCODE(value, 0))


def op_hash(
    op_id: str,
    site: str,
    seq: int,
    hlc: str,
    actor: str,
    entity: str,
    kind: str,
    payload: Mapping[str, Any],
    schema: int,
    prev_hash: str,
) -> str:
    """SHA-256 of the canonical JSON of `[op_id, site, seq, hlc, actor, entity, kind,
    payload, schema, prev_hash]`: the hash peers verify."""
    return op_hash_encoded(op_id, site, seq, hlc, actor, entity, kind, canonical_json(payload),
                           schema, prev_hash)


def op_hash_encoded(
    op_id: str,
    site: str,
    seq: int,
    hlc: str,
    actor: str,
    entity: str,
    kind: str,
    payload_json: str,
    schema: int,
    prev_hash: str,
) -> str:
    """`op_hash` of a payload already encoded as `canonical_json`: a writer that stores
    that text encodes the payload once. The list's text is spelled out as the encoder
    writes it (strings escaped alike, `seq` and `schema` as the integers they are)."""
    body = (f"[{encode_basestring(op_id)},{encode_basestring(site)},{int.__repr__(seq)},"
            f"{encode_basestring(hlc)},{encode_basestring(actor)},{encode_basestring(entity)},"
            f"{encode_basestring(kind)},{payload_json},{int.__repr__(schema)},"
            f"{encode_basestring(prev_hash)}]")
    return hashlib.sha256(body.encode()).hexdigest()


class Op(NamedTuple):
    """A named tuple, not a dataclass: a batch builds one per op, and a tuple is built
    in a quarter of a frozen dataclass's time. Immutable all the same; compare ops
    with ops only (an op equals the plain tuple of its fields)."""

    op_id: str
    site: str
    seq: int
    hlc: str
    actor: str
    entity: str
    kind: str
    payload: Mapping[str, Any]
    schema: int
    prev_hash: str
    hash: str

    @property
    def sort_key(self) -> tuple[str, str, int]:
        """The total order every console folds in: HLC, then site, then seq."""
        return (self.hlc, self.site, self.seq)

    def expected_hash(self) -> str:
        return op_hash(
            self.op_id, self.site, self.seq, self.hlc, self.actor, self.entity,
            self.kind, self.payload, self.schema, self.prev_hash,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "op_id": self.op_id, "site": self.site, "seq": self.seq, "hlc": self.hlc,
            "actor": self.actor, "entity": self.entity, "kind": self.kind,
            "payload": dict(self.payload), "schema": self.schema,
            "prev_hash": self.prev_hash, "hash": self.hash,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Op:
        """Parse an op from untrusted JSON; every field is type-checked."""
        values = []
        for name, kind in _FIELD_TYPES:
            value = data.get(name)
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ValueError(f"op field {name!r} must be {kind.__name__}, got {value!r}")
            values.append(value)
        if data["seq"] < 1:
            raise ValueError(f"op field 'seq' must be >= 1, got {data['seq']}")
        return cls._make(values)


# `Op`'s fields in order, with the JSON type `Op.from_dict` requires of each.
_FIELD_TYPES: tuple[tuple[str, type], ...] = (
    ("op_id", str), ("site", str), ("seq", int), ("hlc", str), ("actor", str), ("entity", str),
    ("kind", str), ("payload", dict), ("schema", int), ("prev_hash", str), ("hash", str),
)
