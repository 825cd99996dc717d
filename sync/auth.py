"""Signed requests and responses between peers (HMAC-SHA256 with key ids).

The signature covers the method, path, a timestamp, a nonce and the SHA-256
of the body bytes exactly as sent (compressed bytes when compressed), so it
is checked before anything is decompressed or parsed. A stale timestamp or a
nonce seen before is refused: a captured request cannot be replayed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

SCHEME = "v1"
TOLERANCE_S = 300
NONCE_TTL_S = 600
H_SITE = "x-sync-site"
H_KEY = "x-sync-key-id"
H_TS = "x-sync-timestamp"
H_NONCE = "x-sync-nonce"
H_SIG = "x-sync-signature"


class AuthError(Exception):
    """A request or response that is not from whom it claims; `status` is 401 or 403."""

    def __init__(self, status: int, error: str, reason: str, server_time: float | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.error = error
        self.reason = reason
        self.server_time = server_time


@dataclass(frozen=True, slots=True)
class Key:
    key_id: str
    peer: str  # the site name this key belongs to
    secret: bytes


def signature(secret: bytes, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = "\n".join(
        (SCHEME, method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest())
    ).encode()
    return f"{SCHEME}=" + base64.b64encode(hmac.new(secret, message, hashlib.sha256).digest()).decode()


def sign(key: Key, site: str, method: str, path: str, body: bytes,
         now: Callable[[], float] = time.time) -> dict[str, str]:
    """The headers that authenticate `body` sent as `method path` by `site`."""
    timestamp, nonce = str(int(now())), secrets.token_urlsafe(16)
    return {
        H_SITE: site, H_KEY: key.key_id, H_TS: timestamp, H_NONCE: nonce,
        H_SIG: signature(key.secret, method, path, timestamp, nonce, body),
    }


@dataclass
class Verifier:
    """Checks signed messages against a keyring, remembering nonces to refuse replays."""

    keys: Mapping[str, Key]
    now: Callable[[], float] = time.time
    tolerance_s: int = TOLERANCE_S
    _nonces: dict[str, float] = field(default_factory=dict)

    def verify(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> Key:
        missing = [h for h in (H_KEY, H_TS, H_NONCE, H_SIG) if not headers.get(h)]
        if missing:
            raise AuthError(401, "unsigned", f"missing {', '.join(missing)}: requests must be signed")
        key = self.keys.get(headers[H_KEY])
        if key is None:
            raise AuthError(403, "unknown_key", f"unknown key id {headers[H_KEY]!r}")
        now = self.now()
        try:
            sent = int(headers[H_TS])
        except ValueError:
            raise AuthError(401, "bad_timestamp", f"timestamp {headers[H_TS]!r} is not a number") from None
        if abs(now - sent) > self.tolerance_s:
            raise AuthError(
                401, "stale_timestamp",
                f"timestamp is {now - sent:+.0f} s off this peer's clock (limit {self.tolerance_s} s): "
                f"the sender's clock is off by about {sent - now:+.0f} s; fix NTP",
                server_time=now,
            )
        expected = signature(key.secret, method, path, headers[H_TS], headers[H_NONCE], body)
        if not hmac.compare_digest(expected, headers[H_SIG]):
            raise AuthError(401, "bad_signature", "signature does not match: wrong secret or altered body")
        self._forget_old(now)
        nonce = f"{key.key_id}:{headers[H_NONCE]}"
        if nonce in self._nonces:
            raise AuthError(401, "replay", "this nonce was already used: a replayed request")
        self._nonces[nonce] = now
        return key

    def _forget_old(self, now: float) -> None:
        if len(self._nonces) > 1024:
            cutoff = now - NONCE_TTL_S
            self._nonces = {n: t for n, t in self._nonces.items() if t >= cutoff}
