"""What every route of every service shares, as FastAPI dependencies.

A command route resolves ONE dependency: its service's role alias, an `Acting` built by
`acting(*roles)`. It carries the verified caller (`.who`), the store (`.store`) and the
context the command's events carry (`.context`: actor, correlation, trace, clock, receipt);
in the OpenAPI it is the `HTTPBearer` scheme and the `X-Correlation-ID` header, as the
three dependencies it replaces were. A route's body builds its command, calls one handler
and returns the view:

    @router.post("/editions/{edition_code}/booths/{booth_code}/hold")
    async def hold(
        edition_code: EditionCode, booth_code: Code, body: HoldRequest, acting: AsSales
    ) -> BoothView:
        command = HoldBooth(edition_code=edition_code, booth_code=booth_code, ...)
        outcome = await hold_booth(acting.store, command, acting.context)
        return booth_view(outcome.state(...))

A route with a reason in its body adds it: `acting.context.because(body.reason)`.

Why one: FastAPI resolves each dependency of a route on every request (its path, query,
header and cookie parameters, its cache key, its call), whatever the dependency does:
FastAPI's resolution of a hold (path, body and dependencies) took 68 µs of CPU with a role
check, the store and the context apart, 55 µs with one `Acting` (FastAPI 0.165).

Reads keep `who` (a role check from `fairline_events.auth.require`) beside `Store` or
`Pool`; `Caller` is any signed-in user; `Now` the clock rules see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, Request
from pydantic import BaseModel, ConfigDict

from .auth import Principal, Role, caller
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


@dataclass(frozen=True, slots=True)
class Acting:
    """Who acts, where the command is written and what its events carry: all a command
    route needs, resolved as one dependency."""

    who: Principal
    """The caller, verified and holding one of the route's roles (admin passes)."""
    store: EventStore
    context: CommandContext
    """Who asks, under which correlation and trace, and the clock: what every event carries."""


class _Acting(Role):
    """The role check that answers with an `Acting`: still the `HTTPBearer` scheme, and it
    declares the correlation header that the context takes its correlation id from."""

    async def __call__(  # type: ignore[override]
        self, request: Request, correlation: Correlation = None
    ) -> Acting:
        who = await self.verified(request)
        context = request_context(
            who.actor,
            correlation_id=correlation,
            clock=await clock_of(request),
            receipt=receipt_of(request),
        )
        return Acting(who=who, store=await store_of(request), context=context)


def acting(*roles: str) -> _Acting:
    """The dependency of a command route: the caller, checked to hold one of `roles` (none:
    any signed-in user), with the store and the command's context. A service names each
    one it uses: `AsSales = Annotated[Acting, Depends(acting("sales"))]`."""
    return _Acting(roles)


class Body(BaseModel):
    """A request body: a field the API does not know is refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


def new_id(prefix: str) -> str:
    """An id for something a request creates, when the client did not send its own."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
