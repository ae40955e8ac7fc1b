"""What every request and every answer of every service passes through, before any route.

- `Unstorable`: a string PostgreSQL cannot store (a NUL character; a lone surrogate, which has
  no UTF-8 form) or a number beyond what its columns hold (an integer past 64 bits, NaN or an
  infinity) anywhere in the path, the query string or a JSON body is a 422 `invalid_request`,
  once here rather than as a 500 from the database in whichever route it reached.
- `SecurityHeaders`: the headers every answer carries (OWASP API8, security misconfiguration):
  no sniffing, no framing, a Content-Security-Policy, no referrer, and `Cache-Control: no-store`
  (answers carry personal data; only the documentation's static files may be cached).
- `docs`: Swagger UI from the installed `swagger-ui-bundle` package, never from a CDN.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

INT64 = (-(2**63), 2**63 - 1)
"""The range of PostgreSQL's bigint, the widest integer any read model stores."""


def unstorable_text(text: str) -> str | None:
    """Why PostgreSQL could not store `text`, or None when it can."""
    if "\x00" in text:
        return "contains a NUL character, which cannot be stored"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate, which is not valid Unicode text"
    return None


def _unstorable_value(value: Any, at: str) -> tuple[str, str] | None:
    """The first place in a decoded JSON document that cannot be stored, and why."""
    if isinstance(value, str):
        problem = unstorable_text(value)
        return (at, problem) if problem else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if not INT64[0] <= value <= INT64[1]:
            return at, "is beyond the 64-bit integers this API stores"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (at, "is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unstorable_value(key, f"{at}.{key}" if at else "body") or _unstorable_value(
                item, f"{at}.{key}"
            )
            if found:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            if found := _unstorable_value(item, f"{at}.{index}"):
                return found
    return None


def _unstorable_url(scope: Scope) -> tuple[str, str] | None:
    if problem := unstorable_text(scope["path"]):
        return "path", problem
    query = scope.get("query_string", b"").decode("latin-1")
    if query:
        for name, value in parse_qsl(query, keep_blank_values=True):
            if problem := unstorable_text(name) or unstorable_text(value):
                return f"query.{name}", problem
    return None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


async def _refuse(scope: Scope, receive: Receive, send: Send, at: str, problem: str) -> None:
    from .api import error_response

    response = error_response(
        422,
        "invalid_request",
        "the request is malformed; see details",
        {"problems": [{"at": at, "problem": problem}]},
    )
    await response(scope, receive, send)


class Unstorable:
    """Refuse what the database cannot hold before a route sees it (a 422, never a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if found := _unstorable_url(scope):
            await _refuse(scope, receive, send, *found)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left: nothing to answer
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            document = None  # malformed: the route's own validation answers 422
        if found := _unstorable_value(document, "body"):
            await _refuse(scope, receive, send, *found)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none';"
    " form-action 'none'"
)
DOCS = "/docs"
DOCS_STATIC = "/docs/static"


class SecurityHeaders:
    """Every answer, errors and 503s included, carries the headers a browser needs to keep
    it to itself; a route may set its own Cache-Control or policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        docs = path == DOCS or path.startswith(f"{DOCS}/")
        static = path.startswith(f"{DOCS_STATIC}/")
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"content-security-policy", (DOCS_POLICY if docs else API_POLICY).encode()),
            (b"referrer-policy", b"no-referrer"),
            (b"cross-origin-resource-policy", b"same-origin"),
        ]
        if not static:
            extra.append((b"cache-control", b"no-store"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the installed package: it works offline and on an intranet,
    and its scripts come from this service only (the page's policy allows no other)."""
    from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

    app.mount(DOCS_STATIC, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get(DOCS, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(
            f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(app.title)} API</title>
<link rel="stylesheet" href="{root}{DOCS_STATIC}/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="{root}{DOCS_STATIC}/swagger-ui-bundle.js"></script>
<script src="{root}{DOCS}/start.js"></script></body></html>"""
        )

    @app.get(f"{DOCS}/start.js", include_in_schema=False)
    async def start(request: Request) -> Response:
        root = request.scope.get("root_path", "")
        script = (
            "window.ui = SwaggerUIBundle({"
            f"url: {json.dumps(root + (app.openapi_url or '/openapi.json'))},"
            ' dom_id: "#swagger-ui", deepLinking: true,'
            " presets: [SwaggerUIBundle.presets.apis], layout: 'BaseLayout'});"
        )
        return Response(script, media_type="text/javascript")
