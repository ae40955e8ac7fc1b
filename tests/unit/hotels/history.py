"""The history hotels tests start from: a hotel, its allotments, blocks and guests (events
to give `fairline_events.testing.given`), and the new guest a booking records."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from fairline_events.registry import DomainEvent
from fairline_events.shredding import new_key, seal
from hotels.domain.commands import NewGuest
from hotels.domain.events import AllotmentSet, BlockCreated, HotelRegistered, RoomsAllocated
from hotels.domain.values import nights

NOW = datetime(2021, 8, 1, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
D1 = date(2021, 9, 1)
CUT_OFF = datetime(2021, 8, 20, 16, 0, tzinfo=UTC)
KEY = new_key()


def day(n: int) -> date:
    """The n-th night of the fair week, counting D1 as 1."""
    return D1 + timedelta(days=n - 1)


def hotel(code: str = "cncc-grand", **room_types: int) -> list[DomainEvent]:
    return [
        HotelRegistered(
            hotel_code=code,
            name_zh="国家会议中心大酒店",
            name_en="CNCC Grand Hotel",
            room_types=room_types or {"standard": 300, "deluxe": 120},
        )
    ]


def allotment(
    rooms: int,
    first: int = 1,
    last: int = 7,
    room_type: str = "standard",
    rate: int = 800,
    hotel_code: str = "cncc-grand",
) -> list[DomainEvent]:
    return [
        AllotmentSet(hotel_code=hotel_code, room_type=room_type, night=d, rooms=rooms, rate=rate)
        for d in nights(day(first), day(last))
    ]


def block(
    block_id: str,
    rooms: int,
    first: int = 1,
    last: int = 7,
    *,
    parent: str | None = None,
    planner: str | None = None,
    room_type: str = "standard",
    cut_off_at: datetime = CUT_OFF,
    group: Any = "delegation",
) -> list[DomainEvent]:
    created = BlockCreated(
        block_id=block_id,
        hotel_code="cncc-grand",
        group=group,
        name=f"block {block_id}",
        parent_block_id=parent,
        planner=planner,
        first_night=day(first),
        last_night=day(last),
        rooms={room_type: rooms},
        cut_off_at=cut_off_at,
    )
    allocated = [
        RoomsAllocated(
            hotel_code="cncc-grand",
            room_type=room_type,
            night=d,
            block_id=block_id,
            parent_block_id=parent,
            rooms=rooms,
        )
        for d in nights(day(first), day(last))
    ]
    return [created, *allocated]


def new_guest(name: str = "Zhang Wei", key_id: str = "key-g1") -> NewGuest:
    return NewGuest(
        key_id=key_id,
        key=KEY,
        name=seal(KEY, key_id, "name", name),
        phone=seal(KEY, key_id, "phone", "+86 138 0013 8000"),
        id_document=seal(KEY, key_id, "id_document", "E12345678"),
    )
