"""The states a multi-stream decision sees, folded from their streams.

A booking decides on several streams at once (the booking, its guest, its block and every
night of the stay); the handler loads them, this folds them, and `decide` reads them here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, TypeVar

from fairline_events.registry import DomainEvent

from . import blocks, bookings, hotel, inventory
from .blocks import Block
from .bookings import Booking, Guest
from .events import (
    block_stream,
    booking_stream,
    guest_stream,
    hotel_stream,
    night_stream,
    stream_of,
)
from .hotel import Hotel
from .inventory import Night

T = TypeVar("T")


def initial_state(stream_id: str) -> Any:
    kind, _, key = stream_id.partition("-")
    match kind:
        case "hotel":
            return hotel.initial_hotel(key)
        case "night":
            hotel_code, room_type, night = key.split(".")
            return inventory.initial_night(hotel_code, room_type, date.fromisoformat(night))
        case "block":
            return blocks.initial_block(key)
        case "booking":
            return bookings.initial_booking(key)
        case "guest":
            return bookings.initial_guest(key)
    raise ValueError(f"not a hotels stream: {stream_id}")


def evolve_state(state: Any, event: DomainEvent) -> Any:
    match state:
        case Hotel():
            return hotel.evolve(state, event)
        case Night():
            return inventory.evolve(state, event)
        case Block():
            return blocks.evolve(state, event)
        case Booking():
            return bookings.evolve_booking(state, event)
        case Guest():
            return bookings.evolve_guest(state, event)
    raise TypeError(f"no evolve for {type(state).__name__}")


def fold(stream_id: str, events: Iterable[DomainEvent]) -> Any:
    state = initial_state(stream_id)
    for event in events:
        state = evolve_state(state, event)
    return state


class World:
    """Folded states by stream id. Strict: asking for a stream that was not loaded is a bug."""

    def __init__(self, states: Mapping[str, Any], *, strict: bool = True) -> None:
        self.states = dict(states)
        self.strict = strict

    @classmethod
    def of(cls, events: Iterable[DomainEvent]) -> World:
        """Every stream the events touch, folded; any other stream reads as initial (tests)."""
        by_stream: dict[str, list[DomainEvent]] = defaultdict(list)
        for event in events:
            by_stream[stream_of(event)].append(event)
        return cls({s: fold(s, evs) for s, evs in by_stream.items()}, strict=False)

    def _get(self, stream_id: str, kind: type[T]) -> T:
        state = self.states.get(stream_id)
        if state is None:
            if self.strict:
                raise LookupError(f"stream {stream_id} was not loaded for this decision")
            state = initial_state(stream_id)
        assert isinstance(state, kind)
        return state

    def hotel(self, hotel_code: str) -> Hotel:
        return self._get(hotel_stream(hotel_code), Hotel)

    def night(self, hotel_code: str, room_type: str, night: date) -> Night:
        return self._get(night_stream(hotel_code, room_type, night), Night)

    def block(self, block_id: str) -> Block:
        return self._get(block_stream(block_id), Block)

    def booking(self, booking_id: str) -> Booking:
        return self._get(booking_stream(booking_id), Booking)

    def guest(self, guest_id: str) -> Guest:
        return self._get(guest_stream(guest_id), Guest)
