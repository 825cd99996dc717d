"""Two consoles over the real sync endpoints (ASGI in process): convergence, auth, bad input."""

from __future__ import annotations

import gzip
import json
import re
import time
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.domain import commands
from sync.auth import Key, sign
from sync.client import PeerRefused, pull_all
from sync.ops import Op
from sync.protocol import MAX_BODY, PREFIX, encode
from tests.sync.conftest import KEY, Console, fill


async def test_pull_converges_and_acting_on_a_synced_incident_flows_back(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 7)
    client = ber.client_to(jkt)
    outcomes = await pull_all(client, ber.replica, limit=4)  # several batches
    assert [o.status for o in outcomes] == ["accepted"] * jkt.store.count_ops()
    assert ber.store.projection() == jkt.store.projection()
    ber.store.act("JKT-1", "jonas", commands.ack)
    ber.store.act("JKT-1", "jonas", lambda s: commands.note(s, "taking it from Berlin"))
    await pull_all(jkt.client_to(ber), jkt.replica)
    assert jkt.store.projection() == ber.store.projection()
    assert jkt.store.get("JKT-1").acknowledged_by == "jonas"
    assert await pull_all(client, ber.replica) == []  # nothing new: nothing applied
    await client.aclose()


async def test_push_is_idempotent(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 3)
    ops, _more = jkt.store.ops_after({}, 500, 1 << 20)
    client = jkt.client_to(ber)
    first = await client.push(ops)
    assert {r["status"] for r in first["results"]} == {"accepted"}
    again = await client.push(ops)
    assert {r["status"] for r in again["results"]} == {"duplicate"}
    assert again["vector"][jkt.store.site.site] == len(ops)
    assert ber.store.projection() == jkt.store.projection()


async def test_ops_from_a_clock_far_ahead_are_held_until_ours_catches_up(consoles: Any) -> None:
    jkt, ber, clock = consoles
    clock.ms -= 10 * 60 * 1000  # Berlin's clock runs ten minutes behind
    fill(jkt.store, 2)
    client = ber.client_to(jkt)
    outcomes = await pull_all(client, ber.replica)
    assert {o.status for o in outcomes} == {"held"}
    assert "ahead of this console's clock" in outcomes[0].reason
    assert ber.store.count_ops() == 0
    clock.ms += 10 * 60 * 1000
    await pull_all(client, ber.replica)
    assert ber.store.projection() == jkt.store.projection()


async def raw(console: Console, path: str, body: bytes, *, key: Key = KEY,
              headers: dict[str, str] | None = None, signed_body: bytes | None = None,
              now: float | None = None) -> httpx.Response:
    full = f"{PREFIX}{path}"
    signing = sign(key, "peer-site", "POST", full, body if signed_body is None else signed_body,
                   (lambda: now) if now is not None else time.time)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=console.app),
                                 base_url="http://peer") as http:
        return await http.post(full, content=body, headers={**signing, **(headers or {})})


def unchanged(console: Console) -> tuple[Any, int]:
    return console.store.projection(), console.store.count_ops()


async def test_every_authentication_failure_is_refused_and_changes_nothing(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 1)
    ops, _ = jkt.store.ops_after({}, 500, 1 << 20)
    body = encode({"ops": [op.to_dict() for op in ops]})
    gz = {"content-encoding": "gzip"}
    before = unchanged(ber)
    wrong = Key(KEY.key_id, "team", b"not the secret")
    assert (await raw(ber, "/push", body, key=wrong, headers=gz)).json()["error"] == "bad_signature"
    unknown = Key("nobody", "team", KEY.secret)
    answer = await raw(ber, "/push", body, key=unknown, headers=gz)
    assert (answer.status_code, answer.json()["error"]) == (403, "unknown_key")
    stale = await raw(ber, "/push", body, headers=gz, now=time.time() - 900)
    assert (stale.status_code, stale.json()["error"]) == (401, "stale_timestamp")
    assert re.search(r"the sender's clock is off by about -90\d s", stale.json()["reason"])
    tampered = await raw(ber, "/push", body, headers=gz, signed_body=encode({"ops": []}))
    assert (tampered.status_code, tampered.json()["error"]) == (401, "bad_signature")
    unsigned = await httpx.AsyncClient(transport=httpx.ASGITransport(app=ber.app),
                                       base_url="http://peer").post(f"{PREFIX}/push", content=body)
    assert (unsigned.status_code, unsigned.json()["error"]) == (401, "unsigned")
    assert unchanged(ber) == before

    # A replay of a request that was accepted once is refused the second time.
    full = f"{PREFIX}/poke"
    headers = {**sign(KEY, "peer-site", "POST", full, b""), **gz}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=ber.app),
                                 base_url="http://peer") as http:
        assert (await http.post(full, headers=headers)).status_code == 200
        replay = await http.post(full, headers=headers)
    assert (replay.status_code, replay.json()["error"]) == (401, "replay")


