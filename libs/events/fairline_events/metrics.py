"""Prometheus metrics of every API process and worker (`/metrics`).

Names follow Prometheus conventions (`fairline_` prefix, `_total` counters, base units):

- `fairline_http_requests_total{route,method,status}` and
  `fairline_http_request_duration_seconds{route,method}`: by route template, so ids in paths
  never explode the label set;
- `fairline_events_appended_total{event_type}`;
- `fairline_relay_lag_events{service}` / `fairline_relay_lag_seconds{service}`: committed
  events not yet on Kafka, and the age of the oldest;
- `fairline_projection_lag_events{service,projection}` / `..._seconds`: records on the topic
  a read model has not applied, and the age of the first;
- `fairline_projection_dead_letters_total{service,projection}`,
  `fairline_consumer_rebalances_total{service,projection}`;
- `fairline_job_due{service,job}`: work a job has waiting (holds past expiry, cut-offs due).

Lag is sampled every few seconds by the process that relays and projects, from the same
figures `fairctl lag` prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .kafka import consumer as kafka_consumer
from .lag import read_model_lags, relay_lag

if TYPE_CHECKING:
    from .service import Runtime

log = structlog.get_logger(__name__)

HTTP_REQUESTS = Counter(
    "fairline_http_requests", "HTTP requests answered", ["route", "method", "status"]
)
HTTP_DURATION = Histogram(
    "fairline_http_request_duration_seconds",
    "time to answer an HTTP request",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_APPENDED = Counter("fairline_events_appended", "events appended", ["event_type"])
RELAY_LAG_EVENTS = Gauge("fairline_relay_lag_events", "events not yet on Kafka", ["service"])
RELAY_LAG_SECONDS = Gauge(
    "fairline_relay_lag_seconds", "age of the oldest event not yet on Kafka", ["service"]
)
PROJECTION_LAG_EVENTS = Gauge(
    "fairline_projection_lag_events", "records not yet applied", ["service", "projection"]
)
PROJECTION_LAG_SECONDS = Gauge(
    "fairline_projection_lag_seconds",
    "age of the first record not yet applied",
    ["service", "projection"],
)
DEAD_LETTERS = Counter(
    "fairline_projection_dead_letters", "events dead-lettered", ["service", "projection"]
)
REBALANCES = Counter(
    "fairline_consumer_rebalances", "partition assignments received", ["service", "projection"]
)
JOB_DUE = Gauge("fairline_job_due", "work a job has waiting", ["service", "job"])

SAMPLE_EVERY = 5.0


def exposition() -> tuple[bytes, str]:
    """The metrics of this process, in Prometheus' text format."""
    return generate_latest(), CONTENT_TYPE_LATEST


class HttpMetrics:
    """Counts and times every request by its route template (`/editions/{edition_code}/…`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/metrics":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            labelled(HTTP_REQUESTS, template, method, str(status)).inc()
            labelled(HTTP_DURATION, template, method).observe(time.perf_counter() - started)


@functools.cache
def labelled(metric: Any, *labels: str) -> Any:
    """A metric's child for these label values, looked up once: the lookup on every request
    or append cost as much as counting. For labels of few values (routes, statuses, event
    types), never per-stream or per-user ones."""
    return metric.labels(*labels)


async def sample_lag(
    runtime: Runtime, stopping: asyncio.Event, every: float = SAMPLE_EVERY
) -> None:
    """Refresh the lag and job gauges until `stopping`; a failed sample is tried again."""
    service = runtime.definition.name
    settings = runtime.settings
    consumer = kafka_consumer(settings.kafka, enable_auto_commit=False)
    started = False
    while not stopping.is_set():
        try:
            if not started:
                await consumer.start()
                started = True
            assert runtime.pool is not None
            async with runtime.pool.acquire() as conn:
                relay = await relay_lag(conn)
                RELAY_LAG_EVENTS.labels(service).set(relay.events)
                RELAY_LAG_SECONDS.labels(service).set(relay.seconds)
                prefix, projections = settings.fairline_topic_prefix, runtime.definition.projections
                for lag in await read_model_lags(
                    conn, consumer, settings.kafka, prefix, projections
                ):
                    PROJECTION_LAG_EVENTS.labels(service, lag.name).set(lag.events)
                    PROJECTION_LAG_SECONDS.labels(service, lag.name).set(lag.seconds)
            for job in runtime.definition.jobs:
                if job.due is not None:
                    JOB_DUE.labels(service, job.name).set(await job.due(runtime))
        except Exception as exc:  # metrics never take the worker down
            log.warning("lag sample failed; retrying", error=repr(exc))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), every)
    if started:
        await consumer.stop()
