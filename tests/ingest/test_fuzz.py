"""Fuzzing the HTTP API: whatever arrives, no 5xx, and a refused request changes nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.conftest import Served

KEY = "test-key-web-0001"
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                    st.text(max_size=40))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)), max_leaves=12)


def near(valid: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """A valid body with some keys replaced, dropped or added: the interesting edges."""
    return st.builds(
        lambda drop, replace, extra: {**{k: v for k, v in valid.items() if k not in drop},
                                      **replace, **extra},
        st.sets(st.sampled_from(sorted(valid)), max_size=2),
        st.dictionaries(st.sampled_from(sorted(valid)), json_values, max_size=2),
        st.dictionaries(st.text(max_size=8), json_values, max_size=1),
    )


PD = {"routing_key": KEY, "event_action": "trigger", "dedup_key": "d",
      "payload": {"summary": "s", "source": "x", "severity": "critical"}}
AM = {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"a": "b"}}]}
HB = {"routing_key": KEY, "interval": "5m"}
bodies = st.one_of(json_values, near(PD), near(AM), near(HB),
                   near({**PD, "payload": {"summary": "s", "source": "x", "severity": "info",
                                           "custom_details": {"a": 1}}}))
paths = st.sampled_from(["/v2/enqueue", f"/v1/alertmanager/{KEY}", "/v1/alertmanager/nope",
                         "/v1/heartbeat/hb-1", "/v1/heartbeat/%20bad"])


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=paths, body=bodies)
def test_no_input_gives_a_5xx_and_refusals_change_nothing(served: Served, path: str, body: Any) -> None:
    before = served.store.count_ops()
    r = served.post(path, body)
    assert r.status_code < 500, (r.status_code, r.text)
    if r.status_code >= 400:
        assert served.store.count_ops() == before, (path, body, r.text)
        assert r.json()["status"] and isinstance(r.json()["errors"], list)
    else:
        assert r.status_code == 202


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200), ctype=st.sampled_from(["application/json", "text/plain", ""]))
def test_raw_bytes_never_give_a_5xx(served: Served, raw: bytes, ctype: str) -> None:
    before = served.store.count_ops()
    r = served.http.post(served.url + "/v2/enqueue", content=raw, headers={"Content-Type": ctype})
    assert r.status_code < 500
    if r.status_code >= 400:
        assert served.store.count_ops() == before
