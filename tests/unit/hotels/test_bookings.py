"""Bookings: every night or none, never beyond a pool, and the guest's data sealed."""

from __future__ import annotations

from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from hotels.domain.bookings import (
    cancel_booking,
    erase_guest,
    make_booking,
    modify_booking,
    record_no_show,
)
from hotels.domain.commands import (
    CancelBooking,
    EraseGuest,
    MakeBooking,
    ModifyBooking,
    RecordNoShow,
)
from hotels.domain.events import (
    BlockReleased,
    BookingCancelled,
    BookingMade,
    BookingModified,
    GuestErased,
    GuestRecorded,
    NightFreed,
    NightTaken,
    NoShowRecorded,
)
from hotels.domain.world import World
from pydantic import ValidationError

from .given import NOW, allotment, block, day, hotel, new_guest


def book(booking_id: str, arrival: int, departure: int, **kw: Any) -> MakeBooking:
    fields: dict[str, Any] = {
        "booking_id": booking_id,
        "hotel_code": "cncc-grand",
        "room_type": "standard",
        "arrival": day(arrival),
        "departure": day(departure),
        "guest_id": f"g-{booking_id}",
        "new_guest": new_guest(key_id=f"key-{booking_id}"),
    }
    return MakeBooking.model_validate(fields | kw)


def taken_on(events: list[DomainEvent], night: int) -> int:
    return World.of(events).night("cncc-grand", "standard", day(night)).booked


def test_a_booking_takes_one_room_on_every_night_of_the_stay() -> None:
    given = hotel() + allotment(2, rate=800)
    events = make_booking(book("b1", 1, 4, board="full_board"), World.of(given), NOW)
    guest, made, *nights = events
    assert isinstance(guest, GuestRecorded) and guest.key_id == "key-b1"
    assert isinstance(made, BookingMade)
    assert (made.nightly_rates, made.total, made.board) == ([800, 800, 800], 2400, "full_board")
    assert made.guest_name == guest.name, "the partner feed needs the sealed name"
    assert [n.night for n in nights if isinstance(n, NightTaken)] == [day(1), day(2), day(3)]
    assert [taken_on(given + events, n) for n in (1, 3, 4)] == [1, 1, 0]
    assert "Zhang" not in str([e.model_dump() for e in events])


def test_one_full_night_refuses_the_whole_stay() -> None:
    given = hotel() + allotment(1)
    given += make_booking(book("b1", 3, 4), World.of(given), NOW)
    with pytest.raises(Conflict) as refused:
        make_booking(book("b2", 1, 5), World.of(given), NOW)
    assert refused.value.code == "no_room"
    assert refused.value.details["nights"] == [{"night": day(3).isoformat(), "free": 0}]


def test_general_bookings_cannot_take_rooms_a_block_holds() -> None:
    given = hotel() + allotment(10) + block("media", 10, group="media")
    with pytest.raises(Conflict):
        make_booking(book("b1", 1, 2), World.of(given), NOW)
    events = make_booking(book("b1", 1, 2, block_id="media"), World.of(given), NOW)
    assert [e.block_id for e in events if isinstance(e, NightTaken)] == ["media"]


def test_a_booking_into_a_block_stays_inside_its_dates_room_types_and_planner() -> None:
    given = hotel() + allotment(10) + block("dlg-sg", 3, 2, 4, planner="planner-sg")
    world = World.of(given)
    with pytest.raises(DomainError) as outside:
        make_booking(book("b1", 1, 3, block_id="dlg-sg"), world, NOW)
    assert outside.value.code == "outside_block_dates"
    with pytest.raises(DomainError) as other_type:
        make_booking(book("b1", 2, 3, block_id="dlg-sg", room_type="deluxe"), world, NOW)
    assert other_type.value.code == "room_type_not_in_block"
    with pytest.raises(Forbidden) as not_theirs:
        make_booking(book("b1", 2, 3, block_id="dlg-sg", planner="planner-my"), world, NOW)
    assert not_theirs.value.code == "not_your_block"
    with pytest.raises(Forbidden):
        make_booking(book("b1", 2, 3, planner="planner-sg"), world, NOW)
    assert make_booking(book("b1", 2, 3, block_id="dlg-sg", planner="planner-sg"), world, NOW)


