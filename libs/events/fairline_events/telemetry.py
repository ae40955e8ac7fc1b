"""Tracing and structured logs.

The tracer provider reads the standard OTEL_* variables (OTEL_SERVICE_NAME,
OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_TRACES_SAMPLER ...). Without an endpoint, spans are still
made and propagated, just not exported, so trace ids still reach logs and events.

One business action is one trace across services: the HTTP server span (the caller's
`traceparent` continued), the event store's append (a database span), the relay's `send`
span (its context goes in the record's `traceparent` header, beside the envelope's
`trace_context` of the deciding request), and each consumer's `process` span, whose
commands (a policy's) carry its context on. Every span is made here, with the attribute
names of ONE version of the OpenTelemetry semantic conventions (`SEMCONV_VERSION`; the
messaging ones are still "Development" and were renamed between versions, so the version is
pinned with the package, `opentelemetry-semantic-conventions`, and tracers declare it as
their schema URL).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.semconv.attributes import (
    db_attributes as db,
)
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.semconv.attributes import (
    http_attributes as http,
)
from opentelemetry.semconv.attributes import (
    url_attributes as url,
)
from opentelemetry.semconv.schemas import Schemas
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SEMCONV_SCHEMA = Schemas.V1_44_0
"""The semantic conventions every span here follows (HTTP, database, messaging)."""
SEMCONV_VERSION = SEMCONV_SCHEMA.value.rsplit("/", 1)[-1]

_configured = False
_unexported: TracerProvider | None = None
"""The provider `configure_tracing` installed with no exporter: its spans go nowhere."""
_sampler_default = True
"""Whether that provider samples as the SDK does by default (parent-based, always on): what a
request's unrecorded span then says of sampling is what a recorded one would."""


def configure_tracing(service: str) -> None:
    global _configured, _unexported, _sampler_default
    if _configured:
        return
    _configured = True
    if isinstance(trace.get_tracer_provider(), TracerProvider):
        return  # someone (a test, an agent) installed one already
    os.environ.setdefault("OTEL_SERVICE_NAME", f"fairline-{service}")
    provider = TracerProvider(resource=Resource.create(schema_url=SEMCONV_SCHEMA.value))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    ):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    else:
        _unexported = provider
        sampler = os.environ.get("OTEL_TRACES_SAMPLER", "parentbased_always_on")
        _sampler_default = sampler.strip().lower() == "parentbased_always_on"
    trace.set_tracer_provider(provider)


def _unseen() -> bool:
    """Whether no span of this process reaches anyone: no SDK provider was installed (the
    proxy makes no-op spans: a tool or test that never configured tracing), or the provider
    is ours, made without an exporter, and none was added to it since."""
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return True
    ours = _unexported
    if ours is None or trace.get_tracer_provider() is not ours:
        return False
    # The SDK keeps its processors privately: should it rename them, every span is recorded
    # (correct, only slower), never a request failed.
    processors = getattr(getattr(ours, "_active_span_processor", None), "_span_processors", None)
    return processors == ()


@functools.cache
def tracer(name: str = "fairline") -> trace.Tracer:
    """One tracer per name for the process: making one per span (the event store's append)
    cost a twentieth of a hold's CPU. A tracer got before the provider is set forwards to it
    once it is (the API's proxy), and the provider is set once per process."""
    return trace.get_tracer(name, schema_url=SEMCONV_SCHEMA.value)


def _carried(context: otel_context.Context) -> bool:
    return trace.get_current_span(context).get_span_context().is_valid


