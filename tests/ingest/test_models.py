"""The PagerDuty body is validated straight from its bytes (app._validated): that pass must
accept exactly what validating the parsed JSON (FastAPI's way) accepts, into the same event.
Its 202 answer is encoded without the model: the same bytes as the model's JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from pydantic_core import from_json, to_json

from console.ingest.models import PdAccepted, PdEvent, pd_accepted_json
from tests.ingest.test_fuzz import PD, json_values, near

EDGES = [
    b'{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"x",'
    b'"severity":"info","timestamp":1700000000}}',
    b'{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"x",'
    b'"severity":"info","timestamp":"2026-11-22T15:00:00+01:00","custom_details":{"big":1e400,'
    b'"n":123456789012345678901234567890,"s":"\\u0000\\ud83d\\ude00"}}}',
    b'{"routing_key":"k","event_action":"trigger","payload":{"summary":"\\ud800","source":"x",'
    b'"severity":"info"}}',
    b'{"routing_key":"k","routing_key":"k2","event_action":"resolve","dedup_key":"d"}',
    b'{"routing_key":"k","event_action":"resolve","dedup_key":"d","links":[{"href":"h"}],'
    b'"images":[{"src":"s","alt":null}]}',
    b'{"routing_key":"k","event_action":"acknowledge","dedup_key":"d"} ',
    b'{"routing_key":"k","event_action":"acknowledge","dedup_key":"d"}x',
    b'{"routing_key":"k","event_action":"acknowledge","dedup_key":1}',
    b'{"routing_key":"k","event_action":"acknowledge","dedup_key":"d","client":true}',
    b'[1,2,3]', b'"text"', b'null', b'', b'{', b'\xff\xfe', "ü".encode("latin-1"),
]


def outcome(validate: Any, body: bytes) -> PdEvent | None:
    try:
        result: PdEvent = validate(body)
    except (ValidationError, ValueError):
        return None
    return result


def agree(body: bytes) -> None:
    from_bytes = outcome(PdEvent.model_validate_json, body)
    from_parsed = outcome(lambda b: PdEvent.model_validate(from_json(b)), body)
    assert from_bytes == from_parsed, body


@pytest.mark.parametrize("body", EDGES)
def test_edges_are_accepted_or_refused_alike(body: bytes) -> None:
    agree(body)


@settings(max_examples=400, deadline=None)
@given(body=st.one_of(near(PD), near({**PD, "payload": {"summary": "s", "source": "x", "severity": "info",
                                                         "timestamp": "2026-01-01T00:00:00Z",
                                                         "custom_details": {"a": 1}}}),
                      json_values))
def test_generated_bodies_are_accepted_or_refused_alike(body: Any) -> None:
    agree(json.dumps(body).encode())


@settings(max_examples=300, deadline=None)
@given(dedup_key=st.one_of(st.text(), st.sampled_from(['"', "\\", "\u0000", "\u2028", "ü😀", "</script>"])))
def test_the_accepted_answer_is_the_models_json(dedup_key: str) -> None:
    assert pd_accepted_json(dedup_key) == to_json(PdAccepted(dedup_key=dedup_key))
