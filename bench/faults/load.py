"""Steady booking load over HTTP, each command sent once and its outcome kept.

A command is acknowledged when the service answers 201; anything else (a 503 while a
dependency is down, a transport error) leaves its outcome unknown to the client. The client
does not retry: a retried booking would be a second booking, and the checker would have to
tell a duplicate effect from a retry. Keep-alive connections are reused throughout, as a
real client's pool would.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx

HOTEL = "fault-grand"
ROOMS = 100_000  # never full: a refusal would hide what the faults do
NIGHTS = 7
FAIR = date(datetime.now(UTC).year + 1, 10, 1)


def night(n: int) -> str:
    return (FAIR + timedelta(days=n - 1)).isoformat()


@dataclass
class Outcome:
    sent_at: float
    took: float
    status: str  # "201", "503", "transport:ReadError", …
    booking_id: str | None = None
    nights: int = 0
    retry_after: str | None = None
    error_code: str | None = None


@dataclass
class Load:
    base_url: str
    token: str
    rate: float = 40.0
    connections: int = 16
    outcomes: list[Outcome] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    async def prepare(self, ops_token: str) -> None:
        """One hotel with rooms enough for any run."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=30) as client:
            hotel: dict[str, object] = {"hotel_code": HOTEL, "name_zh": "故障大酒店"}
            hotel |= {"name_en": "Fault Grand", "room_types": {"standard": ROOMS}}
            response = await client.post(
                "/hotels", json=hotel, headers={"Authorization": f"Bearer {ops_token}"}
            )
            assert response.status_code in (201, 409), response.text
            allot: dict[str, object] = {"room_type": "standard", "first_night": night(1)}
            allot |= {"last_night": night(NIGHTS), "rooms": ROOMS, "rate": 700}
            response = await client.put(
                f"/hotels/{HOTEL}/allotments",
                json=allot,
                headers={"Authorization": f"Bearer {self.token}"},
            )
            assert response.status_code == 200, response.text

    async def run(self, stop: asyncio.Event) -> None:
        """`rate` bookings a second over `connections` keep-alive connections until `stop`."""
        limits = httpx.Limits(
            max_connections=self.connections, max_keepalive_connections=self.connections
        )
        async with httpx.AsyncClient(
            base_url=self.base_url,
            timeout=10,
            limits=limits,
            headers={"Authorization": f"Bearer {self.token}"},
        ) as client:
            interval = self.connections / self.rate
            senders = [
                asyncio.create_task(
                    self._send_every(client, interval, i * interval / self.connections, stop)
                )
                for i in range(self.connections)
            ]
            await asyncio.gather(*senders)

    async def _send_every(
        self, client: httpx.AsyncClient, interval: float, offset: float, stop: asyncio.Event
    ) -> None:
        rng = random.Random()
        await asyncio.sleep(offset)
        next_at = time.monotonic()
        while not stop.is_set():
            n = next(self._counter)
            arrival = rng.randint(1, NIGHTS - 2)
            nights = rng.randint(1, 2)
            body = {
                "hotel_code": HOTEL,
                "room_type": "standard",
                "arrival": night(arrival),
                "departure": night(arrival + nights),
                "guest": {"name": f"Guest {n:06d}"},
            }
            sent = time.monotonic()
            try:
                response = await client.post("/bookings", json=body)
            except httpx.TransportError as exc:
                self.outcomes.append(
                    Outcome(sent, time.monotonic() - sent, f"transport:{type(exc).__name__}")
                )
            else:
                outcome = Outcome(sent, time.monotonic() - sent, str(response.status_code))
                if response.status_code == 201:
                    outcome.booking_id = response.json()["booking_id"]
                    outcome.nights = nights
                else:
                    outcome.retry_after = response.headers.get("Retry-After")
                    try:
                        outcome.error_code = response.json()["error"]["code"]
                    except Exception:
                        outcome.error_code = None
                self.outcomes.append(outcome)
            next_at += interval
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at, time.monotonic() - interval)  # no burst to catch up

    def between(self, start: float, end: float) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.sent_at < end]


def statuses(outcomes: list[Outcome]) -> dict[str, int]:
    return dict(sorted(Counter(o.status for o in outcomes).items()))
