"""What every route of every service shares, as FastAPI dependencies: the store and pool,
the caller, the correlation id, the clock, and the context a command's events carry.

A route reads: `who: Sales` (a service's own role check), then `context: Context`, builds
its command and calls one handler, `await hold_booth(store, command, context)`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, Request
from pydantic import BaseModel, ConfigDict

from .auth import Principal, caller, verified_caller
from .consistency import receipt_of
from .context import Clock, CommandContext, request_context, utc_now
from .service import pool_of, store_of
from .store import EventStore

Store = Annotated[EventStore, Depends(store_of)]
Pool = Annotated[asyncpg.Pool, Depends(pool_of)]
Caller = Annotated[Principal, Depends(caller)]
"""Any signed-in user; a route that needs a role uses its service's `require(...)` alias."""
Correlation = Annotated[
    str | None,
    Header(
        alias="X-Correlation-ID",
        description="ties this request's events to a business action; one is made up if absent",
    ),
]


async def clock_of(request: Request) -> Clock:
    """The time rules see; a test may put its own clock on `app.state.clock`."""
    # `State` raises (and catches) an AttributeError for a name it lacks: look it up instead
    clock: Any = request.app.state._state.get("clock")
    return clock if clock is not None else utc_now


Now = Annotated[Clock, Depends(clock_of)]


async def command_context(request: Request, correlation: Correlation = None) -> CommandContext:
    """Who asks, under which correlation and trace, and the clock: what every event carries.
    A route with a reason in its body adds it: `context.because(body.reason)`.

    The caller is the one the route's role check verified, and the clock is read here, not
    through `Caller` and `Now`: FastAPI's resolution of a dependency costs a command more
    than what the dependency does."""
    who = await verified_caller(request)
    receipt = receipt_of(request)
    clock = await clock_of(request)
    return request_context(who.actor, correlation_id=correlation, clock=clock, receipt=receipt)


Context = Annotated[CommandContext, Depends(command_context)]


class Body(BaseModel):
    """A request body: a field the API does not know is refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


def new_id(prefix: str) -> str:
    """An id for something a request creates, when the client did not send its own."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
