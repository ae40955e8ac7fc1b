"""One business action, one trace, across two running services.

A sales desk approves an exhibitor and holds a booth for it. The exhibitors service decides
the approval; its relay sends the event; the booths service's admissions policy consumes it
and admits the exhibitor (a command of its own, relayed in turn); the desk then holds a
booth, and the booths floor plan applies the hold. Both services run here with their APIs,
relays and projections (real Kafka and PostgreSQL); every span goes to one in-memory
exporter.

How the hold joins the trace: it is a second HTTP request, so nothing on the server could
join it to the approval. The desk's front end does, as a real one would: the action
("admit and hold") is its span, and each request it sends carries that span's context in
`traceparent`. So both requests are children of the desk's action, and the admission
travels from one service to the other through the events (their stored trace context and
the records' `traceparent` header).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from booths.service import definition as booths
from e2e.booths.harness import EDITION, add_booths, admitted, open_edition
from e2e.booths.harness import Api as BoothsApi
from exhibitors.service import definition as exhibitors
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from fairline_events.telemetry import SEMCONV_SCHEMA
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import messaging_attributes as messaging
from opentelemetry.semconv.attributes import db_attributes as db
from opentelemetry.semconv.attributes import http_attributes as http
from opentelemetry.semconv.attributes import server_attributes as server
from opentelemetry.semconv.attributes import url_attributes as url
from support.serving import serving
from support.waiting import eventually

pytestmark = pytest.mark.infra

SPANS = InMemorySpanExporter()
Kind = trace.SpanKind

COMPANY = {
    "company": {
        "name_zh": "京东",
        "name_en": "JD.com",
        "country_or_region": "CN",
        "sector": "digital trust",
        "participation_mode": "both",
    },
    "contact": {"name": "Li Lei", "email": "li.lei@example.com", "phone": "+86 10 8765 4321"},
}


def _install_exporter() -> None:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(SPANS))


@contextlib.asynccontextmanager
async def two_services(settings: ServiceSettings) -> AsyncIterator[tuple[Any, BoothsApi]]:
    _install_exporter()
    exhibitors_app = build_app(exhibitors, settings)
    booths_app = build_app(booths, settings)
    async with serving(exhibitors_app) as ex_client, serving(booths_app) as booths_client:
        yield (ex_client, exhibitors_app), BoothsApi(booths_client, booths_app)


class Desk:
    """The sales desk's front end: one span per action, `traceparent` on each request."""

    def __init__(self) -> None:
        self.tracer = trace.get_tracer("sales-desk-front-end")

    async def send(
        self, client: httpx.AsyncClient, method: str, path: str, token: str, **kw: Any
    ) -> tuple[httpx.Response, ReadableSpan]:
        target = client.base_url.join(path)
        with self.tracer.start_as_current_span(
            method,
            kind=Kind.CLIENT,
            attributes={
                http.HTTP_REQUEST_METHOD: method,
                url.URL_FULL: str(target),
                server.SERVER_ADDRESS: target.host,
                server.SERVER_PORT: target.port or 80,
            },
        ) as span:
            headers = {"Authorization": f"Bearer {token}"}
            propagate.inject(headers)
            response = await client.request(method, path, headers=headers, **kw)
            span.set_attribute(http.HTTP_RESPONSE_STATUS_CODE, response.status_code)
        assert isinstance(span, ReadableSpan)
        return response, span


def spans_of(trace_id: int) -> list[ReadableSpan]:
    return [s for s in SPANS.get_finished_spans() if s.context.trace_id == trace_id]


