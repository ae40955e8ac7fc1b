"""The FastAPI app every service shares: one error body, health, readiness, tracing.

Every failure answers `{"error": {"code", "message", "details"}}`; anything a client can send
that the rules refuse is a 4xx with a machine-readable code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import DomainError
from .guards import SecurityHeaders, Unstorable, install_docs
from .metrics import HttpMetrics, exposition
from .outage import unavailable_dependency
from .reads import Revalidate
from .telemetry import ServerSpans

log = structlog.get_logger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "no or invalid bearer token",
        403: "the caller lacks the role or the right",
        404: "unknown id",
        409: "conflicts with the current state, or a concurrent change",
        422: "malformed input or a rule refuses the command",
        503: "retry after Retry-After: the service is at its limit of requests in flight"
        " (`overloaded`), or a dependency it needs does not answer (`unavailable`;"
        " details.dependency is `postgresql` or `kafka`)",
    }.items()
}


def error_response(
    status: int, code: str, message: str, details: dict[str, Any] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or {}}}
    return JSONResponse(jsonable_encoder(body), status_code=status)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        response.headers.update(exc.headers)
        retry_after = exc.details.get("retry_after_seconds")
        if exc.status in (429, 503) and isinstance(retry_after, int):
            response.headers.setdefault("Retry-After", str(retry_after))
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [
            {"at": ".".join(map(str, e.get("loc", ()))), "problem": e.get("msg", "")}
            for e in exc.errors()
        ]
        return error_response(
            422, "invalid_request", "the request is malformed; see details", {"problems": problems}
        )

    @app.exception_handler(ValidationError)
    async def invalid_value(_: Request, exc: ValidationError) -> JSONResponse:
        # A value that passed the request schema but not a command's or value object's rules.
        problems = [
            {"at": ".".join(map(str, e.get("loc", ()))), "problem": e.get("msg", "")}
            for e in exc.errors(include_url=False)
        ]
        return error_response(
            422, "invalid_request", "the request is malformed; see details", {"problems": problems}
        )

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        response = error_response(exc.status_code, code, str(exc.detail))
        response.headers.update(exc.headers or {})
        if exc.status_code == 405:
            response.headers["Allow"] = ", ".join(allowed_methods(request))
        return response


UNAVAILABLE_RETRY_AFTER_SECONDS = 1


def failure_response(exc: Exception) -> JSONResponse:
    """503 `unavailable` when a dependency is down, else 500 `internal_error`."""
    dependency = unavailable_dependency(exc)
    if dependency is None:
        log.exception("unhandled error", error=repr(exc), exc_info=exc)
        return error_response(500, "internal_error", "an unexpected error; it has been logged")
    # Expected while PostgreSQL or Kafka is down: one line, no stack trace per request.
    log.warning("dependency unavailable", dependency=dependency, error=repr(exc))
    response = error_response(
        503,
        "unavailable",
        f"{dependency} does not answer; retry after Retry-After",
        {"dependency": dependency, "retry_after_seconds": UNAVAILABLE_RETRY_AFTER_SECONDS},
    )
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


class Failures:
    """Answer any exception a route lets out with the error body, and keep the connection.

    Starlette's ServerErrorMiddleware re-raises after it sends its 500, and uvicorn then
    closes the keep-alive connection: a request the client already sent on it gets no answer
    at all, and the client cannot tell whether its command went through. This middleware
    sits inside it and does not re-raise.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise  # half a response is out: only closing the connection can tell
            await failure_response(exc)(scope, receive, send)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path (Starlette names only the first route's)."""
    scope = {**request.scope, "method": "\x00"}  # no route answers it: only paths match
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


Check = Callable[[], Awaitable[None]]


class Admission:
    """Past `limit` requests in flight in this process, answer 503 at once.

    A saturated service otherwise queues every request: latency grows to seconds, clients
    time out and retry into the queue, and once thousands of connections wait, the kernel
    resets some (1,400 of 10,000 at 1,000 holds/s in `make bench`). A quick 503 with
    Retry-After lets clients back off and keeps the accepted requests fast. Health checks
    are always answered.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in ("/healthz", "/readyz", "/metrics"):
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            response = error_response(
                503,
                "overloaded",
                f"the service has {self.limit} requests in flight; retry in a second",
                {"retry_after_seconds": 1},
            )
            response.headers["Retry-After"] = "1"
            await response(scope, receive, send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


def prepare_routes(app: FastAPI) -> None:
    """Build every route's request handler now, at startup.

    FastAPI builds the routes of an included router when the first request reaches it: on
    a service's first request, that blocked the event loop 80 to 160 ms, and every request
    then in flight waited too."""
    for _ in iter_route_contexts(app.router.routes):
        pass
    for route in app.router.routes:
        low_priority = getattr(route, "effective_low_priority_routes", None)
        if callable(low_priority):
            low_priority()


def create_app(
    *,
    title: str,
    description: str,
    version: str,
    lifespan: Callable[[FastAPI], Any] | None = None,
    readiness: dict[str, Check] | None = None,
    max_in_flight: int = 1000,
) -> FastAPI:
    checks = readiness or {}

    @asynccontextmanager
    async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
        prepare_routes(app)
        if lifespan is None:
            yield
            return
        async with lifespan(app):
            yield

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=_lifespan,
        responses=ERROR_RESPONSES,
        # FastAPI's own OpenTelemetry would make a second server span per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        docs_url=None,  # served from the installed package below, not a CDN
        redoc_url=None,
    )
    install_error_handlers(app)
    install_docs(app)
    app.add_middleware(Revalidate)  # innermost: a kept answer's 304 skips routing (reads.py)
    app.add_middleware(Unstorable)  # only requests that are let in are read
    app.add_middleware(Admission, limit=max_in_flight)
    app.add_middleware(Failures)  # outside the routes and Admission: it sees every failure
    app.add_middleware(HttpMetrics)  # it times and counts every answer, 503s too
    app.add_middleware(SecurityHeaders)  # outermost: every answer carries them, 500s too

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics of this process")
    async def metrics() -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    @app.get("/healthz", tags=["health"], summary="the process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz", tags=["health"], summary="the database and Kafka answer")
    async def readyz() -> JSONResponse:
        failed: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
            except Exception as exc:
                failed[name] = repr(exc)
        if failed:
            return error_response(503, "not_ready", "a dependency does not answer", failed)
        return JSONResponse({"status": "ready", "checks": sorted(checks)})

    # One server span per request, the caller's trace continued (telemetry.ServerSpans).
    app.add_middleware(ServerSpans, excluded=frozenset({"/healthz", "/readyz", "/metrics"}))
    return app
