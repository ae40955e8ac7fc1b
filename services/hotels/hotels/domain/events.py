"""What happens at the group's hotels, as registered domain events.

Five kinds of stream, each event naming its own (`stream_id()`; each aggregate's module in
`domain/` says how its streams are named):
- `hotel-<code>`: the hotel and its room types;
- `night-<hotel>.<room type>.<date>`: one night's inventory of one room type — the allotment,
  what blocks hold, and which bookings took a room. Every rule against overbooking is decided
  on these streams, under their expected versions;
- `block-<id>`: a room block (or a delegation's sub-block) and its cut-off;
- `booking-<id>`: one guest's stay;
- `guest-<id>`: the guest's personal data, sealed under the guest's own key (crypto-shredding).

Personal data (name, phone, ID or passport number) appears only as `Sealed` ciphertext.
"""

from __future__ import annotations

from datetime import date

from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.shredding import Sealed
from pydantic import AwareDatetime, NonNegativeInt, PositiveInt

from .values import Board, GroupKind, HotelCode, Identifier, Name, RequestCode, RoomType

registry = EventRegistry()


class HotelsEvent(DomainEvent):
    """Base of every hotels event: each names the stream it belongs to."""

    def stream_id(self) -> str:
        raise NotImplementedError


# Each aggregate's module names its streams; it imports these events, so each base below
# imports its aggregate's module when asked, not at load time.


class HotelEvent(HotelsEvent):
    hotel_code: HotelCode

    def stream_id(self) -> str:
        from .hotel import hotel_stream

        return hotel_stream(self.hotel_code)


class NightEvent(HotelsEvent):
    """Base of the events of one night of one room type at one hotel."""

    hotel_code: HotelCode
    room_type: RoomType
    night: date

    def stream_id(self) -> str:
        from .inventory import night_stream

        return night_stream(self.hotel_code, self.room_type, self.night)


class BlockEvent(HotelsEvent):
    block_id: Identifier

    def stream_id(self) -> str:
        from .blocks import block_stream

        return block_stream(self.block_id)


class BookingEvent(HotelsEvent):
    booking_id: Identifier

    def stream_id(self) -> str:
        from .bookings import booking_stream

        return booking_stream(self.booking_id)


class GuestEvent(HotelsEvent):
    guest_id: Identifier

    def stream_id(self) -> str:
        from .guests import guest_stream

        return guest_stream(self.guest_id)


@registry.event("hotels.HotelRegistered")
class HotelRegistered(HotelEvent):
    """A hotel of the group joined the platform with its physical rooms per room type."""

    name_zh: Name
    name_en: Name
    room_types: dict[RoomType, PositiveInt]


@registry.event("hotels.AllotmentSet")
class AllotmentSet(NightEvent):
    """The rooms of this type the hotel gives the fair for this night, and their rate (CNY)."""

    rooms: NonNegativeInt
    rate: NonNegativeInt


@registry.event("hotels.RoomsAllocated")
class RoomsAllocated(NightEvent):
    """Rooms carved for a block: from general inventory, or from the parent block."""

    block_id: Identifier
    parent_block_id: Identifier | None = None
    rooms: PositiveInt


@registry.event("hotels.RoomsReleased")
class RoomsReleased(NightEvent):
    """A block's unbooked rooms went back: to its parent block, or to general inventory."""

    block_id: Identifier
    to_block_id: Identifier | None = None
    rooms: PositiveInt


@registry.event("hotels.NightTaken")
class NightTaken(NightEvent):
    """A booking took one room for this night, from a block or from general inventory."""

    booking_id: Identifier
    block_id: Identifier | None = None
    rate: NonNegativeInt


@registry.event("hotels.NightFreed")
class NightFreed(NightEvent):
    """A booking gave its room for this night back (cancelled, changed, or a no-show)."""

    booking_id: Identifier


@registry.event("hotels.BlockCreated")
class BlockCreated(BlockEvent):
    """A room block for a group, or a delegation's sub-block carved from its parent block.

    Holds `rooms` rooms of each room type for every night from `first_night` to
    `last_night`; what is unbooked at `cut_off_at` goes back on its own.
    """

    hotel_code: HotelCode
    group: GroupKind
    name: Name
    parent_block_id: Identifier | None = None
    planner: Identifier | None = None
    first_night: date
    last_night: date
    rooms: dict[RoomType, PositiveInt]
    cut_off_at: AwareDatetime


@registry.event("hotels.SubBlockCarved")
class SubBlockCarved(BlockEvent):
    """A sub-block was carved from this block."""

    sub_block_id: Identifier


@registry.event("hotels.BlockReleased")
class BlockReleased(BlockEvent):
    """The block closed: its unbooked room-nights went to `to_block_id` or general inventory."""

    hotel_code: HotelCode
    to_block_id: Identifier | None = None
    room_nights: NonNegativeInt
    at_cut_off: bool


@registry.event("hotels.GuestRecorded")
class GuestRecorded(GuestEvent):
    """A guest's personal data, each field sealed under the guest's key `key_id`."""

    key_id: Identifier
    name: Sealed
    phone: Sealed | None = None
    id_document: Sealed | None = None
    planner: str | None = None
    """The planner of the block the guest was first booked into, who alone may book them
    again; None: a guest of the desk (earlier events carry none, and stay the desk's)."""


@registry.event("hotels.GuestErased")
class GuestErased(GuestEvent):
    """The guest's key was destroyed on request: their personal data can never be read again."""

    key_id: Identifier


class BookingTerms(BookingEvent):
    hotel_code: HotelCode
    block_id: Identifier | None = None
    room_type: RoomType
    arrival: date
    departure: date
    board: Board
    requests: list[RequestCode]
    nightly_rates: list[NonNegativeInt]
    total: NonNegativeInt


@registry.event("hotels.BookingMade")
class BookingMade(BookingTerms):
    """A room for a guest from arrival to departure; every night was taken with it."""

    guest_id: Identifier
    guest_name: Sealed


@registry.event("hotels.BookingModified")
class BookingModified(BookingTerms):
    """The booking's terms now (dates, room type, board, requests) and their price."""


@registry.event("hotels.BookingCancelled")
class BookingCancelled(BookingEvent):
    hotel_code: HotelCode
    block_id: Identifier | None = None


@registry.event("hotels.NoShowRecorded")
class NoShowRecorded(BookingEvent):
    """The guest never came: the first night is charged, the others were given back."""

    hotel_code: HotelCode
    block_id: Identifier | None = None
    charged: NonNegativeInt


@registry.event("hotels.SponsorBlockRefused")
class SponsorBlockRefused(HotelsEvent):
    """The block a sponsor's package asked for could not be made, and why."""

    block_id: str
    reason: str
    code: str
    attempt: int = 1
    """The request refused (a benefit asked again after a refusal is decided afresh)."""

    def stream_id(self) -> str:
        from .sponsored import sponsor_block_stream

        return sponsor_block_stream(self.block_id)
