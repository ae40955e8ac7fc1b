"""Prometheus metrics, scraped over HTTP: lag rises while the relay is paused and falls to
zero once it runs; requests are counted by route template; appends by event type."""

from __future__ import annotations

from datetime import date

import httpx
import pytest
from fairline_events.context import CommandContext
from fairline_events.service import Runtime, build_app
from fairline_events.settings import ServiceSettings
from hotels.domain.events import AllotmentSet, HotelRegistered
from hotels.service import definition
from prometheus_client import start_http_server
from prometheus_client.parser import text_string_to_metric_families
from support.serving import free_port
from support.waiting import eventually

pytestmark = pytest.mark.infra


def sample(text: str, name: str, **labels: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


async def test_lag_rises_while_the_relay_is_paused_and_falls_to_zero_after(
    settings: ServiceSettings,
) -> None:
    settings = settings.model_copy(update={"metrics_sample_seconds": 0.2})
    port = free_port()
    start_http_server(port, addr="127.0.0.1")  # as `work` does with METRICS_PORT

    async def scrape() -> str:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"http://127.0.0.1:{port}/metrics")).text

    projecting = Runtime(definition, settings)
    await projecting.start(relay=False, projections=True, jobs=False)
    relaying = Runtime(definition, settings)
    try:
        assert projecting.store is not None
        await projecting.store.append(
            "hotel-metrics",
            [
                HotelRegistered(
                    hotel_code="metrics",
                    name_zh="指标酒店",
                    name_en="Metrics Hotel",
                    room_types={"standard": 10},
                ),
                *(
                    AllotmentSet(
                        hotel_code="metrics",
                        room_type="standard",
                        night=date(2021, 9, d),
                        rooms=5,
                        rate=800,
                    )
                    for d in (1, 2)
                ),
            ],
            0,
            CommandContext(actor="user:hotel-desk-1").for_command("RegisterHotel"),
        )
        paused = await eventually(
            scrape,
            lambda t: sample(t, "fairline_relay_lag_events", service="hotels") == 3,
            within=20,
            what="the relay lag at 3 events",
        )
        assert (sample(paused, "fairline_relay_lag_seconds", service="hotels") or 0) > 0
        appended = sample(
            paused, "fairline_events_appended_total", event_type="hotels.AllotmentSet"
        )
        assert appended is not None and appended >= 2

        await relaying.start(relay=True, projections=False, jobs=False)
        caught_up = await eventually(
            scrape,
            lambda t: (
                sample(t, "fairline_relay_lag_events", service="hotels") == 0
                and sample(
                    t, "fairline_projection_lag_events", service="hotels", projection="occupancy"
                )
                == 0
            ),
            within=30,
            what="relay and occupancy lag back to zero",
        )
        assert sample(caught_up, "fairline_relay_lag_seconds", service="hotels") == 0
        assert sample(
            caught_up,
            "fairline_consumer_rebalances_total",
            service="hotels",
            projection="occupancy",
        )
    finally:
        await relaying.stop()
        await projecting.stop()


async def test_requests_are_counted_by_route_template_and_status(
    settings: ServiceSettings,
) -> None:
    app = build_app(definition, settings, relay=False, projections=False, jobs=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hotels") as client:
        for hotel in ("b-1", "b-2", "b-3"):
            refused = await client.get(f"/blocks/{hotel}/pickup")
            assert refused.status_code == 401
        scraped = await client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain")
    counted = sample(
        scraped.text,
        "fairline_http_requests_total",
        route="/blocks/{block_id}/pickup",
        method="GET",
        status="401",
    )
    assert counted is not None and counted >= 3
    assert sample(
        scraped.text,
        "fairline_http_request_duration_seconds_count",
        route="/blocks/{block_id}/pickup",
        method="GET",
    )
