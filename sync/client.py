"""Talking to one peer: signed requests out, signed responses checked, batches applied."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from sync import snapshot
from sync.auth import H_SIG, AuthError, Key, Verifier, sign
from sync.ops import Op
from sync.protocol import (
    BATCH_BYTES,
    BATCH_OPS,
    MAX_BODY,
    PREFIX,
    ProtocolError,
    PullRequest,
    decode,
    encode,
    parse_ops,
)
from sync.replica import Outcome, Replica, Status

TIMEOUT = httpx.Timeout(connect=5.0, read=40.0, write=30.0, pool=5.0)


class PeerRefused(Exception):
    """The peer answered 4xx: retrying the same request will not help."""

    def __init__(self, status: int, error: str, reason: str) -> None:
        super().__init__(f"{status} {error}: {reason}")
        self.status = status
        self.error = error
        self.reason = reason


class PeerUnavailable(Exception):
    """No usable answer (network, timeout, 5xx): try again later, with backoff."""


@dataclass(frozen=True, slots=True)
class Pulled:
    ops: list[Op]
    more: bool
    vector: dict[str, int]
    phys_now_ms: int


async def _read_raw(answer: httpx.Response) -> bytes:
    """The body as it came over the wire (httpx would inflate it), capped."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in answer.aiter_raw():
        size += len(chunk)
        if size > MAX_BODY:
            raise PeerUnavailable(f"answer exceeds {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class PeerClient:
    """One peer at `base_url`; `key` is the secret we share with it."""

    def __init__(self, base_url: str, key: Key, site: str, *,
                 transport: httpx.AsyncBaseTransport | None = None,
                 now: Callable[[], float] = time.time, verify: ssl.SSLContext | bool = True) -> None:
        """`verify`: how an https peer's certificate is checked (a context with the
        team's CA, or the system's CAs)."""
        self.key = key
        self.site = site
        self.now = now
        self.http = httpx.AsyncClient(base_url=base_url, transport=transport, timeout=TIMEOUT,
                                      verify=verify)
        self.responses = Verifier({key.key_id: key}, now=now)

    async def aclose(self) -> None:
        await self.http.aclose()

    @contextlib.asynccontextmanager
    async def _exchange(self, method: str, full: str, body: bytes) -> AsyncIterator[httpx.Response]:
        """A signed request and the peer's answer, open for reading; 4xx and 5xx raise."""
        headers = sign(self.key, self.site, method, full, body, self.now)
        if body:
            headers |= {"content-encoding": "gzip", "content-type": "application/json"}
        try:
            answer = await self.http.send(
                self.http.build_request(method, full, content=body, headers=headers), stream=True)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{type(exc).__name__}: {exc}") from None
        try:
            if answer.status_code >= 500:
                raise PeerUnavailable(f"peer answered {answer.status_code}")
            if answer.status_code >= 400:
                raw = await _read_raw(answer)
                try:
                    problem = decode(raw, answer.headers.get("content-encoding"))
                    raise PeerRefused(answer.status_code, str(problem["error"]), str(problem["reason"]))
                except (ProtocolError, KeyError, TypeError):
                    raise PeerRefused(answer.status_code, "http",
                                      raw[:200].decode(errors="replace")) from None
            yield answer
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"{type(exc).__name__}: {exc}") from None
        finally:
            await answer.aclose()

    async def _call(self, method: str, path: str, payload: Any | None = None) -> Any:
        full = f"{PREFIX}{path}"
        async with self._exchange(method, full, encode(payload) if payload is not None else b"") as answer:
            raw = await _read_raw(answer)
        try:
            # The signature covers the bytes as sent, so check before inflating them.
            self.responses.verify("RESPONSE", full, answer.headers, raw)
            return decode(raw, answer.headers.get("content-encoding"))
        except (AuthError, ProtocolError) as exc:
            raise PeerRefused(answer.status_code, "bad_response",
                              f"the peer's answer failed its check: {exc}") from None

    async def snapshot(self, vector: Mapping[str, int]) -> AsyncGenerator[list[Op], None]:
        """Every op the peer holds past `vector`, in fold order, a batch at a time;
        each line of the stream is checked against its signature before it is
        parsed (the store checks each op's hash as it applies it)."""
        full = f"{PREFIX}{snapshot.PATH}?after={snapshot.format_after(vector)}"
        async with self._exchange("GET", full, b"") as answer:
            try:
                self.responses.verify("RESPONSE", full, answer.headers, b"")
                reader = snapshot.Reader(self.key.secret, answer.headers[H_SIG])
                async for batch in reader.batches(answer.aiter_raw()):
                    yield batch
            except (AuthError, ProtocolError) as exc:
                raise PeerRefused(answer.status_code, "bad_response",
                                  f"the peer's snapshot failed its check: {exc}") from None

    async def info(self) -> dict[str, Any]:
        result = await self._call("GET", "/info")
        assert isinstance(result, dict)
        return result

    async def pull(self, vector: dict[str, int], *, limit: int = BATCH_OPS,
                   max_bytes: int = BATCH_BYTES, wait_s: float = 0.0) -> Pulled:
        answer = await self._call("POST", "/pull",
                                  PullRequest(vector, limit, max_bytes, wait_s).to_json())
        if not isinstance(answer, dict):
            raise PeerRefused(200, "bad_response", "pull answer is not an object")
        try:
            return Pulled(parse_ops(answer.get("ops")), bool(answer.get("more")),
                          dict(answer.get("vector", {})), int(answer.get("phys_now_ms", 0)))
        except ProtocolError as exc:
            raise PeerRefused(200, "bad_response", exc.reason) from None

    async def push(self, ops: list[Op]) -> dict[str, Any]:
        result = await self._call("POST", "/push", {"ops": [op.to_dict() for op in ops]})
        assert isinstance(result, dict)
        return result

    async def poke(self) -> None:
        await self._call("POST", "/poke", {})


