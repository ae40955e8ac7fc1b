"""One function per command: choose the streams, then lock, load, decide, append.

The rules live in `domain/`; these only say which streams a command touches and what must
commit with its events (a new guest's key, a partner hotel's right to fetch it, an erasure).
The plumbing is `fairline_events.transact`: the streams a command writes are locked in one
global order, so concurrent bookings of the same nights queue instead of failing, and a
command that lost a race is decided again on fresh state (its answer is the rule's, such as
`no_room`). A command planned from a stream's state (the nights a booking holds) reads that
stream again once it is locked: if it moved meanwhile, the command is planned again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.decider import Decider, Fold, handle
from fairline_events.registry import DomainEvent
from fairline_events.shredding import KeyStore
from fairline_events.store import EventStore
from fairline_events.transact import After, Decision, Streams, by_stream, transact

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
    stream_of,
)
from .domain.hotel import Hotel
from .domain.values import nights, stay_nights
from .domain.world import World, evolve_state, initial_state

guest_keys = KeyStore("guest_keys")

hotels: Decider[RegisterHotel, Hotel] = Decider(
    initial=lambda stream_id: hotel.initial_hotel(stream_id.removeprefix("hotel-")),
    decide=hotel.decide,
    evolve=hotel.evolve,
)

WORLD: Fold[Any] = Fold(initial_state, evolve_state)
"""Every hotels stream folds the same way: its name says which state it holds."""


def clock() -> datetime:
    return datetime.now(UTC)


async def load(store: EventStore, stream_id: str) -> tuple[Any, int]:
    """One stream's current state and version, outside any command (for views)."""
    return await store.load(stream_id, WORLD.evolve, WORLD.initial(stream_id))


async def _world(load: Streams, lock: Iterable[str], read: Iterable[str] = ()) -> World:
    """Lock the streams a command writes and load them, then those it only reads: so a
    decision never sees a block older than the nights it writes."""
    locked = list(lock)
    await load.lock(*locked)
    states = {s: await load(WORLD, s) for s in locked}
    return World(states | {s: await load.peek(WORLD, s) for s in read if s not in states})


async def _transact(
    store: EventStore,
    command: Any,
    decide: Callable[[Streams], Awaitable[Sequence[DomainEvent]]],
    context: CommandContext,
    after: After | None = None,
) -> list[DomainEvent]:
    async def decision(load: Streams) -> Decision:
        return by_stream(await decide(load), stream_of)

    name = type(command).__name__
    return (await transact(store, decision, context, command=name, after=after)).events


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

    async def decide(load: Streams) -> Sequence[DomainEvent]:
        world = await _world(load, streams, [hotel_stream(command.hotel_code)])
        return inventory.set_allotment(command, world, now=now)

    return await _transact(store, command, decide, context)


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

    async def decide(load: Streams) -> Sequence[DomainEvent]:
        world = await _world(load, streams, [hotel_stream(command.hotel_code)])
        return blocks.create_block(command, world, now=now)

    return await _transact(store, command, decide, context)


async def release_block(
    store: EventStore, command: ReleaseBlock, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    stream = block_stream(command.block_id)

    async def decide(load: Streams) -> Sequence[DomainEvent]:
        planned = await load.peek(WORLD, stream)
        assert isinstance(planned, Block)
        streams = [stream] + [
            night_stream(planned.hotel_code, room_type, d) for room_type, d in planned.night_keys()
        ]
        world = await _world(load, streams, [block_stream(s) for s in planned.sub_blocks])
        return blocks.release_block(command, world, now=now)

    return await _transact(store, command, decide, context)


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

    async def decide(load: Streams) -> Sequence[DomainEvent]:
        world = await _world(load, streams, read)
        return bookings.make_booking(command, world, now=now)

    return await _transact(store, command, decide, context, after=keep_key)


def _held(booking: Booking) -> list[str]:
    return [night_stream(booking.hotel_code, booking.room_type, d) for d in booking.nights()]


async def _planned_booking(load: Streams, booking_id: str) -> Booking:
    planned = await load.peek(WORLD, booking_stream(booking_id))
    assert isinstance(planned, Booking)
    return planned


def _block_of(booking: Booking) -> list[str]:
    return [block_stream(booking.block_id)] if booking.block_id else []


async def modify_booking(
    store: EventStore, command: ModifyBooking, now: datetime, context: CommandContext
) -> list[DomainEvent]:
    stream = booking_stream(command.booking_id)

    async def decide(load: Streams) -> Sequence[DomainEvent]:
        planned = await _planned_booking(load, command.booking_id)
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
        world = await _world(load, streams, _block_of(planned))
        return bookings.modify_booking(command, world, now=now)

    return await _transact(store, command, decide, context)


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
    stream = booking_stream(command.booking_id)

    async def decide(load: Streams) -> Sequence[DomainEvent]:
        planned = await _planned_booking(load, command.booking_id)
        world = await _world(load, [stream, *_held(planned)], _block_of(planned))
        if isinstance(command, CancelBooking):
            return bookings.cancel_booking(command, world, now=now)
        return bookings.record_no_show(command, world, now=now)

    return await _transact(store, command, decide, context)


async def erase_guest(
    store: EventStore, command: EraseGuest, context: CommandContext
) -> list[DomainEvent]:
    """Destroy the guest's key with the GuestErased event: from then on nothing opens."""

    async def shred(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        for erased in (e for e in events if isinstance(e, GuestErased)):
            await guest_keys.destroy(conn, erased.key_id)
            await conn.execute("DELETE FROM guest_key_grants WHERE key_id = $1", erased.key_id)

    stream = guest_stream(command.guest_id)

    async def decide(load: Streams) -> Sequence[DomainEvent]:
        world = await _world(load, [stream])
        return bookings.erase_guest(command, world.guest(command.guest_id))

    return await _transact(store, command, decide, context, after=shred)
