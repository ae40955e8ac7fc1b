"""One function per command: choose the streams, then lock, load, decide, append.

The rules live in `domain/`; these only say which streams a command touches and what must
commit with its events (a new guest's key, a partner hotel's right to fetch it, an erasure).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.decider import Decider, handle
from fairline_events.registry import DomainEvent
from fairline_events.shredding import KeyStore
from fairline_events.store import EventStore

from .domain import blocks, bookings, hotel, inventory
from .domain.blocks import Block
from .domain.bookings import Booking
from .domain.commands import (
    CancelBooking,
    CreateBlock,
    EraseGuest,
    MakeBooking,
    ModifyBooking,
    RecordNoShow,
    RegisterHotel,
    ReleaseBlock,
    SetAllotment,
)
from .domain.events import (
    BookingMade,
    GuestErased,
    block_stream,
    booking_stream,
    guest_stream,
    hotel_stream,
    night_stream,
)
from .domain.hotel import Hotel
from .domain.values import nights, stay_nights
from .domain.world import World
from .handling import load, transact

guest_keys = KeyStore("guest_keys")

hotels: Decider[RegisterHotel, Hotel] = Decider(
    initial=lambda stream_id: hotel.initial_hotel(stream_id.removeprefix("hotel-")),
    decide=hotel.decide,
    evolve=hotel.evolve,
)


async def register_hotel(
    store: EventStore, command: RegisterHotel, context: CommandContext
) -> Hotel:
    state, _ = await handle(store, hotels, hotel_stream(command.hotel_code), command, context)
    return state


async def set_allotment(
    store: EventStore, command: SetAllotment, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    streams = [
        night_stream(command.hotel_code, command.room_type, d)
        for d in nights(command.first_night, command.last_night)
    ]
    decide = partial(inventory.set_allotment, command, now=now)
    events, _ = await transact(
        store, command, decide, context, lock=streams, read=[hotel_stream(command.hotel_code)]
    )
    return events


async def create_block(
    store: EventStore, command: CreateBlock, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    streams = [block_stream(command.block_id)]
    if command.parent_block_id is not None:
        streams.append(block_stream(command.parent_block_id))
    streams += [
        night_stream(command.hotel_code, room_type, d)
        for room_type in command.rooms
        for d in nights(command.first_night, command.last_night)
    ]
    decide = partial(blocks.create_block, command, now=now)
    events, _ = await transact(
        store, command, decide, context, lock=streams, read=[hotel_stream(command.hotel_code)]
    )
    return events


async def release_block(
    store: EventStore, command: ReleaseBlock, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    stream = block_stream(command.block_id)
    planned, version = await load(store, stream)
    assert isinstance(planned, Block)
    streams = [stream] + [
        night_stream(planned.hotel_code, room_type, d) for room_type, d in planned.night_keys()
    ]
    events, _ = await transact(
        store,
        command,
        partial(blocks.release_block, command, now=now),
        context,
        lock=streams,
        read=[block_stream(s) for s in planned.sub_blocks],
        expect={stream: version},
    )
    return events


async def make_booking(
    store: EventStore,
    command: MakeBooking,
    key: bytes | None,
    now: datetime,
    context: CommandContext,
) -> list[DomainEvent]:
    """`key` is the new guest's data key (their fields arrive sealed under it), else None."""
    streams = [booking_stream(command.booking_id), guest_stream(command.guest_id)]
    streams += [
        night_stream(command.hotel_code, command.room_type, d)
        for d in stay_nights(command.arrival, command.departure)
    ]
    read = [block_stream(command.block_id)] if command.block_id else []

    async def keep_key(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        if command.new_guest is not None and key is not None:
            await guest_keys.create(conn, command.new_guest.key_id, key)
        for made in (e for e in events if isinstance(e, BookingMade)):
            await conn.execute(
                "INSERT INTO guest_key_grants (key_id, hotel_code) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING",
                made.guest_name.key_id,
                made.hotel_code,
            )

    decide = partial(bookings.make_booking, command, now=now)
    events, _ = await transact(
        store, command, decide, context, lock=streams, read=read, after=keep_key
    )
    return events


async def _planned_booking(store: EventStore, booking_id: str) -> tuple[Booking, int]:
    planned, version = await load(store, booking_stream(booking_id))
    assert isinstance(planned, Booking)
    return planned, version


def _held(booking: Booking) -> list[str]:
    return [night_stream(booking.hotel_code, booking.room_type, d) for d in booking.nights()]


async def modify_booking(
    store: EventStore, command: ModifyBooking, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    planned, version = await _planned_booking(store, command.booking_id)
    stream = booking_stream(command.booking_id)
    streams = [stream, *_held(planned)]
    if planned.status == "confirmed":
        arrival = command.arrival or planned.arrival
        departure = command.departure or planned.departure
        room_type = command.room_type or planned.room_type
        if departure > arrival:
            streams += [
                night_stream(planned.hotel_code, room_type, d)
                for d in stay_nights(arrival, departure)
            ]
    events, _ = await transact(
        store,
        command,
        partial(bookings.modify_booking, command, now=now),
        context,
        lock=streams,
        read=[block_stream(planned.block_id)] if planned.block_id else [],
        expect={stream: version},
    )
    return events


async def cancel_booking(
    store: EventStore, command: CancelBooking, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    return await _give_back(store, command, now, context)


async def record_no_show(
    store: EventStore, command: RecordNoShow, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    return await _give_back(store, command, now, context)


async def _give_back(
    store: EventStore, command: CancelBooking | RecordNoShow, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    """Cancel, or record a no-show: both give nights back."""
    planned, version = await _planned_booking(store, command.booking_id)
    stream = booking_stream(command.booking_id)
    decide = (
        partial(bookings.cancel_booking, command, now=now)
        if isinstance(command, CancelBooking)
        else partial(bookings.record_no_show, command, now=now)
    )
    events, _ = await transact(
        store,
        command,
        decide,
        context,
        lock=[stream, *_held(planned)],
        read=[block_stream(planned.block_id)] if planned.block_id else [],
        expect={stream: version},
    )
    return events


async def erase_guest(
    store: EventStore, command: EraseGuest, context: CommandContext
) -> list[DomainEvent]:
    """Destroy the guest's key with the GuestErased event: from then on nothing opens."""

    async def shred(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        for erased in (e for e in events if isinstance(e, GuestErased)):
            await guest_keys.destroy(conn, erased.key_id)
            await conn.execute("DELETE FROM guest_key_grants WHERE key_id = $1", erased.key_id)

    stream = guest_stream(command.guest_id)

    def decide(world: World) -> list[DomainEvent]:
        return bookings.erase_guest(command, world.guest(command.guest_id))

    events, _ = await transact(store, command, decide, context, lock=[stream], after=shred)
    return events
