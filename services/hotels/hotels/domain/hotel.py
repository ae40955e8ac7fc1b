"""A hotel of the group (stream `hotel-<code>`): its room types and how many physical rooms
each has. Registered once; every allotment and block checks its room types against it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from .commands import RegisterHotel
from .events import HotelRegistered


@dataclass(frozen=True)
class Hotel:
    hotel_code: str
    registered: bool = False
    name_zh: str = ""
    name_en: str = ""
    room_types: Mapping[str, int] = field(default_factory=dict)

    def physical_rooms(self, room_type: str) -> int:
        """The hotel's rooms of `room_type`; refuses a type the hotel does not have."""
        if not self.registered:
            raise NotFound(f"hotel {self.hotel_code} not found", code="hotel_not_found")
        if room_type not in self.room_types:
            raise DomainError(
                f"hotel {self.hotel_code} has no room type {room_type}",
                code="unknown_room_type",
                room_type=room_type,
                room_types=sorted(self.room_types),
            )
        return self.room_types[room_type]


def hotel_stream(hotel_code: str) -> str:
    return f"hotel-{hotel_code}"


def initial_hotel(stream_id: str) -> Hotel:
    return Hotel(stream_id.removeprefix("hotel-"))


def register(command: RegisterHotel, *, hotel: Hotel) -> list[DomainEvent]:
    if hotel.registered:
        raise Conflict(f"hotel {hotel.hotel_code} already exists", code="hotel_exists")
    return [
        HotelRegistered(
            hotel_code=command.hotel_code,
            name_zh=command.name_zh,
            name_en=command.name_en,
            room_types=command.room_types,
        )
    ]


def evolve(hotel: Hotel, event: DomainEvent) -> Hotel:
    match event:
        case HotelRegistered():
            return Hotel(
                hotel_code=event.hotel_code,
                registered=True,
                name_zh=event.name_zh,
                name_en=event.name_en,
                room_types=dict(event.room_types),
            )
        case _:
            return hotel


HOTEL: Fold[Hotel] = Fold(initial_hotel, evolve)
