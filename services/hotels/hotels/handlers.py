"""One handler per command: read the streams its decision needs, then decide.

The rules live in `domain/`, one module per aggregate; a handler only says which streams a
command writes (`streams(...)`, `streams.all(...)`: locked, then read) and which it only
reads (`streams.peek(...)`), and passes each state to the decision by name. Every event
names its own stream (`event.stream_id()`), so a handler returns the decision's events as
they are. The plumbing is `fairline_events.transact`: all of it runs in one transaction,
concurrent bookings of the same nights queue instead of failing, and a command that lost a
race, or whose nights were found from a booking that changed meanwhile, is decided again on
fresh state (its answer is the rule's, such as `no_room`).

What must commit with the events, or not at all, goes through `streams.with_events`: a new
guest's key, a partner hotel's right to fetch it, an erasure.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
from fairline_events.registry import DomainEvent
from fairline_events.shredding import KeyStore
from fairline_events.transact import After, Streams, command_handler

from .domain import blocks, bookings, guests, hotel, inventory, sponsored
from .domain.blocks import BLOCK, Block, block_stream
from .domain.bookings import BOOKING, Booking, booking_stream
from .domain.commands import (
    CancelBooking,
    CarveSubBlock,
    CreateBlock,
    CreateSponsorBlock,
    EraseGuest,
    MakeBooking,
    ModifyBooking,
    NewGuest,
    RecordNoShow,
    RegisterHotel,
    ReleaseBlock,
    SetAllotment,
)
from .domain.events import BookingMade, GuestErased
from .domain.guests import GUEST, guest_stream
from .domain.hotel import HOTEL, hotel_stream
from .domain.inventory import NightKey, Nights, by_key, night_streams
from .domain.sponsored import SPONSOR_BLOCK, sponsor_block_stream

guest_keys = KeyStore("guest_keys")


@command_handler
async def register_hotel(command: RegisterHotel, streams: Streams) -> list[DomainEvent]:
    registered = await streams(HOTEL, hotel_stream(command.hotel_code))
    return hotel.register(command, hotel=registered)


@command_handler
async def set_allotment(command: SetAllotment, streams: Streams) -> list[DomainEvent]:
    nights = by_key(await streams.all(*night_streams(command.hotel_code, command.night_keys())))
    registered = await streams.peek(HOTEL, hotel_stream(command.hotel_code))
    return inventory.set_allotment(command, hotel=registered, nights=nights)


@command_handler
async def create_block(command: CreateBlock, streams: Streams) -> list[DomainEvent]:
    parent = None
    if command.parent_block_id is not None:  # a sub-block also writes its parent
        parent = await streams(BLOCK, block_stream(command.parent_block_id))
    return await _carve(command, parent, streams)


@command_handler
async def carve_sub_block(command: CarveSubBlock, streams: Streams) -> list[DomainEvent]:
    """A sub-block stays in its parent's hotel and group: the parent says which."""
    parent = await streams(BLOCK, block_stream(command.parent_block_id))
    return await _carve(blocks.sub_block(command, parent=parent), parent, streams)


async def _carve(command: CreateBlock, parent: Block | None, streams: Streams) -> list[DomainEvent]:
    block, *states = await streams.all(
        (BLOCK, block_stream(command.block_id)),
        *night_streams(command.hotel_code, command.night_keys()),
    )
    nights, now = by_key(states), streams.now
    registered = await streams.peek(HOTEL, hotel_stream(command.hotel_code))
    return blocks.create(
        command, block=block, parent=parent, hotel=registered, nights=nights, now=now
    )


@command_handler
async def create_sponsor_block(command: CreateSponsorBlock, streams: Streams) -> list[DomainEvent]:
    """The request's refusals (locked: a redelivery queues behind it), then the block and its
    nights, as for any block (none for a block the rules refuse anyway)."""
    now = streams.now
    request, block, *states, registered = await streams.all(
        (SPONSOR_BLOCK, sponsor_block_stream(command.block_id)),
        (BLOCK, block_stream(command.block_id)),
        *night_streams(command.hotel_code, sponsored.night_keys(command, now)),
        also=[(HOTEL, hotel_stream(command.hotel_code))],
    )
    return sponsored.make(
        command, request=request, block=block, hotel=registered, nights=by_key(states), now=now
    )