def test_a_released_block_takes_no_more_bookings() -> None:
    given = hotel() + allotment(10) + block("media", 3, group="media")
    given.append(
        BlockReleased(block_id="media", hotel_code="cncc-grand", room_nights=21, at_cut_off=True)
    )
    with pytest.raises(Conflict) as refused:
        make_booking(book("b1", 1, 2, block_id="media"), World.of(given), NOW)
    assert refused.value.code == "block_released"


def test_nights_before_today_cannot_be_booked() -> None:
    given = hotel() + allotment(10)
    late = NOW.replace(year=2021, month=9, day=2)
    with pytest.raises(DomainError) as refused:
        make_booking(book("b1", 1, 3), World.of(given), late)
    assert refused.value.code == "night_in_past"


def test_a_returning_guest_books_again_under_the_same_key_but_not_once_erased() -> None:
    given = hotel() + allotment(10)
    given += make_booking(book("b1", 1, 2), World.of(given), NOW)
    again = book("b2", 3, 4, guest_id="g-b1", new_guest=None)
    made = next(e for e in make_booking(again, World.of(given), NOW) if isinstance(e, BookingMade))
    assert made.guest_name.key_id == "key-b1"
    with pytest.raises(Conflict):
        make_booking(book("b3", 3, 4, guest_id="g-b1"), World.of(given), NOW)
    erased = erase_guest(EraseGuest(guest_id="g-b1"), World.of(given).guest("g-b1"))
    assert erased == [GuestErased(guest_id="g-b1", key_id="key-b1")]
    with pytest.raises(Conflict) as refused:
        make_booking(again, World.of(given + erased), NOW)
    assert refused.value.code == "guest_erased"
    assert erase_guest(EraseGuest(guest_id="g-b1"), World.of(given + erased).guest("g-b1")) == []
    with pytest.raises(NotFound):
        erase_guest(EraseGuest(guest_id="nobody"), World.of(given).guest("nobody"))


def test_modifying_frees_the_nights_left_and_takes_only_the_new_ones() -> None:
    given = hotel() + allotment(1, rate=800) + allotment(1, room_type="deluxe", rate=1500)
    given += make_booking(book("b1", 1, 4), World.of(given), NOW)
    events = modify_booking(
        ModifyBooking(booking_id="b1", arrival=day(2), departure=day(5)), World.of(given), NOW
    )
    modified = events[0]
    assert isinstance(modified, BookingModified) and modified.total == 2400
    assert [e.night for e in events if isinstance(e, NightFreed)] == [day(1)]
    assert [e.night for e in events if isinstance(e, NightTaken)] == [day(4)]
    after = given + events
    assert [taken_on(after, n) for n in (1, 2, 3, 4)] == [0, 1, 1, 1]
    upgrade = modify_booking(
        ModifyBooking(booking_id="b1", room_type="deluxe"), World.of(after), NOW
    )
    assert upgrade[0].total == 4500  # type: ignore[attr-defined]
    assert len([e for e in upgrade if isinstance(e, NightFreed)]) == 3
    assert modify_booking(ModifyBooking(booking_id="b1"), World.of(after), NOW) == []
    with pytest.raises(DomainError) as invalid:
        modify_booking(ModifyBooking(booking_id="b1", departure=day(1)), World.of(after), NOW)
    assert invalid.value.code == "invalid_stay"


