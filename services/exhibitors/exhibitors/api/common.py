"""What every exhibitors endpoint shares: dependencies, ids, the clock, who may act."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import structlog
from fairline_events.auth import Principal, require
from fairline_events.context import CommandContext, request_context
from fairline_events.service import pool_of, store_of
from fairline_events.store import EventStore
from fastapi import Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, ValidationError

log = structlog.get_logger(__name__)


class CommandRoute(APIRoute):
    """A route whose commands, built from what the client sent, refuse it with a 422.

    Path ids and the caller's id end up in commands validated by the domain (an id has at
    most 64 characters …); a refusal there is the client's input, never a 500.
    """

    def get_route_handler(self) -> Callable[[Request], Any]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                response: Response = await handle(request)
            except ValidationError as exc:
                log.info("command refused by validation", path=request.url.path)
                raise RequestValidationError(exc.errors(include_url=False)) from None
            return response

        return handler


Store = Annotated[EventStore, Depends(store_of)]
Pool = Annotated[asyncpg.Pool, Depends(pool_of)]
Correlation = Annotated[str | None, Header(alias="X-Correlation-ID")]

Anyone = Annotated[Principal, Depends(require())]
"""Any signed-in user: visitors, exhibitors' staff, the organiser's teams."""
Exhibitor = Annotated[Principal, Depends(require("exhibitor", "recruitment"))]
"""A company's staff (checked against the company's staff list) or the recruitment team."""
Recruiter = Annotated[Principal, Depends(require("recruitment"))]
Participant = Annotated[Principal, Depends(require("visitor", "exhibitor", "recruitment"))]
"""Someone who exchanges cards and meets: a visitor or an exhibitor's staff member."""


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


async def clock_of(request: Request) -> Clock:
    """The time rules see; tests may put another clock on `app.state.clock`."""
    clock: Any = getattr(request.app.state, "clock", None)
    return clock if clock is not None else system_clock


Now = Annotated[Clock, Depends(clock_of)]


def context(who: Principal, correlation: str | None, reason: str | None = None) -> CommandContext:
    return request_context(who.actor, correlation_id=correlation, reason=reason)
