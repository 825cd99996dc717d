"""The sync endpoints, as a FastAPI router any app can mount."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from sync import snapshot
from sync.auth import H_SIG, AuthError, Key, Verifier, sign
from sync.oplog import CorruptOpError, EquivocationError
from sync.protocol import MAX_BODY, PREFIX, VERSION, ProtocolError, PullRequest, decode, encode, parse_ops
from sync.replica import Replica

POLL_S = 0.25  # how often a long-polling pull looks for new ops


def error(status: int, error: str, reason: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": error, "reason": reason, **extra}, status_code=status)


def target(request: Request) -> str:
    """What a signature covers of the URL: the path and any query."""
    query = request.url.query
    return f"{request.url.path}?{query}" if query else request.url.path


async def _body(request: Request) -> bytes:
    """The raw body, refusing to buffer more than the protocol allows."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise ProtocolError(413, "too_large", f"body of {declared} bytes exceeds {MAX_BODY}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ProtocolError(413, "too_large", f"body exceeds {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def router(replica: Replica, verifier: Verifier, *, now: Callable[[], float] = time.time,
           poked: Callable[[str], None] | None = None) -> APIRouter:
    """`poked(peer_name)` is called when a peer says it has new ops for us."""
    api = APIRouter(prefix=PREFIX)

    def signed(key: Key, request: Request, payload: Any) -> Response:
        body = encode(payload)
        headers = sign(key, replica.site, "RESPONSE", target(request), body, now)
        return Response(body, media_type="application/json",
                        headers={**headers, "content-encoding": "gzip"})

    async def authenticated(request: Request) -> tuple[Key, Any]:
        raw = await _body(request)
        key = verifier.verify(request.method, target(request), request.headers, raw)
        payload = decode(raw, request.headers.get("content-encoding")) if raw else {}
        return key, payload

    async def handle(request: Request, work: Callable[[Key, Any], Any],
                     respond: Callable[[Key, Request, Any], Response] = signed) -> Response:
        try:
            key, payload = await authenticated(request)
            return respond(key, request, await work(key, payload))
        except AuthError as exc:
            extra = {"server_time": exc.server_time} if exc.server_time is not None else {}
            return error(exc.status, exc.error, exc.reason, **extra)
        except ProtocolError as exc:
            return error(exc.status, exc.error, exc.reason)
        except EquivocationError as exc:
            return error(409, "equivocation", str(exc))
        except CorruptOpError as exc:
            return error(400, "corrupt_op", str(exc))

    def info() -> dict[str, Any]:
        return {"site": replica.site, "name": replica.name, "protocol": [VERSION],
                "vector": replica.vector(), "phys_now_ms": int(now() * 1000),
                "policy_digest": replica.policy_digest()}

    @api.get("/info")
    async def get_info(request: Request) -> Response:
        async def work(_key: Key, _payload: Any) -> Any:
            return await run_in_threadpool(info)
        return await handle(request, work)

    @api.post("/pull")
    async def pull(request: Request) -> Response:
        async def work(_key: Key, payload: Any) -> Any:
            asked = PullRequest.parse(payload)
            deadline = time.monotonic() + asked.wait_s
            while True:
                ops, more = await run_in_threadpool(
                    replica.ops_after, asked.vector, asked.limit, asked.max_bytes)
                if ops or time.monotonic() >= deadline:
                    break
                await asyncio.sleep(POLL_S)
            return {"ops": [op.to_dict() for op in ops], "more": more,
                    "vector": await run_in_threadpool(replica.vector),
                    "phys_now_ms": int(now() * 1000)}
        return await handle(request, work)

    @api.post("/push")
    async def push(request: Request) -> Response:
        async def work(_key: Key, payload: Any) -> Any:
            if not isinstance(payload, dict):
                raise ProtocolError(400, "bad_request", "push body must be a JSON object")
            ops = parse_ops(payload.get("ops"))
            outcomes = await run_in_threadpool(replica.apply, ops)
            return {"results": [{"op_id": o.op_id, "status": o.status, "reason": o.reason}
                                for o in outcomes],
                    "vector": await run_in_threadpool(replica.vector)}
        return await handle(request, work)

    @api.get(snapshot.PATH)
    async def get_snapshot(request: Request) -> Response:
        async def work(_key: Key, _payload: Any) -> Any:
            after = snapshot.parse_after(request.query_params.get("after", ""))
            return after, await run_in_threadpool(replica.vector)

        def stream(key: Key, request: Request, work_done: Any) -> Response:
            after, covered = work_done
            # The headers sign an empty body; each line is signed on from their signature.
            headers = sign(key, replica.site, "RESPONSE", target(request), b"", now)
            signer = snapshot.Signer(key.secret, headers[H_SIG])
            lines = (signer.line(frame) for frame in snapshot.frames(
                snapshot.fold_order(replica.site_ops, after, covered), covered))
            body: AsyncIterator[bytes] = iterate_in_threadpool(snapshot.gzipped(lines))
            return StreamingResponse(body, media_type=snapshot.MEDIA_TYPE,
                                     headers={**headers, "content-encoding": "gzip"})
        return await handle(request, work, stream)

    @api.post("/poke")
    async def poke(request: Request) -> Response:
        async def work(key: Key, _payload: Any) -> Any:
            if poked is not None:
                poked(key.peer)
            return {"ok": True}
        return await handle(request, work)

    return api