def one(spans: list[ReadableSpan], what: str, **attributes: object) -> ReadableSpan:
    kind = attributes.pop("kind", None)
    found = [
        s
        for s in spans
        if (kind is None or s.kind == kind)
        and all((s.attributes or {}).get(k) == v for k, v in attributes.items())
    ]
    assert len(found) == 1, f"{what}: {len(found)} spans match {attributes}"
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_an_approval_its_admission_a_hold_and_the_floor_plan_are_one_trace(
    settings: ServiceSettings,
) -> None:
    prefix = settings.fairline_topic_prefix
    async with two_services(settings) as ((ex, ex_app), booths_api):
        issue = ex_app.state.token_issuer.issue
        company, recruiter = issue("li.lei", ["exhibitor"]), issue("zhao.min", ["recruitment"])
        created = await ex.post(
            "/editions/ciftis-2021/applications",
            json=COMPANY,
            headers={"Authorization": f"Bearer {company}"},
        )
        assert created.status_code == 201, created.text
        app_id = created.json()["application_id"]
        for step, who in [("submit", company), ("review", recruiter)]:
            done = await ex.post(
                f"/applications/{app_id}/{step}", headers={"Authorization": f"Bearer {who}"}
            )
            assert done.status_code == 200, done.text
        await open_edition(booths_api)
        await add_booths(booths_api, "E1", ["E1-301"])

        desk = Desk()
        with desk.tracer.start_as_current_span("admit and hold a booth") as action:
            approved, approve_call = await desk.send(
                ex, "POST", f"/applications/{app_id}/approve", recruiter, json={"note": "ok"}
            )
            assert approved.status_code == 200, approved.text
            await admitted(booths_api, 1)  # the admissions policy ran in booths
            held, hold_call = await desk.send(
                booths_api.client,
                "POST",
                f"/editions/{EDITION}/booths/E1-301/hold",
                booths_api.token("sales"),
                json={"exhibitor_id": app_id},
            )
            assert held.status_code in (200, 201), held.text
        trace_id = action.get_span_context().trace_id

        floor_group = f"{prefix}booths.projection.booths_floor_plan"

        def floor_plan_applied(spans: list[ReadableSpan]) -> bool:
            """The floor plan's span of the hold, and the relay's send of it: a consumer may
            fetch a record before the producer hears Kafka acknowledge it."""
            hold_spans = [
                s
                for s in spans
                if (s.attributes or {}).get("fairline.event_type") == "booths.BoothHeld"
            ]
            return any(
                (s.attributes or {}).get(messaging.MESSAGING_CONSUMER_GROUP_NAME) == floor_group
                for s in hold_spans
            ) and any(s.kind == Kind.PRODUCER for s in hold_spans)

        spans = await eventually(
            lambda: asyncio.sleep(0, spans_of(trace_id)),
            floor_plan_applied,
            within=30,
            what="the floor plan's span of the hold in the desk's trace",
        )

    # The approval: desk -> exhibitors API -> its append and its relay's send.
    approve_server = one(
        spans,
        "exhibitors' server span",
        kind=Kind.SERVER,
        **{http.HTTP_ROUTE: "/applications/{application_id}/approve"},
    )
    assert parent_of(approve_server) == approve_call.context.span_id
    assert approve_server.name == "POST /applications/{application_id}/approve"
    assert approve_server.attributes is not None
    assert approve_server.attributes[http.HTTP_REQUEST_METHOD] == "POST"
    assert approve_server.attributes[http.HTTP_RESPONSE_STATUS_CODE] == 200
    assert approve_server.attributes[url.URL_PATH] == f"/applications/{app_id}/approve"
    approve_append = one(
        [s for s in spans if parent_of(s) == approve_server.context.span_id],
        "the approval's append",
        kind=Kind.CLIENT,
    )
    assert approve_append.name == "INSERT events"
    assert approve_append.attributes is not None
    assert approve_append.attributes[db.DB_SYSTEM_NAME] == "postgresql"
    assert (
        approve_append.attributes[db.DB_NAMESPACE]
        == f"{settings.fairline_database_prefix}exhibitors"
    )
    assert approve_append.attributes[db.DB_OPERATION_NAME] == "INSERT"
    assert approve_append.attributes[db.DB_COLLECTION_NAME] == "events"
    sent_approval = one(
        spans,
        "exhibitors' relay sending the approval",
        kind=Kind.PRODUCER,
        **{"fairline.event_type": "exhibitors.ApplicationApproved"},
    )
    assert parent_of(sent_approval) == approve_server.context.span_id
    assert sent_approval.name == f"send {prefix}exhibitors.events"
    assert sent_approval.attributes is not None
    assert sent_approval.attributes[messaging.MESSAGING_SYSTEM] == "kafka"
    assert sent_approval.attributes[messaging.MESSAGING_OPERATION_TYPE] == "send"
    assert (
        sent_approval.attributes[messaging.MESSAGING_DESTINATION_NAME]
        == f"{prefix}exhibitors.events"
    )
    assert (
        sent_approval.attributes[messaging.MESSAGING_KAFKA_MESSAGE_KEY] == f"application-{app_id}"
    )

    # The admission: booths consumes the approval, and its command continues that span.
    admission = one(
        spans,
        "booths' admissions policy",
        kind=Kind.CONSUMER,
        **{
            messaging.MESSAGING_CONSUMER_GROUP_NAME: f"{prefix}booths.projection.booths_admissions",
            "fairline.event_type": "exhibitors.ApplicationApproved",
        },
    )
    assert parent_of(admission) == sent_approval.context.span_id
    assert admission.name == f"process {prefix}exhibitors.events"
    assert admission.attributes is not None
    assert admission.attributes[messaging.MESSAGING_OPERATION_TYPE] == "process"
    assert isinstance(admission.attributes[messaging.MESSAGING_KAFKA_OFFSET], int)
    assert isinstance(admission.attributes[messaging.MESSAGING_DESTINATION_PARTITION_ID], str)
    admit_append = one(
        [s for s in spans if parent_of(s) == admission.context.span_id],
        "the admission's append in booths",
        kind=Kind.CLIENT,
    )
    assert admit_append.attributes is not None
    assert admit_append.attributes[db.DB_NAMESPACE] == f"{settings.fairline_database_prefix}booths"
    sent_admission = one(
        spans,
        "booths' relay sending the admission",
        kind=Kind.PRODUCER,
        **{"fairline.event_type": "booths.ExhibitorAdmitted"},
    )
    assert parent_of(sent_admission) == admission.context.span_id

    # The hold: the desk's second request, and the floor plan applying it.
    hold_server = one(
        spans,
        "booths' server span of the hold",
        kind=Kind.SERVER,
        **{http.HTTP_ROUTE: "/editions/{edition_code}/booths/{booth_code}/hold"},
    )
    assert parent_of(hold_server) == hold_call.context.span_id
    sent_hold = one(
        spans,
        "booths' relay sending the hold",
        kind=Kind.PRODUCER,
        **{"fairline.event_type": "booths.BoothHeld"},
    )
    assert parent_of(sent_hold) == hold_server.context.span_id
    floor = one(
        spans,
        "the floor plan applying the hold",
        kind=Kind.CONSUMER,
        **{
            messaging.MESSAGING_CONSUMER_GROUP_NAME: floor_group,
            "fairline.event_type": "booths.BoothHeld",
        },
    )
    assert parent_of(floor) == sent_hold.context.span_id

    # Both calls are the desk's action's; every span names the pinned conventions.
    assert parent_of(approve_call) == parent_of(hold_call) == action.get_span_context().span_id
    scopes = {s.instrumentation_scope for s in spans if s.instrumentation_scope is not None}
    ours = {scope.schema_url for scope in scopes if scope.name.startswith("fairline")}
    assert ours == {SEMCONV_SCHEMA.value}
