"""The partner feeds' outbox: every hotels event a partner hotel must know, as its message.

A projection like any other: exactly once in effect, in order per stream — and only per
stream. A guest's erasure and their booking sit on different partitions and may arrive in
either order, so both orders must end with the hotel told. Its read model is an outbox, one
row per partner message, whose id is derived from the event's, so replaying an event can
never make a second message. The `partner-feed` job publishes the rows to each hotel's topic
and marks them published only after Kafka acknowledged them (publish, then commit): a crash
in between re-sends, and consumers skip the message id they already saw.
"""

from __future__ import annotations

import uuid
from typing import Any

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql
from fairline_events.shredding import Sealed

from ..domain.events import (
    BlockCreated,
    BlockReleased,
    BookingCancelled,
    BookingMade,
    BookingModified,
    BookingTerms,
    GuestErased,
    NoShowRecorded,
    registry,
)
from ..partner import contract

partner_feed = Projection(
    name="partner_feed",
    topics=["hotels.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS bookings (
        booking_id text PRIMARY KEY,
        hotel_code text NOT NULL,
        guest_id   text NOT NULL,
        guest_name jsonb NOT NULL
    );
    CREATE INDEX IF NOT EXISTS bookings_guest ON bookings (guest_id);
    CREATE TABLE IF NOT EXISTS erased_guests (
        guest_id        text PRIMARY KEY,
        erased_event_id uuid NOT NULL
    );
    CREATE TABLE IF NOT EXISTS outbox (
        seq          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        message_id   uuid NOT NULL UNIQUE,
        hotel_code   text NOT NULL,
        subject_id   text NOT NULL,
        message_type text NOT NULL,
        payload      jsonb NOT NULL,
        published_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (seq) WHERE published_at IS NULL;
    """,
)

_INSERT = """INSERT INTO outbox (message_id, hotel_code, subject_id, message_type, payload)
             VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (message_id) DO NOTHING"""


def _outbox(message: Any) -> Sql:
    return sql(
        _INSERT,
        message.message_id,
        message.hotel_code,
        message.subject_id,
        message.message_type,
        message.model_dump_json(),
    )


def _common(env: Envelope, hotel_code: str, versioned: bool = True) -> dict[str, Any]:
    return {
        "message_id": env.event_id,
        "hotel_code": hotel_code,
        "occurred_at": env.occurred_at,
        "subject_id": env.stream_id.partition("-")[2],
        "subject_version": env.stream_version if versioned else None,
    }


def _booking(e: BookingTerms, guest_name: Any) -> contract.PartnerBooking:
    return contract.PartnerBooking(
        booking_id=e.booking_id,
        block_id=e.block_id,
        room_type=e.room_type,
        arrival=e.arrival,
        departure=e.departure,
        board=e.board,
        requests=list(e.requests),
        nightly_rates=list(e.nightly_rates),
        total=e.total,
        guest=contract.GuestName(name=guest_name),
    )


@partner_feed.on(BlockCreated)
async def block_created(e: BlockCreated, env: Envelope, tx: ReadModel) -> Sql:
    block = contract.PartnerBlock(
        block_id=e.block_id,
        parent_block_id=e.parent_block_id,
        group=e.group,
        name=e.name,
        first_night=e.first_night,
        last_night=e.last_night,
        rooms=dict(e.rooms),
        cut_off_at=e.cut_off_at,
    )
    return _outbox(contract.BlockCreated(block=block, **_common(env, e.hotel_code)))


@partner_feed.on(BlockReleased)
async def block_released(e: BlockReleased, env: Envelope, tx: ReadModel) -> Sql:
    return _outbox(
        contract.BlockReleased(
            block_id=e.block_id,
            released_to_block_id=e.to_block_id,
            released_room_nights=e.room_nights,
            **_common(env, e.hotel_code),
        )
    )


@partner_feed.on(BookingMade)
async def booking_made(e: BookingMade, env: Envelope, tx: ReadModel) -> list[Sql]:
    erased = await tx.fetchval(
        "SELECT erased_event_id FROM erased_guests WHERE guest_id = $1", e.guest_id
    )
    name = None if erased else e.guest_name
    booking = sql(
        "INSERT INTO bookings VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING",
        e.booking_id,
        e.hotel_code,
        e.guest_id,
        name.model_dump_json() if name else "null",
    )
    message = contract.BookingConfirmed(
        message_type="booking.created",
        booking=_booking(e, name),
        **_common(env, e.hotel_code),
    )
    if not erased:
        return [booking, _outbox(message)]
    # The guest was erased before this booking reached the feed: say so, with the message id
    # the other order would have given.
    erasure = _erased_message(erased, e.booking_id, e.hotel_code, env)
    return [booking, _outbox(message), _outbox(erasure)]


def _erased_message(
    erased_event_id: uuid.UUID, booking_id: str, hotel_code: str, env: Envelope
) -> contract.GuestErased:
    return contract.GuestErased(
        booking_id=booking_id,
        **{
            **_common(env, hotel_code, versioned=False),
            "message_id": uuid.uuid5(erased_event_id, booking_id),
            "subject_id": booking_id,
        },
    )


@partner_feed.on(BookingModified)
async def booking_modified(e: BookingModified, env: Envelope, tx: ReadModel) -> Sql:
    raw = await tx.fetchval("SELECT guest_name FROM bookings WHERE booking_id = $1", e.booking_id)
    name = Sealed.model_validate_json(raw) if raw and raw != "null" else None
    message = contract.BookingConfirmed(
        message_type="booking.modified",
        booking=_booking(e, name),
        **_common(env, e.hotel_code),
    )
    return _outbox(message)


@partner_feed.on(BookingCancelled)
async def booking_cancelled(e: BookingCancelled, env: Envelope, tx: ReadModel) -> Sql:
    message = contract.BookingCancelled(booking_id=e.booking_id, **_common(env, e.hotel_code))
    return _outbox(message)


@partner_feed.on(NoShowRecorded)
async def no_show(e: NoShowRecorded, env: Envelope, tx: ReadModel) -> Sql:
    message = contract.BookingNoShow(
        booking_id=e.booking_id, charged=e.charged, **_common(env, e.hotel_code)
    )
    return _outbox(message)


@partner_feed.on(GuestErased)
async def guest_erased(e: GuestErased, env: Envelope, tx: ReadModel) -> list[Sql]:
    """One message per booking of the guest, to the hotel of that booking; bookings that
    reach the feed later get theirs then (see booking_made)."""
    rows = await tx.fetch(
        "SELECT booking_id, hotel_code FROM bookings WHERE guest_id = $1", e.guest_id
    )
    return [
        sql(
            "INSERT INTO erased_guests VALUES ($1, $2) ON CONFLICT DO NOTHING",
            e.guest_id,
            env.event_id,
        ),
        sql("UPDATE bookings SET guest_name = 'null'::jsonb WHERE guest_id = $1", e.guest_id),
        *(
            _outbox(_erased_message(env.event_id, row["booking_id"], row["hotel_code"], env))
            for row in sorted(rows, key=lambda r: str(r["booking_id"]))
        ),
    ]
