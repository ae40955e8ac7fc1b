"""Allotments and room blocks, told as given / when / then on pure deciders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent
from hotels.domain import hotel as hotel_decider
from hotels.domain.blocks import create_block, release_block
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
from hotels.domain.inventory import set_allotment
from hotels.domain.world import World

from .given import CUT_OFF, NOW, allotment, block, day, hotel


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
    return World.of(events).night("cncc-grand", "standard", day(night)).free(block_id)


def test_a_hotel_is_registered_once() -> None:
    command = RegisterHotel(
        hotel_code="Continental",
        name_zh="五洲大酒店",
        name_en="Continental Grand Hotel",
        room_types={"standard": 400},
    )
    [registered] = hotel_decider.decide(command, hotel_decider.initial_hotel("continental"))
    assert isinstance(registered, HotelRegistered) and registered.hotel_code == "continental"
    state = hotel_decider.evolve(hotel_decider.initial_hotel("continental"), registered)
    with pytest.raises(Conflict) as refused:
        hotel_decider.decide(command, state)
    assert refused.value.code == "hotel_exists"


def test_a_block_carves_its_rooms_from_general_inventory_on_every_night() -> None:
    given = hotel() + allotment(40)
    events = create_block(create("sg", 10, 2, 4), World.of(given), NOW)
    assert isinstance(events[0], BlockCreated)
    allocated = [e for e in events if isinstance(e, RoomsAllocated)]
    assert [(e.night, e.rooms) for e in allocated] == [(day(n), 10) for n in (2, 3, 4)]
    after = given + events
    assert [free(after, n) for n in (1, 2, 4, 5)] == [40, 30, 30, 40]
    assert free(after, 3, "sg") == 10


def test_a_block_larger_than_what_is_free_on_one_night_takes_nothing() -> None:
    given = hotel() + allotment(40) + block("media", 35, 3, 3, group="media")
    with pytest.raises(Conflict) as refused:
        create_block(create("sg", 10, 1, 5), World.of(given), NOW)
    assert refused.value.code == "not_enough_rooms"
    assert refused.value.details["nights"] == [
        {"room_type": "standard", "night": day(3).isoformat(), "free": 5}
    ]


def test_a_block_needs_an_allotment_on_every_night_and_a_known_room_type() -> None:
    given = hotel() + allotment(40, 1, 3)
    with pytest.raises(DomainError) as no_allotment:
        create_block(create("sg", 5, 2, 4), World.of(given), NOW)
    assert no_allotment.value.code == "no_allotment"
    with pytest.raises(DomainError) as unknown:
        create_block(create("sg", 1, rooms={"penthouse": 1}), World.of(given), NOW)
    assert unknown.value.code == "unknown_room_type"


def test_a_cut_off_in_the_past_is_refused() -> None:
    given = hotel() + allotment(40)
    with pytest.raises(DomainError) as refused:
        create_block(create("sg", 5, cut_off_at=NOW - timedelta(seconds=1)), World.of(given), NOW)
    assert refused.value.code == "cut_off_in_past"


def test_a_sub_block_is_carved_from_its_parent_and_stays_inside_it() -> None:
    given = hotel() + allotment(40) + block("dlg", 20, 1, 5)
    sub = create(
        "dlg-sg",
        8,
        2,
        4,
        parent_block_id="dlg",
        planner="planner-sg",
        cut_off_at=CUT_OFF - timedelta(days=3),
    )
    events = create_block(sub, World.of(given), NOW)
    assert SubBlockCarved(block_id="dlg", sub_block_id="dlg-sg") in events
    after = given + events
    assert (free(after, 3), free(after, 3, "dlg"), free(after, 3, "dlg-sg")) == (20, 12, 8)

    too_big = create("dlg-my", 13, 3, 3, parent_block_id="dlg")
    with pytest.raises(Conflict) as short:
        create_block(too_big, World.of(after), NOW)
    assert short.value.details["nights"][0]["free"] == 12
    outside = create("dlg-th", 1, 4, 6, parent_block_id="dlg")
    with pytest.raises(DomainError) as dates:
        create_block(outside, World.of(after), NOW)
    assert dates.value.code == "outside_block_dates"
    later = create("dlg-th", 1, 2, 2, parent_block_id="dlg", cut_off_at=CUT_OFF + timedelta(1))
    with pytest.raises(DomainError) as cut_off:
        create_block(later, World.of(after), NOW)
    assert cut_off.value.code == "cut_off_after_parent"
    nested = create("dlg-sg-a", 1, 2, 2, parent_block_id="dlg-sg", cut_off_at=CUT_OFF)
    with pytest.raises(DomainError) as deep:
        create_block(nested, World.of(after), NOW)
    assert deep.value.code in ("sub_block_too_deep", "cut_off_after_parent")


def test_at_cut_off_a_sub_block_gives_its_unbooked_rooms_to_its_parent() -> None:
    given = (
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
    world = World.of(given + booked)
    events = release_block(
        ReleaseBlock(block_id="dlg-sg", at_cut_off=True), world, CUT_OFF + timedelta(minutes=1)
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
    after = given + booked + events
    assert (free(after, 1, "dlg-sg"), free(after, 1, "dlg"), free(after, 1)) == (0, 19, 20)
    assert (
        release_block(ReleaseBlock(block_id="dlg-sg", at_cut_off=True), World.of(after), CUT_OFF)
        == []
    ), "a second release changes nothing"


def test_a_block_releases_to_general_inventory_only_after_its_sub_blocks() -> None:
    given = (
        hotel()
        + allotment(40)
        + block("dlg", 20, 1, 1)
        + block("dlg-sg", 5, 1, 1, parent="dlg")
        + [SubBlockCarved(block_id="dlg", sub_block_id="dlg-sg")]
    )
    with pytest.raises(Conflict) as waiting:
        release_block(ReleaseBlock(block_id="dlg", at_cut_off=False), World.of(given), NOW)
    assert waiting.value.code == "sub_blocks_still_open"
    sub = release_block(ReleaseBlock(block_id="dlg-sg", at_cut_off=False), World.of(given), NOW)
    events = release_block(
        ReleaseBlock(block_id="dlg", at_cut_off=False), World.of(given + sub), NOW
    )
    assert next(e for e in events if isinstance(e, RoomsReleased)).rooms == 20
    assert free(given + sub + events, 1) == 40


def test_the_clock_releases_nothing_before_the_cut_off() -> None:
    given = hotel() + allotment(40) + block("media", 5, group="media")
    with pytest.raises(DomainError) as early:
        release_block(ReleaseBlock(block_id="media", at_cut_off=True), World.of(given), NOW)
    assert early.value.code == "before_cut_off"
    with pytest.raises(NotFound):
        release_block(ReleaseBlock(block_id="nope", at_cut_off=True), World.of(given), NOW)


def test_an_allotment_never_exceeds_the_hotel_nor_drops_below_what_blocks_hold() -> None:
    given = hotel() + allotment(40, 1, 2) + block("media", 30, 1, 1, group="media")

    def set_rooms(rooms: int, first: int = 1, last: int = 3) -> list[DomainEvent]:
        command = SetAllotment(
            hotel_code="cncc-grand",
            room_type="standard",
            first_night=day(first),
            last_night=day(last),
            rooms=rooms,
            rate=800,
        )
        return set_allotment(command, World.of(given), NOW)

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
