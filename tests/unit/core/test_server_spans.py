"""A request's span when no span of the process is exported: nothing is recorded, yet the
request has a span of its own in the caller's trace, so the events its command appends
carry a trace context that joins the caller's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fairline_events import telemetry
from fairline_events.context import current_trace_context
from fairline_events.telemetry import ServerSpans
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def app_seeing_trace_context() -> tuple[Any, list[dict[str, str]]]:
    """An app whose one route notes the trace context a command's events would carry."""
    seen: list[dict[str, str]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(current_trace_context())
        recording = trace.get_current_span().is_recording()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"recording" if recording else b""})

    return ServerSpans(app), seen


async def answers(app: Any, *headers: dict[str, str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return [await client.post("/holds", headers=h) for h in headers]


@pytest.fixture
def unexported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_unseen", lambda: True)
    monkeypatch.setattr(telemetry, "_sampler_default", True)


@pytest.mark.usefixtures("unexported")
async def test_a_request_continues_its_callers_trace_in_a_span_of_its_own() -> None:
    app, seen = app_seeing_trace_context()
    caller = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}

    [answer] = await answers(app, caller)

    assert answer.status_code == 200 and answer.content == b""  # nothing recorded
    version, trace_id, span_id, flags = seen[0]["traceparent"].split("-")
    assert (version, trace_id, flags) == ("00", CALLER_TRACE, "01")
    assert span_id not in (CALLER_SPAN, "0" * 16)


@pytest.mark.usefixtures("unexported")
async def test_a_caller_that_does_not_sample_is_not_sampled_here_either() -> None:
    app, seen = app_seeing_trace_context()

    await answers(app, {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"})

    assert seen[0]["traceparent"].startswith(f"00-{CALLER_TRACE}-")
    assert seen[0]["traceparent"].endswith("-00")


@pytest.mark.usefixtures("unexported")
async def test_requests_without_a_caller_trace_each_start_their_own() -> None:
    app, seen = app_seeing_trace_context()

    await answers(app, {}, {})

    traces = [context["traceparent"].split("-")[1] for context in seen]
    assert len(set(traces)) == 2 and "0" * 32 not in traces
    assert all(context["traceparent"].endswith("-01") for context in seen)
    assert current_trace_context() == {}  # the request's span ended with it


@pytest.mark.usefixtures("unexported")
async def test_a_callers_baggage_never_rides_into_the_events_trace_context() -> None:
    app, seen = app_seeing_trace_context()
    caller = {
        "traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01",
        "baggage": "visitor=" + "x" * 4000,
    }

    await answers(app, caller)

    assert set(seen[0]) == {"traceparent"}
    assert seen[0]["traceparent"].split("-")[1] == CALLER_TRACE


def test_spans_go_unrecorded_only_while_the_provider_has_no_processor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Against the SDK's real provider: the day it keeps its processors elsewhere, this
    fails here rather than every request recording (or failing) in production."""
    provider = TracerProvider()
    monkeypatch.setattr(telemetry, "_unexported", provider)
    monkeypatch.setattr(trace, "get_tracer_provider", lambda: provider)
    assert telemetry._unseen()

    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))

    assert not telemetry._unseen()