def send_span(
    topic: str, *, key: str, event_type: str, event_id: str, parent: Mapping[str, str]
) -> trace.Span | None:
    """The relay's PRODUCER span of one event, a child of the request that decided it (its
    stored trace context); None for an event stored without one."""
    context = extract_context(parent)
    if not _carried(context):
        return None
    return tracer("fairline.relay").start_span(
        f"send {topic}",
        context=context,
        kind=trace.SpanKind.PRODUCER,
        attributes={
            messaging.MESSAGING_SYSTEM: messaging.MessagingSystemValues.KAFKA.value,
            messaging.MESSAGING_OPERATION_TYPE: messaging.MessagingOperationTypeValues.SEND.value,
            messaging.MESSAGING_OPERATION_NAME: "send",
            messaging.MESSAGING_DESTINATION_NAME: topic,
            messaging.MESSAGING_KAFKA_MESSAGE_KEY: key,
            messaging.MESSAGING_MESSAGE_ID: event_id,
            "fairline.event_type": event_type,
            "fairline.stream_id": key,
        },
    )


_UNTRACED: AbstractContextManager[Any] = contextlib.nullcontext()


def process_span(
    *,
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    group: str,
    event_type: str,
    event_id: str,
) -> AbstractContextManager[Any]:
    """A consumer's span of one record, a child of the producer's `send` span (the record's
    `traceparent`); current while the handler runs, so a policy's commands continue it."""
    # A plain loop and one shared null context: this runs for every event of every batch.
    for name, _ in headers:
        if name == "traceparent":
            break
    else:
        return _UNTRACED
    context = extract_context({k: v.decode(errors="replace") for k, v in headers})
    if not _carried(context):
        return _UNTRACED
    attributes: dict[str, str | int] = {
        messaging.MESSAGING_SYSTEM: messaging.MessagingSystemValues.KAFKA.value,
        messaging.MESSAGING_OPERATION_TYPE: messaging.MessagingOperationTypeValues.PROCESS.value,
        messaging.MESSAGING_OPERATION_NAME: "process",
        messaging.MESSAGING_DESTINATION_NAME: topic,
        messaging.MESSAGING_DESTINATION_PARTITION_ID: str(partition),
        messaging.MESSAGING_KAFKA_OFFSET: offset,
        messaging.MESSAGING_CONSUMER_GROUP_NAME: group,
        messaging.MESSAGING_MESSAGE_ID: event_id,
        "fairline.event_type": event_type,
    }
    if key is not None:
        attributes[messaging.MESSAGING_KAFKA_MESSAGE_KEY] = key.decode(errors="replace")
    return tracer("fairline.projection").start_as_current_span(
        f"process {topic}", context=context, kind=trace.SpanKind.CONSUMER, attributes=attributes
    )


def database_span(
    operation: str, collection: str, connection: Any, *, batch: int = 1
) -> AbstractContextManager[Any]:
    """A CLIENT span of one statement on PostgreSQL (the event store's append, `batch`
    streams at once), inside the current trace; none outside one, so jobs and replays make
    no root spans; none either where no span is exported (it is never current, so nothing
    else sees it: a twentieth of a hold's CPU for nothing)."""
    if not trace.get_current_span().get_span_context().is_valid or _unseen():
        return _UNTRACED
    attributes: dict[str, str | int] = {
        db.DB_SYSTEM_NAME: db.DbSystemNameValues.POSTGRESQL.value,
        db.DB_OPERATION_NAME: operation,
        db.DB_COLLECTION_NAME: collection,
        db.DB_QUERY_SUMMARY: f"{operation} {collection}",
    }
    if batch > 1:  # the conventions count a batch from two operations on
        attributes[db.DB_OPERATION_BATCH_SIZE] = batch
    # asyncpg keeps the database it connected to in `_params`; a pipeline forwards to it.
    database = getattr(getattr(connection, "_params", None), "database", None)
    if isinstance(database, str):
        attributes[db.DB_NAMESPACE] = database
    span = tracer("fairline.store").start_span(
        f"{operation} {collection}", kind=trace.SpanKind.CLIENT, attributes=attributes
    )
    return _Ending(span)


class _Ending:
    """A span ended when its block ends, failures recorded, and never made current: it has
    no children, and attaching and detaching a context cost as much again as the span."""

    __slots__ = ("span",)

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def __enter__(self) -> trace.Span:
        return self.span

    def __exit__(self, kind: Any, exc: Any, _traceback: Any) -> None:
        if isinstance(exc, Exception):
            _failed(self.span, exc)
        self.span.end()


