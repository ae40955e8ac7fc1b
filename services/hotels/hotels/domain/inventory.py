"""One night of one room type at one hotel: the pool every rule against overbooking guards.

    allotment ──┬── general inventory ─── bookings without a block
                └── block (held) ──┬── the block's own bookings
                                   └── sub-block (held) ─── the sub-block's bookings

A pool's free rooms are what it holds, less what its sub-blocks hold, less its bookings.
No event may leave any pool below zero, so no night is ever booked beyond its allotment:
`total taken <= allotment` follows from every pool being >= 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from .commands import SetAllotment
from .events import AllotmentSet, NightFreed, NightTaken, RoomsAllocated, RoomsReleased
from .hotel import Hotel


@dataclass(frozen=True)
class Holding:
    """What a block holds on this night (including what it carved for its sub-blocks)."""

    parent: str | None
    held: int


@dataclass(frozen=True)
class Taken:
    block_id: str | None
    rate: int


@dataclass(frozen=True)
class Night:
    hotel_code: str
    room_type: str
    night: date
    allotment: int | None = None
    """None until the hotel gives the fair rooms of this type for this night."""
    rate: int = 0
    holdings: Mapping[str, Holding] = field(default_factory=dict)
    taken: Mapping[str, Taken] = field(default_factory=dict)

    def free(self, block_id: str | None = None) -> int:
        """Rooms that can still be booked or carved in the pool: a block, or general inventory."""
        booked = sum(1 for t in self.taken.values() if t.block_id == block_id)
        carved = sum(h.held for h in self.holdings.values() if h.parent == block_id)
        if block_id is None:
            return (self.allotment or 0) - carved - booked
        holding = self.holdings.get(block_id)
        return (holding.held if holding else 0) - carved - booked

    def committed(self) -> int:
        """Rooms the allotment cannot drop below: held by blocks or booked from general."""
        return (self.allotment or 0) - self.free(None)

    @property
    def booked(self) -> int:
        return len(self.taken)


NightKey = tuple[str, date]
"""A night of a room type at one hotel: (room type, night)."""

Nights = Mapping[NightKey, Night]
"""The nights a decision sees, by room type and date, all at one hotel."""


def night_stream(hotel_code: str, room_type: str, night: date) -> str:
    return f"night-{hotel_code}.{room_type}.{night.isoformat()}"


def night_streams(hotel_code: str, keys: Iterable[NightKey]) -> list[tuple[Fold[Night], str]]:
    """The streams of these nights at one hotel, as a command reads them."""
    return [(NIGHT, night_stream(hotel_code, room_type, night)) for room_type, night in keys]


def by_key(states: Iterable[Night]) -> dict[NightKey, Night]:
    return {(night.room_type, night.night): night for night in states}


def initial_night(stream_id: str) -> Night:
    hotel_code, room_type, night = stream_id.removeprefix("night-").split(".")
    return Night(hotel_code, room_type, date.fromisoformat(night))


def set_allotment(command: SetAllotment, *, hotel: Hotel, nights: Nights) -> list[DomainEvent]:
    """The allotment of every night in the range; never above the hotel's rooms of the type,
    never below what blocks hold and general bookings took on that night."""
    physical = hotel.physical_rooms(command.room_type)
    if command.rooms > physical:
        raise DomainError(
            f"{command.hotel_code} has only {physical} {command.room_type} rooms",
            code="allotment_exceeds_rooms",
            physical_rooms=physical,
        )
    events: list[DomainEvent] = []
    below: list[dict[str, Any]] = []
    for room_type, night_date in command.night_keys():
        night = nights[room_type, night_date]
        if night.committed() > command.rooms:
            below.append({"night": night_date.isoformat(), "committed": night.committed()})
        if (night.allotment, night.rate) != (command.rooms, command.rate):
            events.append(
                AllotmentSet(
                    hotel_code=command.hotel_code,
                    room_type=room_type,
                    night=night_date,
                    rooms=command.rooms,
                    rate=command.rate,
                )
            )
    if below:
        raise Conflict(
            "blocks hold or bookings took more rooms than that on some nights",
            code="allotment_below_commitments",
            nights=below,
        )
    return events


def evolve(state: Night, event: DomainEvent) -> Night:
    match event:
        case AllotmentSet():
            return replace(state, allotment=event.rooms, rate=event.rate)
        case RoomsAllocated():
            before = state.holdings.get(event.block_id, Holding(event.parent_block_id, 0))
            holding = replace(before, held=before.held + event.rooms)
            return replace(state, holdings={**state.holdings, event.block_id: holding})
        case RoomsReleased():
            before = state.holdings[event.block_id]
            holding = replace(before, held=before.held - event.rooms)
            return replace(state, holdings={**state.holdings, event.block_id: holding})
        case NightTaken():
            taken = {**state.taken, event.booking_id: Taken(event.block_id, event.rate)}
            return replace(state, taken=taken)
        case NightFreed():
            return replace(
                state, taken={k: v for k, v in state.taken.items() if k != event.booking_id}
            )
        case _:
            return state


NIGHT: Fold[Night] = Fold(initial_night, evolve)
