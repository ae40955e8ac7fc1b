"""The partner feed's outbox when a guest's erasure and their booking arrive in either order
(they sit on different partitions): the hotel is told to delete the guest's data both ways."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka.structs import ConsumerRecord
from fairline_events.envelope import Envelope
from fairline_events.kafka import KafkaAccess
from fairline_events.projection import ProjectionRunner
from fairline_events.shredding import new_key, seal
from hotels.domain.events import BookingMade, GuestErased, GuestRecorded, HotelsEvent, registry
from hotels.projections import partner_feed

pytestmark = pytest.mark.infra

KEY = new_key()


def record(
    event: HotelsEvent, version: int, partition: int, offset: int
) -> ConsumerRecord[bytes, bytes]:
    event_type, schema_version, data = registry.encode(event)
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        schema_version=schema_version,
        stream_id=event.stream_id(),
        stream_version=version,
        occurred_at=datetime.now(UTC),
        actor="user:desk-1",
        correlation_id=uuid.uuid4(),
        data=data,
    )
    value = envelope.to_json()
    return ConsumerRecord(
        "t.hotels.events",
        partition,
        offset,
        0,
        0,
        event.stream_id().encode(),
        value,
        None,
        0,
        len(value),
        (),
    )


def booking(booking_id: str, hotel: str) -> BookingMade:
    return BookingMade(
        booking_id=booking_id,
        hotel_code=hotel,
        room_type="standard",
        arrival=date(2031, 9, 1),
        departure=date(2031, 9, 2),
        board="breakfast",
        requests=[],
        nightly_rates=[800],
        total=800,
        guest_id="g1",
        guest_name=seal(KEY, "k1", "name", "Zhang Wei"),
    )


async def outbox(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        f"SELECT message_id, hotel_code, message_type, payload::text AS payload"
        f" FROM {partner_feed.schema}.outbox ORDER BY seq"
    )
    return [dict(r) | {"payload": json.loads(r["payload"])} for r in rows]


@pytest.mark.parametrize("erasure_first", [False, True], ids=["booking-first", "erasure-first"])
async def test_the_hotel_is_told_to_erase_whichever_arrives_first(
    pool: asyncpg.Pool, erasure_first: bool
) -> None:
    runner = ProjectionRunner(partner_feed, pool, KafkaAccess.plain("127.0.0.1:1"), "t.")
    await runner.create_schema()
    made_a = record(booking("b-a", "cncc-grand"), 1, 0, 0)
    made_b = record(booking("b-b", "continental"), 1, 1, 0)
    # The guest's stream, as the store writes it: recorded (version 1), then erased.
    name = seal(KEY, "k1", "name", "Zhang Wei")
    recorded = record(GuestRecorded(guest_id="g1", key_id="k1", name=name), 1, 2, 0)
    erased = record(GuestErased(guest_id="g1", key_id="k1"), 2, 2, 1)
    guest = [recorded, erased]
    for batch in (guest, [made_a, made_b]) if erasure_first else ([made_a, made_b], guest):
        await runner.apply(batch)
    await runner.apply([erased, made_a])  # redelivered: changes nothing

    messages = await outbox(pool)
    erasures = {
        (m["hotel_code"], m["payload"]["booking_id"], m["message_id"])
        for m in messages
        if m["message_type"] == "booking.guest_erased"
    }
    erased_id = Envelope.from_json(erased.value or b"").event_id
    assert erasures == {
        ("cncc-grand", "b-a", uuid.uuid5(erased_id, "b-a")),
        ("continental", "b-b", uuid.uuid5(erased_id, "b-b")),
    }, "the same messages, with the same ids, in either order"
    created = [m for m in messages if m["message_type"] == "booking.created"]
    assert len(created) == 2 and len(messages) == 4
    names = [m["payload"]["booking"]["guest"]["name"] for m in created]
    if erasure_first:
        assert names == [None, None], "a booking that arrives after the erasure carries no name"
    else:
        assert all(n["key_id"] == "k1" for n in names)
    assert "Zhang Wei" not in json.dumps(messages, default=str)
