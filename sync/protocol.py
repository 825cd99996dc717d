"""Sync protocol v1: what travels between peers, and its limits (docs/sync-protocol.md)."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sync.ops import Op

VERSION = 1
PREFIX = f"/sync/v{VERSION}"
BATCH_OPS = 500
BATCH_BYTES = 1 << 20
MAX_BODY = 4 << 20  # bytes on the wire
MAX_DECODED = 16 << 20  # bytes after gunzip: a small bomb stays small
MAX_WAIT_S = 25.0  # long-poll below common 30 s proxy idle timeouts
# Ops compress to about 100 B (of 480) at level 1 and 88 B at level 6, which
# costs about 3.5 times the CPU: the sender's CPU is the scarcer.
GZIP_LEVEL = 1


class ProtocolError(Exception):
    """A request the protocol refuses: answered as {"error", "reason"} with `status`."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason


def encode(value: Any) -> bytes:
    return gzip.compress(json.dumps(value, separators=(",", ":")).encode(), compresslevel=GZIP_LEVEL)


def decode(body: bytes, content_encoding: str | None) -> Any:
    """JSON from a (possibly gzipped) body, refusing oversize and malformed input."""
    if len(body) > MAX_BODY:
        raise ProtocolError(413, "too_large", f"body of {len(body)} bytes exceeds {MAX_BODY}")
    if content_encoding == "gzip":
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, MAX_DECODED + 1)
        except zlib.error as exc:
            raise ProtocolError(400, "bad_encoding", f"body is not valid gzip: {exc}") from None
        if len(body) > MAX_DECODED or inflater.unconsumed_tail:
            raise ProtocolError(413, "too_large", f"body inflates past {MAX_DECODED} bytes")
        if not inflater.eof:
            raise ProtocolError(400, "truncated", "gzip body is truncated")
    elif content_encoding not in (None, "", "identity"):
        raise ProtocolError(415, "bad_encoding", f"unsupported Content-Encoding {content_encoding!r}")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(400, "bad_json", f"body is not JSON: {exc}") from None


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise ProtocolError(400, "bad_request", f"{what} must be a JSON object")
    return value


def parse_vector(value: Any) -> dict[str, int]:
    vector = _object(value, "vector")
    for site, seq in vector.items():
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
            raise ProtocolError(400, "bad_request", f"vector[{site!r}] must be a whole number >= 0")
    return dict(vector)


def parse_ops(value: Any) -> list[Op]:
    if not isinstance(value, list):
        raise ProtocolError(400, "bad_request", "ops must be a JSON array")
    if len(value) > BATCH_OPS:
        raise ProtocolError(413, "too_large", f"{len(value)} ops in one batch; at most {BATCH_OPS}")
    try:
        return [Op.from_dict(_object(item, "each op")) for item in value]
    except ValueError as exc:
        raise ProtocolError(400, "bad_op", str(exc)) from None


@dataclass(frozen=True, slots=True)
class PullRequest:
    vector: dict[str, int]
    limit: int = BATCH_OPS
    max_bytes: int = BATCH_BYTES
    wait_s: float = 0.0

    @classmethod
    def parse(cls, value: Any) -> PullRequest:
        body = _object(value, "pull request")
        limit, max_bytes, wait_s = (body.get("limit", BATCH_OPS), body.get("max_bytes", BATCH_BYTES),
                                    body.get("wait_s", 0))
        if not isinstance(limit, int) or not 1 <= limit <= BATCH_OPS:
            raise ProtocolError(400, "bad_request", f"limit must be 1..{BATCH_OPS}")
        if not isinstance(max_bytes, int) or not 1 <= max_bytes <= BATCH_BYTES:
            raise ProtocolError(400, "bad_request", f"max_bytes must be 1..{BATCH_BYTES}")
        if not isinstance(wait_s, int | float) or not 0 <= wait_s <= MAX_WAIT_S:
            raise ProtocolError(400, "bad_request", f"wait_s must be 0..{MAX_WAIT_S}")
        return cls(parse_vector(body.get("vector", {})), limit, max_bytes, float(wait_s))

    def to_json(self) -> dict[str, Any]:
        return {"vector": self.vector, "limit": self.limit, "max_bytes": self.max_bytes,
                "wait_s": self.wait_s}