@command_handler
async def release_block(command: ReleaseBlock, streams: Streams) -> list[DomainEvent]:
    """At cut-off (the clock's job) or early (operations): the same rule, the same streams."""
    block = await streams(BLOCK, block_stream(command.block_id))
    nights = by_key(await streams.all(*night_streams(block.hotel_code, block.night_keys())))
    sub_blocks = await streams.peek_all(*((BLOCK, block_stream(s)) for s in block.sub_blocks))
    return blocks.release(
        command, block=block, sub_blocks=sub_blocks, nights=nights, now=streams.now
    )


@command_handler
async def make_booking(command: MakeBooking, streams: Streams) -> list[DomainEvent]:
    booking, guest, *states = await streams.all(
        (BOOKING, booking_stream(command.booking_id)),
        (GUEST, guest_stream(command.guest_id)),
        *night_streams(command.hotel_code, command.night_keys()),
    )
    nights, now = by_key(states), streams.now
    block = None
    if command.block_id is not None:  # read, not written: its rooms are on the nights
        block = await streams.peek(BLOCK, block_stream(command.block_id))
    if command.new_guest is not None:
        streams.with_events(_keep_key(command.new_guest))
    streams.with_events(_grant_keys)
    return bookings.make(command, booking=booking, guest=guest, block=block, nights=nights, now=now)


@command_handler
async def modify_booking(command: ModifyBooking, streams: Streams) -> list[DomainEvent]:
    booking = await streams(BOOKING, booking_stream(command.booking_id))
    nights = await _nights(streams, booking, [*booking.night_keys(), *booking.asked_for(command)])
    block = await _block_of(streams, booking)
    return bookings.modify(command, booking=booking, block=block, nights=nights, now=streams.now)


@command_handler
async def cancel_booking(command: CancelBooking, streams: Streams) -> list[DomainEvent]:
    """Every night goes back."""
    booking = await streams(BOOKING, booking_stream(command.booking_id))
    await _nights(streams, booking, booking.night_keys())
    return bookings.cancel(command, booking=booking, block=await _block_of(streams, booking))


@command_handler
async def record_no_show(command: RecordNoShow, streams: Streams) -> list[DomainEvent]:
    """The first night is charged, the others go back."""
    booking = await streams(BOOKING, booking_stream(command.booking_id))
    await _nights(streams, booking, booking.night_keys())
    return bookings.no_show(command, booking=booking, now=streams.now)


@command_handler
async def erase_guest(command: EraseGuest, streams: Streams) -> list[DomainEvent]:
    """The guest's key is destroyed with the GuestErased event: from then on nothing opens."""
    guest = await streams(GUEST, guest_stream(command.guest_id))
    streams.with_events(_shred)
    return guests.erase(command, guest=guest)


async def _nights(streams: Streams, booking: Booking, keys: Sequence[NightKey]) -> Nights:
    """The nights a booking gives back or takes: found from its state, locked after it."""
    return by_key(await streams.all(*night_streams(booking.hotel_code, dict.fromkeys(keys))))


async def _block_of(streams: Streams, booking: Booking) -> Block | None:
    if booking.block_id is None:
        return None
    return await streams.peek(BLOCK, block_stream(booking.block_id))


def _keep_key(guest: NewGuest) -> After:
    """A new guest's key, kept with the booking that records them."""

    async def keep(connection: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        await guest_keys.create(connection, guest.key_id, guest.key)

    return keep


async def _grant_keys(connection: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
    """The hotel of a booking may fetch its guest's key (`/partner/.../guest-keys/...`)."""
    for made in (e for e in events if isinstance(e, BookingMade)):
        await connection.execute(
            "INSERT INTO guest_key_grants (key_id, hotel_code) VALUES ($1, $2)"
            " ON CONFLICT DO NOTHING",
            made.guest_name.key_id,
            made.hotel_code,
        )


async def _shred(connection: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
    """An erased guest's key is destroyed, and with it every partner's right to fetch it."""
    for erased in (e for e in events if isinstance(e, GuestErased)):
        await guest_keys.destroy(connection, erased.key_id)
        await connection.execute("DELETE FROM guest_key_grants WHERE key_id = $1", erased.key_id)