async def test_a_tampered_response_is_refused_by_the_client(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 1)

    class Tamper(httpx.AsyncBaseTransport):
        inner = httpx.ASGITransport(app=jkt.app)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            answer = await self.inner.handle_async_request(request)
            await answer.aread()
            doctored = json.loads(answer.content)  # httpx has inflated it
            doctored["ops"] = []
            return httpx.Response(answer.status_code, headers=answer.headers,
                                  stream=httpx.ByteStream(gzip.compress(json.dumps(doctored).encode())))

    client = ber.client_to(jkt, transport=Tamper())
    with pytest.raises(PeerRefused, match="failed its check"):
        await pull_all(client, ber.replica)
    assert ber.store.count_ops() == 0


async def test_bad_bodies_get_4xx_and_change_nothing(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 1)
    op = jkt.store.ops_after({}, 500, 1 << 20)[0][0]
    before = unchanged(ber)
    gz = {"content-encoding": "gzip"}
    cases = {
        "bad_json": (b"{not json", {}),
        "bad_encoding": (b"\x1f\x8b not really gzip", gz),
        "truncated": (gzip.compress(b'{"ops": []}')[:-6], gz),
        "bad_op": (encode({"ops": [{**op.to_dict(), "seq": "one"}]}), gz),
        "corrupt_op": (encode({"ops": [{**op.to_dict(), "actor": "mallory"}]}), gz),
        "too_large": (gzip.compress(b" " * (20 << 20)), gz),  # inflates past the cap
    }
    for expected, (body, headers) in cases.items():
        answer = await raw(ber, "/push", body, headers=headers)
        assert 400 <= answer.status_code < 500, (expected, answer.status_code)
        assert answer.json()["error"] == expected
    huge = await raw(ber, "/push", b"x" * (MAX_BODY + 1))
    assert huge.status_code == 413
    assert unchanged(ber) == before


async def test_equivocation_is_refused_with_409(consoles: Any) -> None:
    jkt, ber, _ = consoles
    fill(jkt.store, 1)
    await pull_all(ber.client_to(jkt), ber.replica)
    original = jkt.store.ops_after({}, 500, 1 << 20)[0][0]
    forged = Op(**{**original.to_dict(), "payload": {**original.payload, "title": "forged"}})
    forged = Op(**{**forged.to_dict(), "hash": forged.expected_hash()})
    before = unchanged(ber)
    answer = await raw(ber, "/push", encode({"ops": [forged.to_dict()]}),
                       headers={"content-encoding": "gzip"})
    assert (answer.status_code, answer.json()["error"]) == (409, "equivocation")
    assert unchanged(ber) == before


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/push", "/pull", "/poke"]), payload=json_values)
async def test_fuzzed_bodies_never_get_a_5xx(consoles: Any, path: str, payload: Any) -> None:
    _, ber, _ = consoles
    before = ber.store.count_ops()
    answer = await raw(ber, path, encode(payload), headers={"content-encoding": "gzip"})
    assert answer.status_code < 500
    assert ber.store.count_ops() == before


async def test_a_step_paged_on_both_sides_of_a_partition_says_so_after_healing(consoles: Any) -> None:
    from console import render

    jkt, ber, _ = consoles
    fill(jkt.store, 1)
    await pull_all(ber.client_to(jkt), ber.replica)
    # Cut off from each other, both consoles escalate the same step.
    jkt.store.act("JKT-1", "engine", lambda s: commands.escalate(s, "ack timeout", level=2))
    ber.store.act("JKT-1", "engine", lambda s: commands.escalate(s, "owner silent", level=2))
    await pull_all(ber.client_to(jkt), ber.replica)
    await pull_all(jkt.client_to(ber), jkt.replica)
    row = jkt.store.find("JKT-1")
    notes, timeline = jkt.store.notes(row.id), jkt.store.timeline(row.id)
    steps = render.detail_json(row, notes, timeline)["escalation_steps"]
    assert [(s["level"], len(s["attempts"])) for s in steps] == [(2, 2)]
    assert "level 2 (epoch 0) was paged on both sides of a partition" in render.detail(
        row, notes, timeline)
    assert jkt.store.projection() == ber.store.projection()
