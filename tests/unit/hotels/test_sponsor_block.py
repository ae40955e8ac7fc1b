"""A sponsor's room block, given / when / then: the hotels handler's own plan, in memory."""

from __future__ import annotations

from datetime import datetime

from fairline_events.registry import DomainEvent
from fairline_events.testing import Scenario, given
from hotels.domain.commands import CreateSponsorBlock
from hotels.domain.events import BlockCreated, RoomsAllocated, SponsorBlockRefused
from hotels.domain.values import HOTEL_TIME
from hotels.handlers import create_sponsor_block

from .history import NOW, allotment, day, hotel


def ask(world: Scenario, rooms: int = 20, attempt: int = 1, **kw: object) -> list[DomainEvent]:
    fields: dict[str, object] = {
        "block_id": "sponsorship:pkg-1:2", "attempt": attempt, "name": "ICBC (sponsor package)",
        "hotel_code": "cncc-grand", "room_type": "standard", "rooms": rooms,
        "first_night": day(1), "last_night": day(3),
    }  # fmt: skip
    return world.when(create_sponsor_block, CreateSponsorBlock.model_validate(fields | kw), at=NOW)


def test_a_sponsors_block_is_made_once_released_a_week_before_its_first_night() -> None:
    world = given(*hotel(), *allotment(30))
    created, *allocated = ask(world)
    assert isinstance(created, BlockCreated) and created.group == "sponsor"
    assert created.cut_off_at == datetime(2021, 8, 25, 18, tzinfo=HOTEL_TIME)
    assert [(e.night, e.rooms) for e in allocated if isinstance(e, RoomsAllocated)] == [
        (day(n), 20) for n in (1, 2, 3)
    ]
    assert ask(world) == [] and ask(world, attempt=2) == []  # the block is the answer


def test_a_refusal_is_recorded_once_per_attempt_and_a_new_attempt_is_tried_afresh() -> None:
    world = given(*hotel(), *allotment(10))
    [refused] = ask(world)
    assert isinstance(refused, SponsorBlockRefused) and refused.attempt == 1
    assert refused.reason == "not enough free rooms in inventory for the block"
    assert ask(world) == []  # redelivered
    world.given(*allotment(30))
    assert isinstance(ask(world, attempt=2)[0], BlockCreated)


def test_values_no_block_may_have_are_refused_with_what_was_wrong() -> None:
    world = given(*hotel(), *allotment(30))
    # a dot would split a night's stream id wrongly: no night is read for such a request
    [odd] = ask(world, room_type="deluxe.suite")
    assert isinstance(odd, SponsorBlockRefused) and odd.code == "invalid_request"
    assert odd.reason == "Value error, expected a room type code such as standard"
    [reversed_stay] = ask(world, attempt=2, first_night=day(3), last_night=day(1))
    assert (
        isinstance(reversed_stay, SponsorBlockRefused) and reversed_stay.code == "invalid_request"
    )
    assert "night" in reversed_stay.reason
    [unknown] = ask(world, attempt=3, hotel_code="nowhere")
    assert isinstance(unknown, SponsorBlockRefused) and unknown.code == "hotel_not_found"
