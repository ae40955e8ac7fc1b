"""Allotments and room blocks, told as given / when / then through the handlers' own plans."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent
from fairline_events.testing import given
from hotels.domain.commands import CreateBlock, RegisterHotel, ReleaseBlock, SetAllotment
from hotels.domain.events import (
    AllotmentSet,
    BlockCreated,
    BlockReleased,
    HotelRegistered,
    NightTaken,
    RoomsAllocated,
    RoomsReleased,
    SubBlockCarved,
)
from hotels.domain.inventory import NIGHT, night_stream
from hotels.handlers import create_block, register_hotel, release_block, set_allotment

from .history import CUT_OFF, NOW, allotment, block, day, hotel


def create(block_id: str, n: int, first: int = 1, last: int = 7, **kw: object) -> CreateBlock:
    fields: dict[str, object] = {
        "block_id": block_id,
        "hotel_code": "cncc-grand",
        "group": "delegation",
        "name": f"block {block_id}",
        "first_night": day(first),
        "last_night": day(last),
        "rooms": {"standard": n},
        "cut_off_at": CUT_OFF,
    }
    return CreateBlock.model_validate(fields | kw)


def free(events: list[DomainEvent], night: int, block_id: str | None = None) -> int:
    stream_id = night_stream("cncc-grand", "standard", day(night))
    return given(*events).state(NIGHT, stream_id).free(block_id)


def test_a_hotel_is_registered_once() -> None:
    command = RegisterHotel(
        hotel_code="Continental",
        name_zh="五洲大酒店",
        name_en="Continental Grand Hotel",
        room_types={"standard": 400},
    )
    hotels = given()
    [registered] = hotels.when(register_hotel, command, at=NOW)
    assert isinstance(registered, HotelRegistered) and registered.hotel_code == "continental"
    with pytest.raises(Conflict) as refused:
        hotels.when(register_hotel, command, at=NOW)
    assert refused.value.code == "hotel_exists"


def test_a_block_carves_its_rooms_from_general_inventory_on_every_night() -> None:
    history = hotel() + allotment(40)
    events = given(*history).when(create_block, create("sg", 10, 2, 4), at=NOW)
    assert isinstance(events[0], BlockCreated)
    allocated = [e for e in events if isinstance(e, RoomsAllocated)]
    assert [(e.night, e.rooms) for e in allocated] == [(day(n), 10) for n in (2, 3, 4)]
    after = history + events
    assert [free(after, n) for n in (1, 2, 4, 5)] == [40, 30, 30, 40]
    assert free(after, 3, "sg") == 10


def test_a_block_larger_than_what_is_free_on_one_night_takes_nothing() -> None:
    history = hotel() + allotment(40) + block("media", 35, 3, 3, group="media")
    with pytest.raises(Conflict) as refused:
        given(*history).when(create_block, create("sg", 10, 1, 5), at=NOW)
    assert refused.value.code == "not_enough_rooms"
    assert refused.value.details["nights"] == [
        {"room_type": "standard", "night": day(3).isoformat(), "free": 5}
    ]


def test_a_block_needs_an_allotment_on_every_night_and_a_known_room_type() -> None:
    history = hotel() + allotment(40, 1, 3)
    with pytest.raises(DomainError) as no_allotment:
        given(*history).when(create_block, create("sg", 5, 2, 4), at=NOW)
    assert no_allotment.value.code == "no_allotment"
    with pytest.raises(DomainError) as unknown:
        given(*history).when(create_block, create("sg", 1, rooms={"penthouse": 1}), at=NOW)
    assert unknown.value.code == "unknown_room_type"


def test_a_cut_off_in_the_past_is_refused() -> None:
    history = hotel() + allotment(40)
    with pytest.raises(DomainError) as refused:
        given(*history).when(
            create_block, create("sg", 5, cut_off_at=NOW - timedelta(seconds=1)), at=NOW
        )
    assert refused.value.code == "cut_off_in_past"


def test_a_sub_block_is_carved_from_its_parent_and_stays_inside_it() -> None:
    history = hotel() + allotment(40) + block("dlg", 20, 1, 5)
    sub = create(
        "dlg-sg",
        8,
        2,
        4,
        parent_block_id="dlg",
        planner="planner-sg",
        cut_off_at=CUT_OFF - timedelta(days=3),
    )
    events = given(*history).when(create_block, sub, at=NOW)
    assert SubBlockCarved(block_id="dlg", sub_block_id="dlg-sg") in events
    after = history + events
    assert (free(after, 3), free(after, 3, "dlg"), free(after, 3, "dlg-sg")) == (20, 12, 8)

    too_big = create("dlg-my", 13, 3, 3, parent_block_id="dlg")
    with pytest.raises(Conflict) as short:
        given(*after).when(create_block, too_big, at=NOW)
    assert short.value.details["nights"][0]["free"] == 12
    outside = create("dlg-th", 1, 4, 6, parent_block_id="dlg")
    with pytest.raises(DomainError) as dates:
        given(*after).when(create_block, outside, at=NOW)
    assert dates.value.code == "outside_block_dates"
    later = create("dlg-th", 1, 2, 2, parent_block_id="dlg", cut_off_at=CUT_OFF + timedelta(1))
    with pytest.raises(DomainError) as cut_off:
        given(*after).when(create_block, later, at=NOW)
    assert cut_off.value.code == "cut_off_after_parent"
    nested = create("dlg-sg-a", 1, 2, 2, parent_block_id="dlg-sg", cut_off_at=CUT_OFF)
    with pytest.raises(DomainError) as deep:
        given(*after).when(create_block, nested, at=NOW)
    assert deep.value.code in ("sub_block_too_deep", "cut_off_after_parent")


def test_at_cut_off_a_sub_block_gives_its_unbooked_rooms_to_its_parent() -> None:
    history = (
        hotel()
        + allotment(40)
        + block("dlg", 20, 1, 3)
        + block("dlg-sg", 5, 1, 3, parent="dlg", planner="p")
        + [SubBlockCarved(block_id="dlg", sub_block_id="dlg-sg")]
    )
    booked: list[DomainEvent] = [
        NightTaken(
            hotel_code="cncc-grand",
            room_type="standard",
            night=day(n),
            booking_id="b1",
            block_id="dlg-sg",
            rate=800,
        )
        for n in (1, 2)
    ]
    events = given(*history, *booked).when(
        release_block,
        ReleaseBlock(block_id="dlg-sg", at_cut_off=True),
        at=CUT_OFF + timedelta(minutes=1),
    )
    released = [e for e in events if isinstance(e, RoomsReleased)]
    assert [(e.night, e.rooms, e.to_block_id) for e in released] == [
        (day(1), 4, "dlg"),
        (day(2), 4, "dlg"),
        (day(3), 5, "dlg"),
    ]
    assert events[-1] == BlockReleased(
        block_id="dlg-sg",
        hotel_code="cncc-grand",
        to_block_id="dlg",
        room_nights=13,
        at_cut_off=True,
    )
    after = history + booked + events
    assert (free(after, 1, "dlg-sg"), free(after, 1, "dlg"), free(after, 1)) == (0, 19, 20)
    assert (
        given(*after).when(
            release_block, ReleaseBlock(block_id="dlg-sg", at_cut_off=True), at=CUT_OFF
        )
        == []
    ), "a second release changes nothing"


def test_a_block_releases_to_general_inventory_only_after_its_sub_blocks() -> None:
    history = (
        hotel()
        + allotment(40)
        + block("dlg", 20, 1, 1)
        + block("dlg-sg", 5, 1, 1, parent="dlg")
        + [SubBlockCarved(block_id="dlg", sub_block_id="dlg-sg")]
    )
    with pytest.raises(Conflict) as waiting:
        given(*history).when(release_block, ReleaseBlock(block_id="dlg", at_cut_off=False), at=NOW)
    assert waiting.value.code == "sub_blocks_still_open"
    sub = given(*history).when(
        release_block, ReleaseBlock(block_id="dlg-sg", at_cut_off=False), at=NOW
    )
    events = given(*history, *sub).when(
        release_block, ReleaseBlock(block_id="dlg", at_cut_off=False), at=NOW
    )
    assert next(e for e in events if isinstance(e, RoomsReleased)).rooms == 20
    assert free(history + sub + events, 1) == 40


def test_the_clock_releases_nothing_before_the_cut_off() -> None:
    history = hotel() + allotment(40) + block("media", 5, group="media")
    with pytest.raises(DomainError) as early:
        given(*history).when(release_block, ReleaseBlock(block_id="media", at_cut_off=True), at=NOW)
    assert early.value.code == "before_cut_off"
    with pytest.raises(NotFound):
        given(*history).when(release_block, ReleaseBlock(block_id="nope", at_cut_off=True), at=NOW)


def test_an_allotment_never_exceeds_the_hotel_nor_drops_below_what_blocks_hold() -> None:
    history = hotel() + allotment(40, 1, 2) + block("media", 30, 1, 1, group="media")

    def set_rooms(rooms: int, first: int = 1, last: int = 3) -> list[DomainEvent]:
        command = SetAllotment(
            hotel_code="cncc-grand",
            room_type="standard",
            first_night=day(first),
            last_night=day(last),
            rooms=rooms,
            rate=800,
        )
        return given(*history).when(set_allotment, command, at=NOW)

    assert [(e.night, e.rooms) for e in set_rooms(40) if isinstance(e, AllotmentSet)] == [
        (day(3), 40)
    ], "unchanged nights are left alone"
    with pytest.raises(Conflict) as below:
        set_rooms(29)
    assert below.value.code == "allotment_below_commitments"
    assert below.value.details["nights"] == [{"night": day(1).isoformat(), "committed": 30}]
    with pytest.raises(DomainError) as above:
        set_rooms(301)
    assert above.value.code == "allotment_exceeds_rooms"
    assert len(set_rooms(30, 1, 1)) == 1
