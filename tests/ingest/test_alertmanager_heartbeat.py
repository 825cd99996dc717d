"""Alertmanager v4 from recorded payloads; heartbeats; health, metrics and OpenAPI."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from console.engine.cycle import Engine
from console.store.tables import Heartbeat
from tests.ingest.conftest import Served

PAYLOADS = Path(__file__).parent / "payloads"
KEY = "test-key-web-0001"


def payload(name: str) -> object:
    return json.loads((PAYLOADS / name).read_text())


def test_a_firing_group_then_a_resolved_group(served: Served) -> None:
    r = served.post(f"/v1/alertmanager/{KEY}", payload("alertmanager_firing.json"))
    assert r.status_code == 202 and len(r.json()["triggered"]) == 2
    rows = sorted(served.store.incidents(), key=lambda r: r.labels["instance"])
    assert [r.dedup_key for r in rows] == ["am-6f2b36d1a0c9e1f4", "am-a41c0e7b5d2f9930"]
    assert rows[0].title == "Error rate above 5% on web-1"  # the alert's own summary
    assert rows[1].title == "Error rate above 5%"  # else the group's common summary
    assert rows[0].severity == "sev1" and rows[0].labels["job"] == "web"
    assert [n.text for n in served.store.notes(rows[0].id)] == ["5xx ratio 7.2% for 10m on web-1:9100"]

    # The same group firing again re-triggers; nothing new opens.
    served.post(f"/v1/alertmanager/{KEY}", payload("alertmanager_firing.json"))
    assert [r.alert_count for r in served.store.incidents()] == [2, 2]

    r = served.post(f"/v1/alertmanager/{KEY}", payload("alertmanager_resolved.json"))
    assert r.status_code == 202 and sorted(r.json()["resolved"]) == sorted(x.key for x in rows)
    assert served.store.incidents() == []


def test_alertmanager_refusals_change_nothing(served: Served) -> None:
    good = payload("alertmanager_firing.json")
    assert isinstance(good, dict)
    r = served.post("/v1/alertmanager/unknown-key-000", good)
    assert r.status_code == 404 and r.json()["status"] == "not found"
    for bad in ({**good, "version": "3"}, {**good, "alerts": [{"status": "pending"}]},
                {**good, "alerts": [{"status": "firing", "labels": {"a": 1}}]}):
        assert served.post(f"/v1/alertmanager/{KEY}", bad).status_code == 400
    assert served.store.count_ops() == 0


def test_a_missed_heartbeat_opens_an_incident_and_the_next_ping_resolves_it(served: Served) -> None:
    r = served.post("/v1/heartbeat/nightly-backup", {"routing_key": KEY})
    assert r.status_code == 400 and "interval is required" in r.json()["message"]
    r = served.post("/v1/heartbeat/nightly-backup", {"routing_key": KEY, "interval": "1m"})
    assert r.status_code == 202 and r.json()["interval_s"] == 60
    other = {"routing_key": "test-key-slow-0002"}
    assert served.post("/v1/heartbeat/nightly-backup", other).status_code == 409
    assert served.post("/v1/heartbeat/bad name!", {"routing_key": KEY}).status_code == 400
    assert served.post("/v1/heartbeat/x", {"routing_key": KEY, "interval": "1s"}).status_code == 400

    engine = Engine(served.store, lambda: served.ps)
    with served.store.engine.connect() as conn:
        expires = conn.execute(Heartbeat.__table__.select()).one().expires_at  # type: ignore[attr-defined]
    engine.tick(expires - timedelta(seconds=1))
    assert served.store.incidents() == []
    engine.tick(expires)
    [row] = served.store.incidents()
    assert row.title.startswith("Heartbeat nightly-backup missed")
    assert row.labels["heartbeat"] == "nightly-backup"
    assert row.esc_level == 1  # paged in the same tick
    engine.tick(expires + timedelta(minutes=5))
    assert len(served.store.incidents()) == 1  # one incident per miss, not one per tick

    r = served.post("/v1/heartbeat/nightly-backup", {"routing_key": KEY})
    assert r.status_code == 202 and r.json()["resolved"] == row.key
    assert served.store.incidents() == []


def test_healthz_metrics_and_openapi(served: Served) -> None:
    served.post("/v2/enqueue", {"routing_key": KEY, "event_action": "trigger",
                                "payload": {"summary": "s", "source": "x", "severity": "info"}})
    health = served.http.get(served.url + "/healthz")
    assert health.status_code == 200
    assert health.json()["store"] == "ok" and health.json()["outbox"]["pending"] == 0
    text = served.http.get(served.url + "/metrics").text
    assert 'sunrelay_ingest_events_total{action="trigger",outcome="accepted",source="events_v2"} 1' in text
    assert 'sunrelay_incidents{state="triggered"} 1' in text
    assert "# TYPE sunrelay_outbox gauge" in text
    spec = served.http.get(served.url + "/openapi.json").json()
    assert {"/v2/enqueue", "/v1/alertmanager/{integration_key}", "/v1/heartbeat/{name}",
            "/healthz", "/metrics"} <= set(spec["paths"])
    assert {"400", "401", "413", "429"} <= set(spec["paths"]["/v2/enqueue"]["post"]["responses"])
