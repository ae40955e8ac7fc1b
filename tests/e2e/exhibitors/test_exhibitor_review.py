"""End to end over HTTP: the exhibitors service with its relay and projections running."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from exhibitors.service import definition
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from support.serving import serving
from support.waiting import eventually

pytestmark = pytest.mark.infra

SPANS = InMemorySpanExporter()


def _install_tracer() -> None:
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(SPANS))


class Api:
    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str], prefix: str) -> None:
        self.client = client
        self.tokens = tokens
        self.prefix = prefix

    async def call(self, method: str, path: str, role: str | None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return await self.client.request(method, path, headers=headers, **kw)


@pytest.fixture
async def api(settings: ServiceSettings) -> AsyncIterator[Api]:
    _install_tracer()
    app = build_app(definition, settings)
    issuer = app.state.token_issuer
    tokens = {
        "company": issuer.issue("wang.fang", ["exhibitor"]),
        "other_company": issuer.issue("li.lei", ["exhibitor"]),
        "recruiter": issuer.issue("zhao.min", ["recruitment"]),
        "visitor": issuer.issue("visitor-1", ["visitor"]),
    }
    async with serving(app, request_timeout=30) as client:
        yield Api(client, tokens, settings.fairline_topic_prefix)


HUAWEI = {
    "company": {
        "name_zh": "华为",
        "name_en": "Huawei",
        "country_or_region": "CN",
        "sector": "digital transformation",
        "participation_mode": "both",
    },
    "contact": {"name": "Wang Fang", "email": "wang.fang@example.com", "phone": "+86 10 1234 5678"},
}


async def test_register_submit_approve_then_the_directory_lists_it_in_one_trace(api: Api) -> None:
    created = await api.call("POST", "/editions/ciftis-2021/applications", "company", json=HUAWEI)
    assert created.status_code == 201, created.text
    app_id = created.json()["application_id"]
    assert created.headers["Location"] == f"/applications/{app_id}"

    assert (await api.call("POST", f"/applications/{app_id}/submit", "company")).status_code == 200
    queue = await eventually(
        lambda: api.call("GET", "/review-queue?status=submitted&country_or_region=cn", "recruiter"),
        lambda r: any(e["application_id"] == app_id for e in r.json()),
        what="the application waiting in the review queue",
    )
    [entry] = [e for e in queue.json() if e["application_id"] == app_id]
    assert entry["waiting_hours"] is not None and entry["status"] == "submitted"

    review = await api.call("POST", f"/applications/{app_id}/review", "recruiter")
    assert review.json()["reviewer"] == "zhao.min"
    SPANS.clear()
    approved = await api.call(
        "POST", f"/applications/{app_id}/approve", "recruiter", json={"note": "welcome"}
    )
    assert approved.status_code == 200 and approved.json()["status"] == "approved"

    listing = await eventually(
        lambda: api.call("GET", "/directory?edition_code=ciftis-2021", "visitor"),
        lambda r: any(e["application_id"] == app_id for e in r.json()),
        what="the exhibitor listed in the directory",
    )
    [listed] = [e for e in listing.json() if e["application_id"] == app_id]
    assert listed["name_zh"] == "华为" and "contact_email" not in listed

    # One trace: the approve request, the relay's send, the projection's apply.
    def trace_ids(match: str, group: str | None = None) -> set[int]:
        return {
            s.context.trace_id
            for s in SPANS.get_finished_spans()
            if match in s.name
            and (
                group is None or (s.attributes or {}).get("messaging.consumer.group.name") == group
            )
        }

    [request_trace] = trace_ids("POST /applications/{application_id}/approve")
    directory = f"{api.prefix}exhibitors.projection.directory"
    await eventually(
        lambda: asyncio.sleep(0, trace_ids("process ", directory)),
        lambda ids: request_trace in ids,
        what="the directory projection's span in the request's trace",
    )
    assert request_trace in trace_ids(f"send {api.prefix}exhibitors.events")

    detail = await api.call("GET", f"/applications/{app_id}", "company")
    history = detail.json()["history"]
    assert [h["event_type"] for h in history] == [
        "exhibitors.ExhibitorRegistered",
        "exhibitors.ApplicationSubmitted",
        "exhibitors.ReviewStarted",
        "exhibitors.ApplicationApproved",
    ]
    assert history[-1]["actor"] == "user:zhao.min"


async def test_bad_requests_get_clear_errors_and_change_nothing(api: Api) -> None:
    async def error(response: httpx.Response) -> tuple[int, str]:
        body = response.json()
        assert set(body) == {"error"} and body["error"]["message"]
        return response.status_code, body["error"]["code"]

    path = "/editions/ciftis-2021/applications"
    bad_email = {**HUAWEI, "contact": {**HUAWEI["contact"], "email": "nope"}}
    assert await error(await api.call("POST", path, "company", json=bad_email)) == (
        422,
        "invalid_request",
    )
    assert await error(
        await api.call("POST", "/editions/CIFTIS 2021/applications", "company", json=HUAWEI)
    ) == (422, "invalid_request")
    assert await error(await api.call("POST", path, None, json=HUAWEI)) == (401, "unauthenticated")
    assert await error(await api.call("POST", path, "visitor", json=HUAWEI)) == (
        403,
        "missing_role",
    )
    assert await error(await api.call("POST", "/applications/app-nope/submit", "recruiter")) == (
        404,
        "application_not_found",
    )
    created = await api.call("POST", path, "company", json=HUAWEI)
    app_id = created.json()["application_id"]
    assert await error(
        await api.call("POST", f"/applications/{app_id}/submit", "other_company")
    ) == (
        403,
        "not_the_applicant",
    )
    assert await error(
        await api.call("POST", f"/applications/{app_id}/approve", "recruiter", json={})
    ) == (422, "illegal_transition")
    assert await error(
        await api.call("POST", f"/applications/{app_id}/reject", "recruiter", json={"reason": ""})
    ) == (422, "invalid_request")
    token = api.tokens["company"][:-4] + "abcd"
    forged = await api.client.post(path, json=HUAWEI, headers={"Authorization": f"Bearer {token}"})
    assert await error(forged) == (401, "unauthenticated")

    detail = await api.call("GET", f"/applications/{app_id}", "company")
    assert detail.json()["status"] == "draft" and len(detail.json()["history"]) == 1


async def test_concurrent_reviews_of_one_application_have_one_winner(api: Api) -> None:
    created = await api.call("POST", "/editions/ciftis-2021/applications", "company", json=HUAWEI)
    app_id = created.json()["application_id"]
    await api.call("POST", f"/applications/{app_id}/submit", "company")
    results = await asyncio.gather(
        *(api.call("POST", f"/applications/{app_id}/review", "recruiter") for _ in range(8))
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(200) == 1, statuses
    assert all(s in (409, 422) for s in statuses if s != 200)