def _failed(span: trace.Span, exc: Exception) -> None:
    """What `start_as_current_span` records of an exception that leaves its block."""
    span.record_exception(exc)
    span.set_status(trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))


def extract_context(carrier: Mapping[str, str]) -> otel_context.Context:
    return propagate.extract(dict(carrier))


def _add_trace_ids(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    span = trace.get_current_span().get_span_context()
    if span.is_valid:
        event_dict["trace_id"] = format(span.trace_id, "032x")
        event_dict["span_id"] = format(span.span_id, "016x")
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr, each with the current trace and span ids.

    stderr keeps stdout clean for what commands print (an OpenAPI document, say).
    """
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_trace_ids,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )


_TRACE_HEADERS = frozenset({b"traceparent", b"tracestate", b"baggage"})


class ServerSpans:
    """One server span per request, a child of the caller's `traceparent`, current while the
    route runs (so the events a command appends carry its trace context).

    What opentelemetry-instrumentation-fastapi's middleware does for us, without the work
    it repeats on every request: it matches the route against every route of the app to
    name the span, and collects a dozen attributes from the headers, about a tenth of a
    hold's CPU in the bench's profile. The route template comes from Starlette's routing,
    once it has run.
    """

    def __init__(self, app: ASGIApp, excluded: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.excluded = excluded
        self.tracer = tracer("fairline.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded:
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _TRACE_HEADERS
        }
        parent = propagate.extract(carrier) if carrier else None
        if _sampler_default and _unseen():
            # Nobody receives this process's spans: the request still gets its own span id in
            # the caller's trace (or a new trace), so its events, logs and the spans of whoever
            # reads them carry a trace context; recording what no one reads cost a tenth of a
            # hold's CPU in the request path.
            await self._unrecorded(parent, scope, receive, send)
            return
        method = scope["method"]
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        span = self.tracer.start_span(
            method,
            context=parent,
            kind=trace.SpanKind.SERVER,
            attributes={
                http.HTTP_REQUEST_METHOD: method,
                url.URL_PATH: scope["path"],
                url.URL_SCHEME: scope.get("scheme", "http"),
            },
        )
        # Current while the route runs, as `start_as_current_span` would make it, without
        # its generator-based context managers (a twentieth of a hold's CPU with the store's).
        token = otel_context.attach(trace.set_span_in_context(span))
        failure: Exception | None = None
        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            failure = exc
            raise
        finally:
            template = getattr(scope.get("route"), "path", None)
            if template is not None:
                span.update_name(f"{method} {template}")
                span.set_attribute(http.HTTP_ROUTE, template)
            span.set_attribute(http.HTTP_RESPONSE_STATUS_CODE, status)
            if status >= 500:
                span.set_attribute(error_attributes.ERROR_TYPE, str(status))
                span.set_status(trace.StatusCode.ERROR)
            if failure is not None:
                _failed(span, failure)
            span.end()
            otel_context.detach(token)

    async def _unrecorded(
        self, parent: otel_context.Context | None, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """The route under a span that records nothing: the ids a recording span would
        have (the caller's trace and sampling decision continued), no attributes, no end."""
        caller = trace.get_current_span(parent).get_span_context() if parent else None
        if caller is not None and caller.is_valid:
            trace_id, flags, state = caller.trace_id, caller.trace_flags, caller.trace_state
        else:
            trace_id, flags, state = _new_trace_id(), _SAMPLED, _NO_STATE
        span = trace.NonRecordingSpan(
            trace.SpanContext(
                trace_id, _new_span_id(), is_remote=False, trace_flags=flags, trace_state=state
            )
        )
        # The span alone, as the recording path makes it: the caller's other entries (its
        # `baggage` header) must not ride into every event's trace context.
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)


_SAMPLED = trace.TraceFlags(trace.TraceFlags.SAMPLED)
_NO_STATE = trace.TraceState()


_IDS = RandomIdGenerator()
_new_trace_id = _IDS.generate_trace_id
_new_span_id = _IDS.generate_span_id
