"""Local ops: the hash peers verify, and the payload text stored beside it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import String, cast, select

from console.domain import commands
from console.store.store import Store
from sync.oplog import OPS, Draft
from sync.ops import GENESIS_HASH, canonical_json, op_hash

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


def _reference_hash(*fields: Any) -> str:
    """The hash as the sync protocol defines it, with the standard library alone."""
    body = json.dumps(list(fields), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()


def test_a_known_op_keeps_its_hash() -> None:
    # Computed before the payload was encoded once for both hash and row: peers hold such hashes.
    payload = {"text": 'Ölçüm ✓ \\ "q" \n tab\t', "z": [1, 2.5, None, True], "a": {"b": "c"}}
    assert op_hash("0196a3f2-1c2d-7abc-8def-0123456789ab", "5f0c" * 8, 7, "1795000000000-002a",
                   'ana "nyc"', "0196a3f2-0000-7000-8000-000000000001", "note", payload, 1,
                   GENESIS_HASH) == "3742cd85ee00d914ed52b28d16535c8b23f9bbe75c2fd1e829e0ecf4f1b3ad7a"


@given(strings=st.lists(st.text(), min_size=6, max_size=6), seq=st.integers(1, 2**62),
       schema=st.integers(0, 2**31), payload=st.dictionaries(st.text(), _JSON, max_size=5))
def test_the_hash_is_sha256_of_the_canonical_json_of_the_fields(
        strings: list[str], seq: int, schema: int, payload: dict[str, Any]) -> None:
    op_id, site, hlc, actor, entity, kind = strings
    try:
        expected = _reference_hash(op_id, site, seq, hlc, actor, entity, kind, payload, schema,
                                   GENESIS_HASH)
    except UnicodeEncodeError:  # a lone surrogate has no UTF-8: no op can carry one
        return
    assert op_hash(op_id, site, seq, hlc, actor, entity, kind, payload, schema,
                   GENESIS_HASH) == expected


def test_stored_payloads_are_the_text_their_hash_covers(db_url: str) -> None:
    with Store.open(db_url, site_name="JKT") as store:
        key = store.trigger("ana", title="Ölçüm", service="db", severity="sev2",
                            labels={"b": "2", "a": "✓"}).state.key
        store.act(key, "ana", lambda s: [commands.note(s, 'say "hi"\n'), commands.note(s, "ok")])
        with store.writing() as writes:
            writes.conn.execute(OPS.delete().where(OPS.c.kind == "never"))  # issues what is gathered
            store.log.append(writes.conn, Draft("ana", "override-1", "override_take", {"z": 1, "a": [2]}))
        with store.engine.connect() as conn:
            stored = {op_id: text for op_id, text in
                      conn.execute(select(OPS.c.op_id, cast(OPS.c.payload, String)))}
        ops = [op for incident in store.incidents(status="all")
               for op in store.timeline(incident.id)]
        ops += store.timeline("override-1")
        assert len(ops) == len(stored) == 4
        for op in ops:
            assert op.hash == _reference_hash(
                op.op_id, op.site, op.seq, op.hlc, op.actor, op.entity, op.kind, op.payload,
                op.schema, op.prev_hash)
            assert stored[op.op_id] == canonical_json(op.payload)
        assert store.verify() == []
