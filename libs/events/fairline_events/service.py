"""One service process: its database, event store, relay, live projections and HTTP API.

A service is declared once (`ServiceDefinition`); this module does the plumbing that every
service shares, so a service folder holds only its domain, API routes and read models.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.routing import APIRoute
from starlette._utils import get_route_path
from starlette.routing import Match
from starlette.types import Scope

from .api import create_app
from .asyncapi import asyncapi_document
from .auth import Jwks, TokenIssuer, TokenVerifier
from .consistency import Receipts, read_your_writes
from .db import create_pool, ensure_database, migrate
from .jobs import Job, run_job
from .kafka import KafkaAccessDenied, admin_client, ensure_topics
from .metrics import sample_lag
from .outage import outage_cause, unavailable_dependency
from .projection import LiveProjection, Projection, ProjectionRunner
from .registry import EventRegistry
from .relay import Relay
from .settings import ServiceSettings
from .store import EventStore
from .telemetry import configure_tracing

log = structlog.get_logger(__name__)


@dataclass
class ServiceDefinition:
    name: str
    title: str
    description: str
    registry: EventRegistry
    routers: Sequence[APIRouter] = ()
    projections: Sequence[Projection] = ()
    migrations: Sequence[Path | Traversable] = ()
    jobs: Sequence[Job] = ()
    publishes_prefixes: Sequence[str] = ()
    """Topic prefixes it writes besides `<name>.` (hotels: the partner feeds `partner.`)."""
    more_asyncapi: Callable[[], dict[str, Any]] | None = None
    """AsyncAPI channels, operations and components of what else it publishes (those
    topics), merged into its `/asyncapi.json`."""
    version: str = "0.1.0"
    extra: dict[str, Any] = field(default_factory=dict)
    on_stop: Sequence[Callable[[asyncpg.Pool], Awaitable[None]]] = ()
    """What the service gives back on a clean stop, while its pool is still open (tickets:
    its sales desk's slot, so the other desks share out its shards at once)."""

    @property
    def events_topic(self) -> str:
        return f"{self.name}.events"


class Runtime:
    """What one process of a service holds while it runs."""

    def __init__(self, definition: ServiceDefinition, settings: ServiceSettings) -> None:
        self.definition = definition
        self.settings = settings
        self.database_url = settings.service_database_url(definition.name)
        self.topic = settings.topic(definition.events_topic)
        self.pool: asyncpg.Pool | None = None
        self.store: EventStore | None = None
        self.relay: Relay | None = None
        self.live: list[LiveProjection] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()

    def runner(self, projection: Projection) -> ProjectionRunner:
        assert self.pool is not None
        return ProjectionRunner(
            projection,
            self.pool,
            self.settings.kafka,
            self.settings.fairline_topic_prefix,
            service=self.definition.name,
        )

    async def prepare(self) -> None:
        """Database, migrations, topics and projection schemas: safe to run many times."""
        await ensure_database(self.database_url)
        if self.pool is None:
            size = self.settings.database_pool_size
            opened = min(self.settings.database_pool_opened or 2, size)
            self.pool = await create_pool(self.database_url, min_size=opened, max_size=size)
        await migrate(self.pool, *self.definition.migrations)
        self.store = EventStore(self.pool, self.definition.registry, service=self.definition.name)
        owned = {self.topic}
        consumed: set[str] = set()
        for p in self.definition.projections:
            runner = self.runner(p)
            consumed.update(runner.topics)
            owned.add(runner.dead_letter_topic)
            await runner.create_schema()
        replication = self.settings.fairline_topic_replication
        await ensure_topics(self.settings.kafka, sorted(owned), replication=replication)
        # Another service's topic is its owner's to create; a broker without ACLs lets us
        # create it now, so the subscription never waits on a topic that does not exist.
        try:
            await ensure_topics(
                self.settings.kafka, sorted(consumed - owned), replication=replication
            )
        except KafkaAccessDenied as exc:
            log.warning("consumed topic not created yet; its owner creates it", error=str(exc))

    async def prepare_when_available(self, report_every_s: float = 10.0) -> None:
        """`prepare`, waiting for PostgreSQL and Kafka while they are down.

        A process (re)started during an outage, say an HTTP worker that uvicorn replaces or
        a `work` process an orchestrator restarts, would otherwise fail its startup; with
        several workers, uvicorn then stops the whole server. It waits, and serves as soon
        as the dependency is back, without a hand on it.
        """
        await self._when_available(self.prepare, "prepare", report_every_s)

    async def _when_available(
        self, step: Callable[[], Awaitable[None]], what: str, report_every_s: float = 10.0
    ) -> None:
        """Run a startup step until it succeeds, waiting while a dependency is down; a failure
        that is not an outage (a bug, bad settings) is raised at once."""
        waiting_since = time.monotonic()
        next_report = 0.0
        while True:
            try:
                await step()
                return
            except Exception as exc:
                dependency = unavailable_dependency(exc)
                if dependency is None:
                    raise
                waited = time.monotonic() - waiting_since
                if waited >= next_report:
                    next_report = waited + report_every_s
                    log.warning(
                        "waiting for a dependency to start",
                        service=self.definition.name,
                        step=what,
                        dependency=dependency,
                        waited_s=round(waited, 1),
                        error=repr(outage_cause(exc)),
                    )
                await asyncio.sleep(1.0)

    async def start(
        self, *, relay: bool = True, projections: bool = True, jobs: bool = True
    ) -> None:
        await self.prepare_when_available()
        assert self.store is not None
        if relay:
            self.relay = Relay(self.store, self.settings.kafka, self.topic)
            self._tasks.append(asyncio.create_task(self.relay.run(self._stopping)))
        for job in self.definition.jobs if jobs else ():
            self._tasks.append(asyncio.create_task(run_job(job, self, self._stopping)))
        if relay or projections:  # the process that moves events samples how far behind it is
            every = self.settings.metrics_sample_seconds
            self._tasks.append(asyncio.create_task(sample_lag(self, self._stopping, every)))
        if projections:
            for p in self.definition.projections:
                live = LiveProjection(self.runner(p))
                # PostgreSQL or Kafka may go down between `prepare` and here (a crash while
                # a busy machine starts the worker): the projection waits for it like
                # `prepare` does, instead of the worker exiting with its relay half started.
                await self._when_available(live.start, f"projection {p.name}")
                self.live.append(live)
        log.info("service started", service=self.definition.name, topic=self.topic)

    async def stop(self) -> None:
        """A clean stop (SIGTERM): the relay waits for Kafka's acknowledgements of what it
        sent and saves its checkpoint; each projection lets its batch under way commit and
        commits its offsets, then its consumer leaves the group (aiokafka's LeaveGroup on
        `stop`), so the partitions move at once instead of after the session timeout."""
        self._stopping.set()
        await asyncio.gather(*(live.finish() for live in self.live), return_exceptions=True)
        for live in self.live:
            with contextlib.suppress(Exception):
                await live.stop()
        for task in self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
        if self.pool is not None:
            for give_back in self.definition.on_stop:
                try:
                    await asyncio.wait_for(give_back(self.pool), 10)
                except Exception as failed:  # the stop goes on: what is not given back expires
                    log.warning("not given back on stop", step=give_back, error=repr(failed))
            if self.store is not None:
                await self.store.doorbell.silence()
            await self.pool.close()

    async def check_database(self) -> None:
        assert self.pool is not None
        await self.pool.fetchval("SELECT 1")

    async def check_kafka(self) -> None:
        admin = admin_client(self.settings.kafka, request_timeout_ms=3000)
        await asyncio.wait_for(admin.start(), 5)
        try:
            await asyncio.wait_for(admin.describe_cluster(), 5)
        finally:
            await admin.close()


def token_verification(
    settings: ServiceSettings, service: str
) -> tuple[TokenIssuer, TokenVerifier]:
    """The dev issuer (tests issue with it) and what this service verifies tokens with: the
    identity provider's JWKS where configured, else the dev issuer's own key."""
    audience = settings.fairline_auth_audience or f"fairline-{service}"
    max_lifetime = timedelta(seconds=settings.fairline_auth_max_token_seconds)
    issuer = TokenIssuer(
        settings.fairline_auth_secret or None,
        settings.fairline_auth_issuer,
        audience=audience,
        max_lifetime=max_lifetime,
    )
    if settings.fairline_auth_jwks_url:
        keys = Jwks(settings.fairline_auth_jwks_url)
        verifier = TokenVerifier(
            keys, issuer=settings.fairline_auth_issuer, audience=audience, max_lifetime=max_lifetime
        )
        return issuer, verifier
    if not settings.fairline_auth_secret:
        log.warning(
            "neither FAIRLINE_AUTH_JWKS_URL nor FAIRLINE_AUTH_SECRET is set: only tokens of"
            " this process's own dev key verify"
        )
    return issuer, issuer.verifier


def build_app(
    definition: ServiceDefinition,
    settings: ServiceSettings,
    *,
    relay: bool = True,
    projections: bool = True,
    jobs: bool = True,
) -> FastAPI:
    configure_tracing(definition.name)
    runtime = Runtime(definition, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(relay=relay, projections=projections, jobs=jobs)
        try:
            yield
        finally:
            await runtime.stop()
            blobs = getattr(app.state, "blobs", None)  # opened by the routes that use files
            if blobs is not None:
                await blobs.aclose()  # an S3 client's connections, within the loop

    app = create_app(
        title=definition.title,
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        readiness={"database": runtime.check_database, "kafka": runtime.check_kafka},
        max_in_flight=settings.http_max_in_flight,
    )
    app.state.runtime = runtime
    app.state.token_issuer, app.state.token_verifier = token_verification(settings, definition.name)
    app.add_middleware(Receipts, service=definition.name)
    for router in definition.routers:
        _reads_wait_for_writes(router)
        _include_flat(app, router)

    @app.get(
        "/asyncapi.json",
        tags=["contracts"],
        summary="AsyncAPI of the events published",
        dependencies=[_READ_YOUR_WRITES],
    )
    async def asyncapi() -> Any:
        return asyncapi_document(definition, settings)

    return app


_READ_YOUR_WRITES = Depends(read_your_writes)


def _reads_wait_for_writes(router: APIRouter) -> None:
    """Every read (GET) may send a command's consistency token back (fairline_events.consistency).
    Only reads declare it: FastAPI would resolve it on every command too, for nothing, at a
    tenth of what its request machinery costs a hold. The routes' dependencies are read when
    the router is included, so they are added before."""
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: a service's routers hold only API routes")
        if "GET" in (route.methods or ()) and _READ_YOUR_WRITES not in route.dependencies:
            route.dependencies.insert(0, _READ_YOUR_WRITES)


def _include_flat(app: FastAPI, router: APIRouter) -> None:
    """Each of the router's routes made a route of the app itself, in the router's order, as
    `include_router` did before FastAPI kept included routers apart: the app's responses,
    dependencies and overrides apply the same, and the OpenAPI is the same. An included
    router is matched as a whole, and once more when it is selected: a hold's request went
    through four matches of whole routers (23 routes) before its route ran; flat, the app's
    routes are tried once each, in the same order, so the same route answers."""
    if router.on_startup or router.on_shutdown:
        raise TypeError(f"{router!r}: a service's routers have no startup or shutdown steps")
    for route in router.routes:
        if not isinstance(route, APIRoute):
            raise TypeError(f"{route!r}: a service's routers hold only API routes")
        copied = {name: _copied(getattr(route, name)) for name in ROUTE_ARGUMENTS}
        app.router.add_api_route(**copied, route_class_override=_quick(type(route)))


ROUTE_ARGUMENTS = tuple(
    name
    for name in inspect.signature(APIRouter.add_api_route).parameters
    if name not in ("self", "route_class_override")
)
"""Every argument FastAPI's `add_api_route` takes, each read from the route's attribute of
the same name: one a new FastAPI adds is carried over too, or fails loudly (no attribute)."""


def _copied(value: Any) -> Any:
    """Lists and dicts as copies: the app's route must not share them with the router's."""
    if isinstance(value, list):
        return list(value)
    return dict(value) if isinstance(value, dict) else value


class _QuickMatch(APIRoute):
    """A route that says at once that a path is not its own. Every request tries the routes
    in order until one matches, and FastAPI's `matches` takes several calls to say no; the
    route's own path pattern says it in one."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and self.path_regex.match(get_route_path(scope)) is None:
            return Match.NONE, {}
        return super().matches(scope)


_QUICK: dict[type[APIRoute], type[APIRoute]] = {APIRoute: _QuickMatch}


def _quick(route_class: type[APIRoute]) -> type[APIRoute]:
    """`route_class` (a router's own, if it has one), matching quickly."""
    if issubclass(route_class, _QuickMatch):
        return route_class
    if route_class not in _QUICK:
        _QUICK[route_class] = type(f"Quick{route_class.__name__}", (_QuickMatch, route_class), {})
    return _QUICK[route_class]


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def store_of(request: Request) -> EventStore:
    # async: FastAPI runs a plain function dependency in a thread, a hop per request
    store = runtime_of(request).store
    assert store is not None, "the service has not started"
    return store


async def pool_of(request: Request) -> asyncpg.Pool:
    pool = runtime_of(request).pool
    assert pool is not None, "the service has not started"
    return pool
