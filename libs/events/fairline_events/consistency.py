"""Read your writes: a command's answer carries a consistency token; a read that sends it
back is answered only once the service's read models have applied those writes.

The token names the service and, for each stream the command wrote, the version it reached
(base64url JSON, opaque to clients). A read model keeps, in the same transaction as its
change, the last version it applied of every stream of its topic, so "applied" is one
indexed lookup per read model. A read waits for every read model of the service that
consumes the service's own topic; past `read_your_writes_wait_seconds` it answers 503
`not_yet_consistent` with Retry-After, and the client asks again.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from fastapi import Header, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import DomainError

if TYPE_CHECKING:
    from .service import Runtime

TOKEN_HEADER = "Fairline-Consistency-Token"
POLL_SECONDS = (0.002, 0.005, 0.01, 0.02, 0.05)
"""Pauses between looks at the read models: short first, since most reads catch up fast."""


class NotYetConsistent(DomainError):
    status = 503
    code = "not_yet_consistent"
    headers: ClassVar[Mapping[str, str]] = {"Retry-After": "1"}


class InvalidToken(DomainError):
    status = 422
    code = "invalid_consistency_token"


@dataclass
class Receipt:
    """What one request's commands wrote: each stream and the version it reached."""

    service: str
    versions: dict[str, int] = field(default_factory=dict)

    def record(self, written: dict[str, int]) -> None:
        for stream_id, version in written.items():
            self.versions[stream_id] = max(version, self.versions.get(stream_id, 0))

    def token(self) -> str:
        body = json.dumps(
            {"service": self.service, "streams": self.versions}, separators=(",", ":")
        )
        return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def parse(token: str) -> tuple[str, dict[str, int]]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body: Any = json.loads(raw)
        service, streams = body["service"], body["streams"]
        if not isinstance(service, str) or not isinstance(streams, dict):
            raise TypeError
        versions = {str(s): int(v) for s, v in streams.items()}
    except (ValueError, TypeError, KeyError, binascii.Error):
        raise InvalidToken(
            f"the {TOKEN_HEADER} header is not a token this platform gave out; send back the "
            "header of a command's answer unchanged"
        ) from None
    return service, versions


class Receipts:
    """Gives each request a `Receipt` (in `scope["state"]`) and, when its commands wrote
    anything, answers with the token in the `Fairline-Consistency-Token` header."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        receipt = Receipt(self.service)
        scope.setdefault("state", {})["receipt"] = receipt

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and receipt.versions:
                MutableHeaders(scope=message)[TOKEN_HEADER] = receipt.token()
            await send(message)

        await self.app(scope, receive, sending)


def receipt_of(request: Request) -> Receipt | None:
    receipt = request.scope.get("state", {}).get("receipt")
    return receipt if isinstance(receipt, Receipt) else None


async def read_your_writes(
    request: Request,
    token: Annotated[
        str | None,
        Header(
            alias=TOKEN_HEADER,
            description="the token of a command's answer: this read then reflects that "
            "command (or answers 503 not_yet_consistent with Retry-After)",
        ),
    ] = None,
) -> None:
    """Wait until this service's read models have applied the writes the token names."""
    if token is None or request.method not in ("GET", "HEAD"):
        return
    service, versions = parse(token)
    runtime: Runtime = request.app.state.runtime
    if service != runtime.definition.name or not versions or runtime.pool is None:
        return  # another service's writes: none of this service's read models applies them
    own = runtime.definition.events_topic
    schemas = [p.schema for p in runtime.definition.projections if own in p.topics]
    wait = runtime.settings.read_your_writes_wait_seconds
    deadline = time.monotonic() + wait
    streams = list(versions)
    for attempt in range(1_000_000):
        behind = []
        async with runtime.pool.acquire() as conn:
            for schema in schemas:
                rows = await conn.fetch(
                    f'SELECT stream_id, version FROM "{schema}".applied_versions'
                    " WHERE stream_id = ANY($1::text[])",
                    streams,
                )
                applied = {r["stream_id"]: r["version"] for r in rows}
                if any(applied.get(s, 0) < v for s, v in versions.items()):
                    behind.append(schema.removeprefix("proj_"))
        if not behind:
            return
        if time.monotonic() >= deadline:
            raise NotYetConsistent(
                f"the read models {', '.join(behind)} have not applied your change within "
                f"{wait:g} s; retry after Retry-After",
                behind=behind,
            )
        await asyncio.sleep(POLL_SECONDS[min(attempt, len(POLL_SECONDS) - 1)])
