"""PagerDuty Events API v2 against a real server: trigger, dedup, ack, resolve, refusals."""

from __future__ import annotations

import concurrent.futures
from typing import Any

from sqlalchemy import text

from tests.ingest.conftest import Served

KEY = "test-key-web-0001"


def trigger(dedup: str | None = "web-checkout", **payload: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "routing_key": KEY, "event_action": "trigger",
        "payload": {"summary": "Checkout p99 above SLO", "source": "prom-1", "severity": "critical",
                    **payload},
    }
    if dedup:
        body["dedup_key"] = dedup
    return body


def test_trigger_repeat_acknowledge_resolve(served: Served) -> None:
    r = served.post("/v2/enqueue", trigger(custom_details={"p99_ms": 1840, "hosts": ["a", "b"]},
                                           component="checkout"))
    assert r.status_code == 202
    assert r.json() == {"status": "success", "message": "Event processed", "dedup_key": "web-checkout"}
    [row] = served.store.incidents()
    assert (row.title, row.service, row.severity, row.status) == (
        "Checkout p99 above SLO", "web", "sev1", "triggered")
    assert row.labels["component"] == "checkout" and row.labels["p99_ms"] == "1840"
    assert row.next_due_at is not None  # the engine looks at it at once
    notes = [n.text for n in served.store.notes(row.id)]
    assert notes and '"hosts": ["a", "b"]' in notes[0]  # what labels cannot hold is kept as a note

    assert served.post("/v2/enqueue", trigger()).status_code == 202
    assert served.store.get(row.key).alert_count == 2 and len(served.store.incidents()) == 1

    ack = {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "web-checkout"}
    assert served.post("/v2/enqueue", ack).status_code == 202
    assert served.store.get(row.key).status.value == "acknowledged"
    assert served.post("/v2/enqueue", ack).status_code == 202  # again: accepted, changes nothing

    resolve = {"routing_key": KEY, "event_action": "resolve", "dedup_key": "web-checkout"}
    assert served.post("/v2/enqueue", resolve).status_code == 202
    assert served.store.get(row.key).status.value == "resolved"
    # A trigger after the resolve opens a new incident.
    assert served.post("/v2/enqueue", trigger()).status_code == 202
    assert len(served.store.incidents(status="all")) == 2


def test_a_trigger_without_a_dedup_key_gets_one_and_repeats_fold(served: Served) -> None:
    first = served.post("/v2/enqueue", trigger(dedup=None)).json()["dedup_key"]
    second = served.post("/v2/enqueue", trigger(dedup=None)).json()["dedup_key"]
    assert first == second and first.startswith("fp-")
    assert len(served.store.incidents()) == 1


def test_an_ack_for_an_unknown_dedup_key_is_accepted_and_changes_nothing(served: Served) -> None:
    ops = served.store.count_ops()
    r = served.post("/v2/enqueue", {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "nope"})
    assert r.status_code == 202 and served.store.count_ops() == ops


INVALID = [
    ({"routing_key": KEY, "event_action": "trigger"}, "payload is required"),
    ({"routing_key": KEY, "event_action": "resolve"}, "dedup_key is required"),
    ({**trigger(), "event_action": "explode"}, "event_action"),
    (trigger(severity="catastrophic"), "payload.severity"),
    (trigger(summary=""), "payload.summary"),
    (trigger(summary="x" * 1025), "payload.summary"),
    ({**trigger(), "dedup_key": "k" * 256}, "dedup_key"),
    ({**trigger(), "routing_kee": KEY}, "routing_kee: Extra inputs are not permitted"),
    ({k: v for k, v in trigger().items() if k != "routing_key"}, "routing_key: Field required"),
    (trigger(timestamp="yesterday-ish"), "payload.timestamp"),
    ([1, 2, 3], "Input should be a valid dictionary"),
]


def test_invalid_events_are_400_with_the_errors_and_change_nothing(served: Served) -> None:
    ops = served.store.count_ops()
    for body, expected in INVALID:
        r = served.post("/v2/enqueue", body)
        assert r.status_code == 400, body
        doc = r.json()
        assert doc["status"] == "invalid event" and any(expected in e for e in doc["errors"]), doc
    for raw in (b"{not json", b"", "ü".encode("latin-1")):
        r = served.http.post(served.url + "/v2/enqueue", content=raw,
                             headers={"Content-Type": "application/json"})
        assert r.status_code == 400, raw
    assert served.store.count_ops() == ops


def test_an_unknown_routing_key_is_401_and_changes_nothing(served: Served) -> None:
    r = served.post("/v2/enqueue", {**trigger(), "routing_key": "not-a-key-at-all"})
    assert r.status_code == 401 and "no integration has this key" in r.json()["message"]
    assert served.store.count_ops() == 0


def test_an_integration_over_its_rate_is_429_and_changes_nothing(served: Served) -> None:
    body = {**trigger(), "routing_key": "test-key-slow-0002"}
    assert [served.post("/v2/enqueue", body).status_code for _ in range(3)] == [202] * 3
    ops = served.store.count_ops()
    r = served.post("/v2/enqueue", body)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert served.store.count_ops() == ops


def test_a_body_over_the_cap_is_413(served: Served) -> None:
    big = trigger(custom_details={"blob": "x" * (1024 * 1024)})
    assert served.post("/v2/enqueue", big).status_code == 413

    def chunks() -> Any:
        for _ in range(300):
            yield b"x" * 4096

    r = served.http.post(served.url + "/v2/enqueue", content=chunks(),
                         headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and served.store.count_ops() == 0


def test_concurrent_requests_are_committed_together(served: Served) -> None:
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda i: served.post("/v2/enqueue", trigger(dedup=f"k{i % 40}")).status_code,
                              range(200)))
    assert codes == [202] * 200
    assert len(served.store.incidents()) == 40
    assert sum(r.alert_count for r in served.store.incidents()) == 200
    committer = served.service.committer
    assert committer.items == 200 and committer.batches < 200


def test_a_store_that_cannot_commit_is_503_and_a_retry_is_accepted(served: Served) -> None:
    ops = served.store.count_ops()
    with served.store.engine.begin() as conn:  # the incident table gone: every trigger fails
        conn.execute(text("ALTER TABLE incident RENAME TO incident_away"))
    r = served.post("/v2/enqueue", trigger())
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert r.json()["status"] == "unavailable" and served.store.count_ops() == ops
    with served.store.engine.begin() as conn:
        conn.execute(text("ALTER TABLE incident_away RENAME TO incident"))
    r = served.post("/v2/enqueue", trigger())
    assert r.status_code == 202 and r.json()["dedup_key"] == "web-checkout"
