"""The HTTP service of `sunrelay serve`: alert ingest, health, metrics, OpenAPI.

The sync API (issue 5) mounts its router here too: `create_app(...,
routers=[sync_router])`. Every refusal is a 4xx with a JSON body saying what
was wrong, and happens before anything is written; 202 is sent only after
the op is committed (group commit, commit.py).

`POST /v2/enqueue` is the hot path: `Front` answers it straight from the
request bytes (pydantic's JSON validation, then the route's own endpoint),
without FastAPI's middleware, dependency and response machinery, which cost
more CPU per event than the endpoint's own work. `Front` sits outside all of
FastAPI (`_App`): even FastAPI's outermost layers (error and telemetry
middleware, which read the environment on every request) cost about a fifth
of the direct route's own work. The FastAPI route stays declared with an
endpoint doing the same work, so the OpenAPI description is unchanged; the
direct one answers with the model's JSON bytes, built without the model.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import from_json
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from console.engine.queries import INCIDENTS
from console.ingest.models import (
    AmAccepted,
    AmWebhook,
    HeartbeatAccepted,
    HeartbeatPing,
    PdAccepted,
    PdEvent,
    Problem,
    pd_accepted_json,
)
from console.ingest.service import IngestService, Refused
from console.notify.outbox import depth
from console.store import db

log = logging.getLogger("sunrelay.ingest")
MAX_BODY = 1024 * 1024
Health = Callable[[], dict[str, Any]]
Background = Callable[[], Coroutine[Any, Any, None]]
_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Invalid JSON or event; `errors` lists each problem."},
    413: {"model": Problem, "description": "Body larger than the cap (1 MiB)."},
    429: {"model": Problem, "description": "The integration's rate limit; see Retry-After."},
    503: {"model": Problem, "description": "The store could not commit; nothing was accepted."},
}


@dataclass(frozen=True, slots=True)
class Direct:
    """A route `Front` answers itself: the JSON body validated by `model` (as FastAPI
    would, so the errors read the same), then `endpoint`, whose result `encode` turns
    into the answer's JSON body (the bytes FastAPI would send for the route's model)."""

    model: type[BaseModel]
    endpoint: Callable[[Any], Awaitable[Any]]
    encode: Callable[[Any], bytes]
    status: int = 202


class Front:
    """The outermost layer: refuse bodies over `limit` bytes with 413 before the app
    sees them (chunked or not), and answer the `direct` routes (POST) from the body.

    A direct route's refusals are the app's own (`refusal`), so its answers are
    byte for byte those the FastAPI route would give.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY, direct: Mapping[str, Direct] | None = None,
                 refusal: Callable[[Exception], Response | None] = lambda _exc: None) -> None:
        self.app = app
        self.limit = limit
        self.direct = direct or {}
        self.refusal = refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        direct = self.direct.get(scope["path"]) if scope["method"] == "POST" else None
        if direct is not None:
            await self._answer(direct, body, scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _answer(self, direct: Direct, body: bytes, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            result = await direct.endpoint(_validated(direct.model, body))
        except Exception as exc:
            response = self.refusal(exc)
            if response is None:
                raise
            await response(scope, receive, send)
            return
        await _send(send, direct.status, direct.encode(result), [(b"content-type", b"application/json")])

    async def _too_large(self, send: Send) -> None:
        body = json.dumps({"status": "too large", "message": f"request body is over {self.limit} bytes",
                           "errors": []}).encode()
        await _send(send, 413, body, [(b"content-type", b"application/json")])


def _validated(model: type[BaseModel], body: bytes) -> BaseModel:
    """`body` as `model`, parsed and validated in one pass (no Python objects for the parsed
    JSON: a third of the cost). A refusal is explained from the parsed JSON, as FastAPI
    explains it, so its errors read the same; the two passes accept the same bodies
    (tests/ingest/test_models.py)."""
    try:
        return model.model_validate_json(body)
    except ValidationError:
        pass
    try:
        data = from_json(body)
    except ValueError as exc:
        raise RequestValidationError([{"loc": ("body",), "msg": f"JSON decode error: {exc}",
                                       "type": "json_invalid"}]) from None
    return model.model_validate(data)


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _problem(status: int, kind: str, message: str, errors: Sequence[str] = (),
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"status": kind, "message": message, "errors": list(errors)}, status_code=status,
                        headers=headers)


def _where(loc: Sequence[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return ".".join(parts) or "body"


def _invalid(errors: Sequence[Any]) -> JSONResponse:
    lines = [f"{_where(e.get('loc', ()))}: {e.get('msg', 'invalid')}" for e in errors]
    return _problem(400, "invalid event", "Event object is invalid", lines)


def _refused(exc: Refused) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    return _problem(exc.status, exc.kind, exc.message, exc.errors, headers)


def _store_failed(exc: SQLAlchemyError) -> JSONResponse:
    log.error("store error: %s", exc)
    return _problem(503, "unavailable", "the store could not commit; nothing was accepted, retry",
                    headers={"Retry-After": "1"})


def _refusal(exc: Exception) -> JSONResponse | None:
    """The answer to an exception a direct route raised; None: not a refusal (a 500)."""
    if isinstance(exc, RequestValidationError | ValidationError):
        return _invalid(exc.errors())
    if isinstance(exc, Refused):
        return _refused(exc)
    if isinstance(exc, SQLAlchemyError):
        return _store_failed(exc)
    return None


class _App(FastAPI):
    """FastAPI behind a `Front`: every request reaches `Front` first."""

    def __init__(self, *, limit: int, direct: Mapping[str, Direct],
                 refusal: Callable[[Exception], Response | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._front = Front(super().__call__, limit=limit, direct=direct, refusal=refusal)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._front(scope, receive, send)


def create_app(
    service: IngestService, *, health: Health | None = None, background: Sequence[Background] = (),
    routers: Sequence[APIRouter] = (), max_body: int = MAX_BODY,
) -> FastAPI:
    """The app; `background` coroutines (engine runner, policy watcher) live as long as it."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.committer.start()
        tasks = [asyncio.create_task(job()) for job in background]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            service.committer.close()

    async def enqueue(event: PdEvent) -> PdAccepted:
        """PagerDuty Events API v2: trigger, acknowledge or resolve by dedup_key."""
        return PdAccepted(dedup_key=await service.pagerduty(event))

    app = _App(
        limit=max_body, direct={"/v2/enqueue": Direct(PdEvent, service.pagerduty, pd_accepted_json)},
        refusal=_refusal,
        title="Sunrelay", version="1",
        description="Alert ingest (PagerDuty Events API v2, Alertmanager webhook v4, heartbeats), "
                    "health and metrics of a Sunrelay console. See docs/http-api.md.",
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid(exc.errors())

    @app.exception_handler(Refused)
    async def refused(_request: Request, exc: Refused) -> JSONResponse:
        return _refused(exc)

    @app.exception_handler(SQLAlchemyError)
    async def store_failed(_request: Request, exc: SQLAlchemyError) -> JSONResponse:
        return _store_failed(exc)

    app.post("/v2/enqueue", status_code=202, response_model=PdAccepted, tags=["ingest"],
             responses={**_REFUSALS, 401: {"model": Problem, "description": "Unknown routing_key."}})(enqueue)

    @app.post("/v1/alertmanager/{integration_key}", status_code=202, response_model=AmAccepted,
              tags=["ingest"],
              responses={**_REFUSALS, 404: {"model": Problem, "description": "Unknown integration key."}})
    async def alertmanager(integration_key: str, hook: AmWebhook) -> AmAccepted:
        """Prometheus Alertmanager webhook (version 4): firing alerts trigger, resolved ones resolve."""
        triggered, resolved = await service.alertmanager(integration_key, hook)
        return AmAccepted(triggered=triggered, resolved=resolved)

    @app.post("/v1/heartbeat/{name}", status_code=202, response_model=HeartbeatAccepted,
              tags=["ingest"],
              responses={**_REFUSALS, 401: {"model": Problem, "description": "Unknown routing_key."},
                         409: {"model": Problem, "description": "The name belongs to another integration."}})
    async def heartbeat(name: str, ping: HeartbeatPing) -> HeartbeatAccepted:
        """A monitor's ping; no ping within `interval` opens an incident, the next ping resolves it."""
        every, expires, closed = await service.heartbeat(name, ping)
        return HeartbeatAccepted(name=name, interval_s=every, expires_at=expires, resolved=closed)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        """Store reachable, engine role and lag, outbox depth; 503 when degraded."""
        report: dict[str, Any] = {"status": "ok"}
        try:
            report["outbox"] = await asyncio.to_thread(_outbox_depth, service)
            report["store"] = "ok"
        except SQLAlchemyError as exc:
            report["store"] = f"error: {str(exc).splitlines()[0]}"
            report["status"] = "degraded"
        if health is not None:
            engine = health()
            report["engine"] = engine
            if engine.get("behind"):
                report["status"] = "degraded"
        return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> PlainTextResponse:
        """Prometheus text format; the gauges read the store, so it renders in a worker thread."""
        text = await asyncio.to_thread(service.metrics.render)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    service.metrics.gauge("sunrelay_incidents", "Incidents by state.", lambda: _count_states(service))
    service.metrics.gauge("sunrelay_outbox", "Outbox rows pending, in flight and dead.",
                          lambda: [((("state", k),), float(v)) for k, v in _outbox_depth(service).items()])

    for router in routers:
        app.include_router(router)
    return app


def _outbox_depth(service: IngestService) -> dict[str, int]:
    with db.reading(service.store.engine) as conn:
        return depth(conn)


_STATES = select(INCIDENTS.c.status, func.count()).group_by(INCIDENTS.c.status)


def _count_states(service: IngestService) -> list[tuple[tuple[tuple[str, str], ...], float]]:
    with db.reading(service.store.engine) as conn:
        return [((("state", str(s)),), float(n)) for s, n in conn.execute(_STATES)]
