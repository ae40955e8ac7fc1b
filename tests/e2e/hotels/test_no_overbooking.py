"""No night is ever booked beyond its allotment, however many book at once (over HTTP)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest
from support.waiting import eventually

from .conftest import Api, night

pytestmark = pytest.mark.infra


async def test_a_hundred_concurrent_bookings_for_forty_rooms_never_overbook_a_night(
    api: Api,
) -> None:
    await api.hotel()
    await api.allot(40, 1, 6, rate=800)
    rng = random.Random(2021)
    stays = [(a, a + rng.randint(1, 3)) for a in (rng.randint(1, 4) for _ in range(100))]

    responses = await asyncio.gather(
        *(api.book(a, d, guest={"name": f"Guest {i:03}"}) for i, (a, d) in enumerate(stays))
    )

    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {201, 409}, [r.text for r in responses if r.status_code not in (201, 409)]
    refused = [r.json()["error"] for r in responses if r.status_code == 409]
    assert {e["code"] for e in refused} <= {"no_room"}, refused
    booked = [stays[i] for i, r in enumerate(responses) if r.status_code == 201]
    per_night = Counter(n for a, d in booked for n in range(a, d))
    assert max(per_night.values()) == 40, f"some night sells out under contention: {per_night}"
    assert all(count <= 40 for count in per_night.values()), per_night
    full = {n for n, count in per_night.items() if count == 40}
    for (a, d), response in zip(stays, responses, strict=True):
        if response.status_code == 409:
            assert full & set(range(a, d)), f"stay {a}-{d} was refused with a night free"
            assert {x["night"] for x in response.json()["error"]["details"]["nights"]} <= {
                night(n) for n in full
            }

    # Every night or none: the occupancy read model counts exactly the accepted stays' nights,
    # and the revenue is theirs.
    expected = {night(n): per_night.get(n, 0) for n in range(1, 7)}
    occupancy = await eventually(
        lambda: api.ok("GET", "/occupancy?hotel_code=cncc-grand&room_type=standard", "desk"),
        lambda rows: {r["night"]: r["booked"] for r in rows} == expected,
        within=30,
        what="occupancy to count exactly the accepted bookings",
    )
    assert sum(r["revenue"] for r in occupancy) == 800 * sum(per_night.values())
    assert all(r["general_free"] == 40 - r["booked"] for r in occupancy)

    # The event store agrees on its own: no night stream holds more than 40 rooms taken.
    assert api.runtime.pool is not None
    worst = await api.runtime.pool.fetchval(
        """SELECT max(n) FROM (SELECT stream_id, count(*) AS n FROM events
           WHERE event_type = 'hotels.NightTaken' GROUP BY stream_id) t"""
    )
    assert worst == 40
