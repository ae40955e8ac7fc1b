"""Bookings (订房) and the guests they are for.

    new ─make─▶ confirmed ─┬─ modify ─▶ confirmed
                           ├─ cancel ─▶ cancelled      (every night given back)
                           └─ no-show ─▶ no_show       (first night charged, the rest given back)

A booking (stream `booking-<id>`) takes one room for every night of the stay, all of them
or none: the decision sees every night's pool, and the events of all those nights are
appended in one transaction under their expected versions. A guest's personal data is
sealed before it reaches here (`guests.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent

from .blocks import Block, open_block
from .commands import CancelBooking, MakeBooking, ModifyBooking, RecordNoShow
from .events import (
    BookingCancelled,
    BookingMade,
    BookingModified,
    GuestRecorded,
    NightFreed,
    NightTaken,
    NoShowRecorded,
)
from .guests import Guest, bookable
from .inventory import NightKey, Nights
from .values import local_date, stay_nights

BookingStatus = Literal["new", "confirmed", "cancelled", "no_show"]


@dataclass(frozen=True)
class Booking:
    booking_id: str
    status: BookingStatus = "new"
    hotel_code: str = ""
    block_id: str | None = None
    room_type: str = ""
    arrival: date = date.min
    departure: date = date.min
    board: str = "breakfast"
    requests: tuple[str, ...] = ()
    guest_id: str = ""
    nightly_rates: tuple[int, ...] = ()
    total: int = 0

    def nights(self) -> list[date]:
        return stay_nights(self.arrival, self.departure) if self.status != "new" else []

    def held_nights(self) -> list[date]:
        """The nights this booking holds a room for now."""
        if self.status == "confirmed":
            return self.nights()
        if self.status == "no_show":
            return self.nights()[:1]
        return []

    def night_keys(self) -> list[NightKey]:
        """The (room type, night) of every night the booking took."""
        return [(self.room_type, night) for night in self.nights()]

    def asked_for(self, command: ModifyBooking) -> list[NightKey]:
        """The nights a change would hold: none if it cannot apply (the decision says why)."""
        arrival = command.arrival or self.arrival
        departure = command.departure or self.departure
        if self.status != "confirmed" or departure <= arrival:
            return []
        room_type = command.room_type or self.room_type
        return [(room_type, night) for night in stay_nights(arrival, departure)]


def booking_stream(booking_id: str) -> str:
    return f"booking-{booking_id}"


def initial_booking(stream_id: str) -> Booking:
    return Booking(stream_id.removeprefix("booking-"))


def make(
    command: MakeBooking,
    *,
    booking: Booking,
    guest: Guest,
    block: Block | None,
    nights: Nights,
    now: datetime,
) -> list[DomainEvent]:
    """`block` is the one named by `command.block_id` (None for general inventory)."""
    if booking.status != "new":
        raise Conflict(f"booking {command.booking_id} already exists", code="booking_exists")
    stay = stay_nights(command.arrival, command.departure)
    _not_in_past(stay, now)
    block = _block_for(block, command.block_id, command.hotel_code, command.planner)
    if block is not None:
        block.covers(command.room_type, stay)
    events: list[DomainEvent] = []
    if command.new_guest is not None:
        if guest.status != "new":
            raise Conflict(f"guest {command.guest_id} already exists", code="guest_exists")
        new = command.new_guest
        events.append(
            GuestRecorded(
                guest_id=command.guest_id,
                key_id=new.key_id,
                name=new.name,
                phone=new.phone,
                id_document=new.id_document,
                planner=block.planner if block is not None else None,
            )
        )
        guest_name = new.name
    else:
        recorded = bookable(guest, planner=command.planner).name
        assert recorded is not None
        guest_name = recorded
    taken = _take(
        nights, command.hotel_code, command.room_type, command.block_id, stay, command.booking_id
    )
    rates = [t.rate for t in taken]
    events.append(
        BookingMade(
            booking_id=command.booking_id,
            hotel_code=command.hotel_code,
            block_id=command.block_id,
            room_type=command.room_type,
            arrival=command.arrival,
            departure=command.departure,
            board=command.board,
            requests=command.requests,
            guest_id=command.guest_id,
            guest_name=guest_name,
            nightly_rates=rates,
            total=sum(rates),
        )
    )
    return [*events, *taken]


def modify(
    command: ModifyBooking,
    *,
    booking: Booking,
    block: Block | None,
    nights: Nights,
    now: datetime,
) -> list[DomainEvent]:
    """`block` is the booking's (None if it has none); `nights` those it holds and would."""
    _active(booking)
    _planner_may(block, booking, command.planner)
    room_type = command.room_type or booking.room_type
    arrival = command.arrival or booking.arrival
    departure = command.departure or booking.departure
    board = command.board or booking.board
    requests = list(command.requests if command.requests is not None else booking.requests)
    if departure <= arrival:
        raise DomainError("departure must come after arrival", code="invalid_stay")
    stay = stay_nights(arrival, departure)
    old = {
        (booking.room_type, d): rate
        for d, rate in zip(booking.nights(), booking.nightly_rates, strict=True)
    }
    new_keys = [(room_type, d) for d in stay]
    to_take = [d for rt, d in new_keys if (rt, d) not in old]
    to_free = [(rt, d) for rt, d in old if (rt, d) not in set(new_keys)]
    if (
        not to_take
        and not to_free
        and board == booking.board
        and requests == list(booking.requests)
    ):
        return []
    _not_in_past(to_take, now)
    if block is not None:
        open_block(block).covers(room_type, stay)
    taken = _take(
        nights, booking.hotel_code, room_type, booking.block_id, to_take, booking.booking_id
    )
    new_rates = {t.night: t.rate for t in taken}
    rates = [old.get((room_type, d), new_rates.get(d, 0)) for d in stay]
    freed = [
        NightFreed(
            hotel_code=booking.hotel_code, room_type=rt, night=d, booking_id=booking.booking_id
        )
        for rt, d in to_free
    ]
    modified = BookingModified(
        booking_id=booking.booking_id,
        hotel_code=booking.hotel_code,
        block_id=booking.block_id,
        room_type=room_type,
        arrival=arrival,
        departure=departure,
        board=board,
        requests=requests,
        nightly_rates=rates,
        total=sum(rates),
    )
    return [modified, *freed, *taken]