def test_a_modification_that_finds_a_night_full_changes_nothing() -> None:
    given = hotel() + allotment(1)
    given += make_booking(book("b1", 1, 2), World.of(given), NOW)
    given += make_booking(book("b2", 2, 3), World.of(given), NOW)
    with pytest.raises(Conflict) as refused:
        modify_booking(ModifyBooking(booking_id="b1", departure=day(3)), World.of(given), NOW)
    assert refused.value.code == "no_room"


def test_cancelling_gives_every_night_back_and_only_once() -> None:
    given = hotel() + allotment(1)
    given += make_booking(book("b1", 1, 3), World.of(given), NOW)
    events = cancel_booking(CancelBooking(booking_id="b1"), World.of(given), NOW)
    assert isinstance(events[0], BookingCancelled)
    assert [taken_on(given + events, n) for n in (1, 2)] == [0, 0]
    with pytest.raises(Conflict) as again:
        cancel_booking(CancelBooking(booking_id="b1"), World.of(given + events), NOW)
    assert again.value.code == "booking_not_active"
    with pytest.raises(NotFound):
        cancel_booking(CancelBooking(booking_id="nope"), World.of(given), NOW)


def test_a_no_show_charges_the_first_night_and_frees_the_rest_from_arrival_day_on() -> None:
    given = hotel() + allotment(1, rate=900)
    given += make_booking(book("b1", 1, 4), World.of(given), NOW)
    with pytest.raises(DomainError) as early:
        record_no_show(RecordNoShow(booking_id="b1"), World.of(given), NOW)
    assert early.value.code == "before_arrival"
    arrival_evening = NOW.replace(month=9, day=1, hour=12)
    events = record_no_show(RecordNoShow(booking_id="b1"), World.of(given), arrival_evening)
    assert events[0] == NoShowRecorded(booking_id="b1", hotel_code="cncc-grand", charged=900)
    assert [taken_on(given + events, n) for n in (1, 2, 3)] == [1, 0, 0]
    assert World.of(given + events).booking("b1").held_nights() == [day(1)]


def test_a_stay_is_checked_when_asked_for() -> None:
    with pytest.raises(ValidationError):
        book("b1", 3, 3)
    with pytest.raises(ValidationError):
        book("b1", 1, 40)


# Property: whatever bookings, changes and cancellations come, in any order, no pool is ever
# below zero and no night holds more bookings than its allotment.
actions = st.lists(
    st.tuples(
        st.sampled_from(["book", "book_block", "modify", "cancel"]),
        st.integers(1, 6),
        st.integers(1, 3),
        st.integers(0, 7),
    ),
    max_size=40,
)


@hypothesis.given(actions)
@hypothesis.settings(max_examples=150, deadline=None)
def test_no_night_is_ever_booked_beyond_its_allotment(
    steps: list[tuple[str, int, int, int]],
) -> None:
    history: list[DomainEvent] = (
        hotel() + allotment(3, 1, 8) + block("media", 1, 1, 8, group="media")
    )
    for number, (action, arrival, length, target) in enumerate(steps):
        departure = arrival + length
        try:
            match action:
                case "book" | "book_block":
                    block_id = "media" if action == "book_block" else None
                    command = book(f"b{number}", arrival, departure, block_id=block_id)
                    history += make_booking(command, World.of(history), NOW)
                case "modify":
                    command_m = ModifyBooking(
                        booking_id=f"b{target}", arrival=day(arrival), departure=day(departure)
                    )
                    history += modify_booking(command_m, World.of(history), NOW)
                case "cancel":
                    command_c = CancelBooking(booking_id=f"b{target}")
                    history += cancel_booking(command_c, World.of(history), NOW)
        except (Conflict, NotFound, DomainError):
            pass
        world = World.of(history)
        for n in range(1, 9):
            night = world.night("cncc-grand", "standard", day(n))
            assert night.free() >= 0 and night.free("media") >= 0
            assert night.booked <= 3
            held = [
                b
                for b in (world.booking(f"b{i}") for i in range(number + 1))
                if day(n) in b.held_nights()
            ]
            assert len(held) == night.booked, "bookings and nights agree"