async def pull_all(client: PeerClient, replica: Replica, *, limit: int = BATCH_OPS) -> list[Outcome]:
    """Pull until the peer has nothing more for us; each batch commits on its own,
    so an interruption only repeats the batch in flight.

    While a batch is applied, the next is already being fetched: the peer sends
    each site's ops contiguously past our vector, so the vector after a batch is
    known before it is applied. Anything held back ends the pipelining, and the
    next round asks again from the vector actually committed."""
    outcomes: list[Outcome] = []
    vector = await asyncio.to_thread(replica.vector)
    batch = await client.pull(vector, limit=limit)
    while batch.ops:
        ahead = dict(vector)
        for op in batch.ops:
            ahead[op.site] = max(ahead.get(op.site, 0), op.seq)
        fetching = asyncio.create_task(client.pull(ahead, limit=limit)) if batch.more else None
        try:
            applied = await asyncio.to_thread(replica.apply, batch.ops)
        except BaseException:
            if fetching is not None:
                fetching.cancel()
            raise
        outcomes += applied
        if fetching is None or any(o.status == "held" for o in applied) \
                or not any(o.status == "accepted" for o in applied):
            if fetching is not None:
                fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, PeerUnavailable, PeerRefused):
                    await fetching
            return outcomes
        vector, batch = ahead, await fetching
    return outcomes


APPLY_OPS = 5_000  # at most this many ops per transaction when taking a snapshot


async def stream_all(client: PeerClient, replica: Replica, *, apply_ops: int = APPLY_OPS) -> Counter[Status]:
    """Take what the peer holds past our vector from one snapshot stream; returns
    how many ops were accepted, duplicate and held (a count: memory stays
    within two lots however long the log).

    Each lot is applied in one transaction while the next is read: whatever
    has arrived goes to the store as soon as the lot before it has landed (the
    first lot is the first line, so the store starts at once instead of after
    `apply_ops` ops), and reading waits for the store once a lot holds
    `apply_ops`. The lots size themselves to what the store keeps up with.
    The stream comes in fold order, so each lot extends every site's chain
    and an interruption (a crash, a cut, a refused line) keeps the lots
    committed and loses nothing: the next round asks from the vector actually
    committed. Anything held back ends the stream early: the pull loop
    fetches the rest once it can be applied."""
    taken: Counter[Status] = Counter()
    applying: asyncio.Task[Counter[Status]] | None = None
    lot: list[Op] = []

    async def landed() -> bool:
        """Wait for the lot in flight; whether the stream may go on."""
        nonlocal applying
        if applying is not None:
            task, applying = applying, None
            taken.update(await task)
        return not taken["held"]

    vector = await asyncio.to_thread(replica.vector)
    stream = client.snapshot(vector)
    try:
        async for batch in stream:
            lot += batch
            if applying is not None and not applying.done() and len(lot) < apply_ops:
                continue
            if not await landed():
                return taken
            applying = asyncio.create_task(asyncio.to_thread(replica.apply_counts, lot))
            lot = []
        if await landed() and lot:
            taken.update(await asyncio.to_thread(replica.apply_counts, lot))
        return taken
    finally:
        await stream.aclose()
        if applying is not None:  # the stream failed: the lot in flight still lands whole
            with contextlib.suppress(Exception):
                await applying