def cancel(command: CancelBooking, *, booking: Booking, block: Block | None) -> list[DomainEvent]:
    """`block` is the booking's (None if it has none)."""
    _active(booking)
    _planner_may(block, booking, command.planner)
    return [
        BookingCancelled(
            booking_id=booking.booking_id, hotel_code=booking.hotel_code, block_id=booking.block_id
        ),
        *_free(booking, booking.nights()),
    ]


def no_show(command: RecordNoShow, *, booking: Booking, now: datetime) -> list[DomainEvent]:
    _active(booking)
    if local_date(now) < booking.arrival:
        raise DomainError(
            f"the guest is due on {booking.arrival}; a no-show is recorded from that day on",
            code="before_arrival",
        )
    return [
        NoShowRecorded(
            booking_id=booking.booking_id,
            hotel_code=booking.hotel_code,
            block_id=booking.block_id,
            charged=booking.nightly_rates[0],
        ),
        *_free(booking, booking.nights()[1:]),
    ]


def _not_in_past(stay: list[date], now: datetime) -> None:
    today = local_date(now)
    past = [d for d in stay if d < today]
    if past:
        raise DomainError(
            f"nights before today ({today}) cannot be booked",
            code="night_in_past",
            nights=[d.isoformat() for d in past],
        )


def _block_for(
    block: Block | None, block_id: str | None, hotel_code: str, planner: str | None
) -> Block | None:
    if block_id is None:
        if planner is not None:
            raise Forbidden(
                "a delegation planner books into their own block", code="not_your_block"
            )
        return None
    assert block is not None, "the plan reads the block a booking names"
    open_block(block)
    if block.hotel_code != hotel_code:
        raise DomainError(
            f"block {block_id} is at {block.hotel_code}",
            code="wrong_hotel",
            hotel_code=block.hotel_code,
        )
    if planner is not None and block.planner != planner:
        raise Forbidden(f"block {block_id} is planned by someone else", code="not_your_block")
    return block


def _planner_may(block: Block | None, booking: Booking, planner: str | None) -> None:
    if planner is None:
        return
    if block is None or block.planner != planner:
        raise Forbidden(
            f"booking {booking.booking_id} is not in a block you plan", code="not_your_block"
        )


def _active(booking: Booking) -> Booking:
    if booking.status == "new":
        raise NotFound(f"booking {booking.booking_id} not found", code="booking_not_found")
    if booking.status != "confirmed":
        raise Conflict(
            f"booking {booking.booking_id} is {booking.status}",
            code="booking_not_active",
            booking_status=booking.status,
        )
    return booking


def _take(
    nights: Nights,
    hotel_code: str,
    room_type: str,
    block_id: str | None,
    stay: list[date],
    booking_id: str,
) -> list[NightTaken]:
    """One room on every night of `stay` from the pool, or a refusal naming the full nights."""
    missing: list[str] = []
    full: list[dict[str, Any]] = []
    taken: list[NightTaken] = []
    for night_date in stay:
        night = nights[room_type, night_date]
        if night.allotment is None:
            missing.append(night_date.isoformat())
            continue
        if night.free(block_id) < 1:
            full.append({"night": night_date.isoformat(), "free": max(night.free(block_id), 0)})
            continue
        taken.append(
            NightTaken(
                hotel_code=hotel_code,
                room_type=room_type,
                night=night_date,
                booking_id=booking_id,
                block_id=block_id,
                rate=night.rate,
            )
        )
    if missing:
        raise DomainError(
            f"{hotel_code} has no {room_type} rooms for the fair on some nights",
            code="no_allotment",
            nights=missing,
        )
    if full:
        where = f"block {block_id}" if block_id else f"{hotel_code} {room_type} inventory"
        raise Conflict(
            f"no room left in {where} on {len(full)} of the nights", code="no_room", nights=full
        )
    return taken


def _free(booking: Booking, stay: list[date]) -> list[DomainEvent]:
    return [
        NightFreed(
            hotel_code=booking.hotel_code,
            room_type=booking.room_type,
            night=d,
            booking_id=booking.booking_id,
        )
        for d in stay
    ]


def evolve(booking: Booking, event: DomainEvent) -> Booking:
    match event:
        case BookingMade() | BookingModified():
            return replace(
                booking,
                status="confirmed",
                hotel_code=event.hotel_code,
                block_id=event.block_id,
                room_type=event.room_type,
                arrival=event.arrival,
                departure=event.departure,
                board=event.board,
                requests=tuple(event.requests),
                guest_id=event.guest_id if isinstance(event, BookingMade) else booking.guest_id,
                nightly_rates=tuple(event.nightly_rates),
                total=event.total,
            )
        case BookingCancelled():
            return replace(booking, status="cancelled", total=0)
        case NoShowRecorded():
            return replace(booking, status="no_show", total=event.charged)
        case _:
            return booking


BOOKING: Fold[Booking] = Fold(initial_booking, evolve)
