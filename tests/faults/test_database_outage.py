"""PostgreSQL crashes under load: clients get 503 with Retry-After at once, on the same
keep-alive connections, never a 500 or a dropped connection, and the service recovers alone.

The database is a throwaway server of this test's own (see support.own_postgres): killing the
shared one would fail every other test running against it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from hotels.service import definition
from support.own_postgres import crash, own_postgres, restart
from support.serving import serving

pytestmark = pytest.mark.infra

FAIR = date(datetime.now(UTC).year + 1, 9, 1)
CLIENTS = 6


def night(n: int) -> str:
    return (FAIR + timedelta(days=n - 1)).isoformat()


@dataclass
class Seen:
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: list[str] = field(default_factory=list)
    unavailable: list[tuple[float, str | None, dict[str, object]]] = field(default_factory=list)
    other_errors: list[str] = field(default_factory=list)
    booked: list[str] = field(default_factory=list)
    local_ports: set[int] = field(default_factory=set)
    last_success_at: float = 0.0


async def _load(client: httpx.AsyncClient, desk: str, seen: Seen, stop: asyncio.Event) -> None:
    rng = random.Random()
    headers = {"Authorization": f"Bearer {desk}"}
    while not stop.is_set():
        arrival = rng.randint(1, 5)
        booking = {
            "hotel_code": "cncc-grand",
            "room_type": "standard",
            "arrival": night(arrival),
            "departure": night(arrival + 1),
            "guest": {"name": "Li Wei"},
        }
        started = time.monotonic()
        try:
            if rng.random() < 0.7:
                response = await client.post("/bookings", json=booking, headers=headers)
            else:
                response = await client.get("/occupancy?hotel_code=cncc-grand", headers=headers)
        except httpx.TransportError as exc:
            seen.transport_errors.append(repr(exc))
            continue
        took = time.monotonic() - started
        stream = response.extensions.get("network_stream")
        if stream is not None:
            seen.local_ports.add(stream.get_extra_info("client_addr")[1])
        seen.statuses[response.status_code] += 1
        if response.status_code == 503:
            error = response.json()["error"]
            seen.unavailable.append((took, response.headers.get("Retry-After"), error))
            await asyncio.sleep(0.05)  # a client honouring Retry-After would wait longer
        elif response.status_code in (200, 201):
            seen.last_success_at = time.monotonic()
            if response.status_code == 201:
                seen.booked.append(response.json()["booking_id"])
        else:
            seen.other_errors.append(f"{response.status_code} {response.text}")


async def test_a_database_crash_under_load_answers_503_with_retry_after_and_keeps_connections(
    settings: ServiceSettings,
) -> None:
    with own_postgres() as server:
        # The shared stack's Kafka, this test's own PostgreSQL; its topics go at teardown.
        on_own_server = settings.model_copy(update={"database_url": server.dsn})
        app = build_app(definition, on_own_server)
        issuer = app.state.token_issuer
        ops = {"Authorization": f"Bearer {issuer.issue('ops-1', ['ops'])}"}
        desk_token = issuer.issue("desk-1", ["hotel_desk"])
        desk = {"Authorization": f"Bearer {desk_token}"}
        async with serving(app, max_connections=CLIENTS) as client:
            hotel: dict[str, object] = {"hotel_code": "cncc-grand", "name_zh": "国家会议中心大酒店"}
            hotel |= {"name_en": "CNCC Grand Hotel", "room_types": {"standard": 5000}}
            assert (await client.post("/hotels", json=hotel, headers=ops)).status_code == 201
            allot: dict[str, object] = {"room_type": "standard", "first_night": night(1)}
            allot |= {"last_night": night(6), "rooms": 5000, "rate": 800}
            response = await client.put("/hotels/cncc-grand/allotments", json=allot, headers=desk)
            assert response.status_code == 200, response.text

            seen = Seen()
            stop = asyncio.Event()
            clients = [
                asyncio.create_task(_load(client, desk_token, seen, stop)) for _ in range(CLIENTS)
            ]
            try:
                while sum(seen.statuses.values()) < 50:  # noqa: ASYNC110 (polls a counter)
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(crash, server)
                crashed_at = time.monotonic()
                await asyncio.sleep(2.0)  # requests keep coming while the database is gone
                during = Counter(seen.statuses)
                await asyncio.to_thread(restart, server)
                restarted_at = time.monotonic()
                while seen.last_success_at < restarted_at:
                    assert time.monotonic() - restarted_at < 30, (
                        f"no request succeeded within 30 s of the restart: {seen.statuses}"
                    )
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1.0)
            finally:
                stop.set()
                await asyncio.gather(*clients)

            assert seen.transport_errors == [], "a connection was dropped under a request"
            assert seen.other_errors == [], "only successes and 503 unavailable are expected"
            assert during[503] > 0, f"the outage was not seen: {during}"
            assert set(seen.statuses) <= {200, 201, 503}, seen.statuses
            for took, retry_after, error in seen.unavailable:
                assert error["code"] == "unavailable", error
                assert error["details"]["dependency"] == "postgresql", error  # type: ignore[index]
                assert retry_after is not None and int(retry_after) >= 1
                assert took < 1.0, f"a 503 took {took:.2f}s; it should come within a second"
            # The 503s came over the connections the client already had: none was closed.
            assert len(seen.local_ports) <= CLIENTS, seen.local_ports

            # Every booking acknowledged before, during or after the crash is there.
            for booking_id in seen.booked:
                found = await client.get(f"/bookings/{booking_id}", headers=desk)
                assert found.status_code == 200, found.text
            print(
                f"\n{sum(seen.statuses.values())} requests: {dict(seen.statuses)};"
                f" PostgreSQL down for {restarted_at - crashed_at:.1f}s;"
                f" slowest 503 {max(t for t, _, _ in seen.unavailable):.3f}s"
            )


async def test_an_unexpected_error_is_a_500_that_keeps_the_connection_open() -> None:
    from fairline_events.api import create_app

    app = create_app(title="t", description="t", version="0")

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("a bug")

    async with serving(app, max_connections=1) as client:
        ports = set()
        for path, status in [("/broken", 500), ("/healthz", 200), ("/broken", 500)]:
            response = await client.get(path)
            assert response.status_code == status
            ports.add(response.extensions["network_stream"].get_extra_info("client_addr")[1])
        assert response.json()["error"]["code"] == "internal_error"
        assert len(ports) == 1, "the 500 closed the keep-alive connection"


def test_the_openapi_document_tells_clients_what_a_503_means() -> None:
    app = build_app(definition, ServiceSettings(fairline_auth_secret="x" * 48))
    bookings = app.openapi()["paths"]["/bookings"]["post"]["responses"]
    assert "unavailable" in bookings["503"]["description"]
    assert "Retry-After" in bookings["503"]["description"]
