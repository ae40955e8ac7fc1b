"""Bookings: every night or none, never beyond a pool, and the guest's data sealed."""

from __future__ import annotations

from typing import Any

import hypothesis
import hypothesis.strategies as st
import pytest
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from fairline_events.testing import given
from hotels.domain.bookings import BOOKING, booking_stream
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
from hotels.domain.inventory import NIGHT, night_stream
from hotels.handlers import (
    cancel_booking,
    erase_guest,
    make_booking,
    modify_booking,
    record_no_show,
)
from pydantic import ValidationError

from .history import NOW, allotment, block, day, hotel, new_guest


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
    return given(*events).state(NIGHT, night_stream("cncc-grand", "standard", day(night))).booked


def test_a_booking_takes_one_room_on_every_night_of_the_stay() -> None:
    history = hotel() + allotment(2, rate=800)
    events = given(*history).when(make_booking, book("b1", 1, 4, board="full_board"), at=NOW)
    guest, made, *nights = events
    assert isinstance(guest, GuestRecorded) and guest.key_id == "key-b1"
    assert isinstance(made, BookingMade)
    assert (made.nightly_rates, made.total, made.board) == ([800, 800, 800], 2400, "full_board")
    assert made.guest_name == guest.name, "the partner feed needs the sealed name"
    assert [n.night for n in nights if isinstance(n, NightTaken)] == [day(1), day(2), day(3)]
    assert [taken_on(history + events, n) for n in (1, 3, 4)] == [1, 1, 0]
    assert "Zhang" not in str([e.model_dump() for e in events])


def test_one_full_night_refuses_the_whole_stay() -> None:
    history = hotel() + allotment(1)
    history += given(*history).when(make_booking, book("b1", 3, 4), at=NOW)
    with pytest.raises(Conflict) as refused:
        given(*history).when(make_booking, book("b2", 1, 5), at=NOW)
    assert refused.value.code == "no_room"
    assert refused.value.details["nights"] == [{"night": day(3).isoformat(), "free": 0}]


def test_general_bookings_cannot_take_rooms_a_block_holds() -> None:
    history = hotel() + allotment(10) + block("media", 10, group="media")
    with pytest.raises(Conflict):
        given(*history).when(make_booking, book("b1", 1, 2), at=NOW)
    events = given(*history).when(make_booking, book("b1", 1, 2, block_id="media"), at=NOW)
    assert [e.block_id for e in events if isinstance(e, NightTaken)] == ["media"]


def test_a_booking_into_a_block_stays_inside_its_dates_room_types_and_planner() -> None:
    history = hotel() + allotment(10) + block("dlg-sg", 3, 2, 4, planner="planner-sg")
    fair = given(*history)
    with pytest.raises(DomainError) as outside:
        fair.when(make_booking, book("b1", 1, 3, block_id="dlg-sg"), at=NOW)
    assert outside.value.code == "outside_block_dates"
    with pytest.raises(DomainError) as other_type:
        fair.when(make_booking, book("b1", 2, 3, block_id="dlg-sg", room_type="deluxe"), at=NOW)
    assert other_type.value.code == "room_type_not_in_block"
    with pytest.raises(Forbidden) as not_theirs:
        fair.when(make_booking, book("b1", 2, 3, block_id="dlg-sg", planner="planner-my"), at=NOW)
    assert not_theirs.value.code == "not_your_block"
    with pytest.raises(Forbidden):
        fair.when(make_booking, book("b1", 2, 3, planner="planner-sg"), at=NOW)
    assert fair.when(
        make_booking, book("b1", 2, 3, block_id="dlg-sg", planner="planner-sg"), at=NOW
    )


def test_a_released_block_takes_no_more_bookings() -> None:
    history = hotel() + allotment(10) + block("media", 3, group="media")
    history.append(
        BlockReleased(block_id="media", hotel_code="cncc-grand", room_nights=21, at_cut_off=True)
    )
    with pytest.raises(Conflict) as refused:
        given(*history).when(make_booking, book("b1", 1, 2, block_id="media"), at=NOW)
    assert refused.value.code == "block_released"


def test_nights_before_today_cannot_be_booked() -> None:
    history = hotel() + allotment(10)
    late = NOW.replace(year=2021, month=9, day=2)
    with pytest.raises(DomainError) as refused:
        given(*history).when(make_booking, book("b1", 1, 3), at=late)
    assert refused.value.code == "night_in_past"


def test_a_returning_guest_books_again_under_the_same_key_but_not_once_erased() -> None:
    history = hotel() + allotment(10)
    history += given(*history).when(make_booking, book("b1", 1, 2), at=NOW)
    again = book("b2", 3, 4, guest_id="g-b1", new_guest=None)
    made = next(
        e for e in given(*history).when(make_booking, again, at=NOW) if isinstance(e, BookingMade)
    )
    assert made.guest_name.key_id == "key-b1"
    with pytest.raises(Conflict):
        given(*history).when(make_booking, book("b3", 3, 4, guest_id="g-b1"), at=NOW)
    erased = given(*history).when(erase_guest, EraseGuest(guest_id="g-b1"), at=NOW)
    assert erased == [GuestErased(guest_id="g-b1", key_id="key-b1")]
    with pytest.raises(Conflict) as refused:
        given(*history, *erased).when(make_booking, again, at=NOW)
    assert refused.value.code == "guest_erased"
    assert given(*history, *erased).when(erase_guest, EraseGuest(guest_id="g-b1"), at=NOW) == []
    with pytest.raises(NotFound):
        given(*history).when(erase_guest, EraseGuest(guest_id="nobody"), at=NOW)


def test_a_planner_books_again_only_the_guests_of_their_own_blocks() -> None:
    history = hotel() + allotment(10)
    history += block("dlg-sg", 3, planner="planner-sg") + block("dlg-gb", 3, planner="planner-gb")
    history += given(*history).when(
        make_booking, book("b1", 1, 2, block_id="dlg-sg", planner="planner-sg"), at=NOW
    )
    history += given(*history).when(make_booking, book("desk", 1, 2), at=NOW)
    recorded = [e for e in history if isinstance(e, GuestRecorded)]
    assert [g.planner for g in recorded] == ["planner-sg", None]

    def returning(booking_id: str, guest_id: str, block_id: str, planner: str) -> MakeBooking:
        return book(
            booking_id, 3, 4, guest_id=guest_id, new_guest=None, block_id=block_id, planner=planner
        )

    # Another planner's guest, and the desk's, are as unknown as a guest never recorded.
    for guest_id in ("g-b1", "g-desk"):
        with pytest.raises(NotFound) as refused:
            given(*history).when(
                make_booking, returning("b2", guest_id, "dlg-gb", "planner-gb"), at=NOW
            )
        assert refused.value.code == "guest_not_found"
    assert given(*history).when(
        make_booking, returning("b3", "g-b1", "dlg-sg", "planner-sg"), at=NOW
    )
    assert given(*history).when(  # the desk books anyone
        make_booking, book("b4", 3, 4, guest_id="g-b1", new_guest=None), at=NOW
    )


def test_modifying_frees_the_nights_left_and_takes_only_the_new_ones() -> None:
    history = hotel() + allotment(1, rate=800) + allotment(1, room_type="deluxe", rate=1500)
    history += given(*history).when(make_booking, book("b1", 1, 4), at=NOW)
    events = given(*history).when(
        modify_booking, ModifyBooking(booking_id="b1", arrival=day(2), departure=day(5)), at=NOW
    )
    modified = events[0]
    assert isinstance(modified, BookingModified) and modified.total == 2400
    assert [e.night for e in events if isinstance(e, NightFreed)] == [day(1)]
    assert [e.night for e in events if isinstance(e, NightTaken)] == [day(4)]
    after = history + events
    assert [taken_on(after, n) for n in (1, 2, 3, 4)] == [0, 1, 1, 1]
    upgrade = given(*after).when(
        modify_booking, ModifyBooking(booking_id="b1", room_type="deluxe"), at=NOW
    )
    assert upgrade[0].total == 4500  # type: ignore[attr-defined]
    assert len([e for e in upgrade if isinstance(e, NightFreed)]) == 3
    assert given(*after).when(modify_booking, ModifyBooking(booking_id="b1"), at=NOW) == []
    with pytest.raises(DomainError) as invalid:
        given(*after).when(modify_booking, ModifyBooking(booking_id="b1", departure=day(1)), at=NOW)
    assert invalid.value.code == "invalid_stay"


def test_a_modification_that_finds_a_night_full_changes_nothing() -> None:
    history = hotel() + allotment(1)
    history += given(*history).when(make_booking, book("b1", 1, 2), at=NOW)
    history += given(*history).when(make_booking, book("b2", 2, 3), at=NOW)
    with pytest.raises(Conflict) as refused:
        given(*history).when(
            modify_booking, ModifyBooking(booking_id="b1", departure=day(3)), at=NOW
        )
    assert refused.value.code == "no_room"


def test_cancelling_gives_every_night_back_and_only_once() -> None:
    history = hotel() + allotment(1)
    history += given(*history).when(make_booking, book("b1", 1, 3), at=NOW)
    events = given(*history).when(cancel_booking, CancelBooking(booking_id="b1"), at=NOW)
    assert isinstance(events[0], BookingCancelled)
    assert [taken_on(history + events, n) for n in (1, 2)] == [0, 0]
    with pytest.raises(Conflict) as again:
        given(*history, *events).when(cancel_booking, CancelBooking(booking_id="b1"), at=NOW)
    assert again.value.code == "booking_not_active"
    with pytest.raises(NotFound):
        given(*history).when(cancel_booking, CancelBooking(booking_id="nope"), at=NOW)


def test_a_no_show_charges_the_first_night_and_frees_the_rest_from_arrival_day_on() -> None:
    history = hotel() + allotment(1, rate=900)
    history += given(*history).when(make_booking, book("b1", 1, 4), at=NOW)
    with pytest.raises(DomainError) as early:
        given(*history).when(record_no_show, RecordNoShow(booking_id="b1"), at=NOW)
    assert early.value.code == "before_arrival"
    arrival_evening = NOW.replace(month=9, day=1, hour=12)
    events = given(*history).when(record_no_show, RecordNoShow(booking_id="b1"), at=arrival_evening)
    assert events[0] == NoShowRecorded(booking_id="b1", hotel_code="cncc-grand", charged=900)
    assert [taken_on(history + events, n) for n in (1, 2, 3)] == [1, 0, 0]
    assert given(*history, *events).state(BOOKING, booking_stream("b1")).held_nights() == [day(1)]


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
    fair = given(*hotel(), *allotment(3, 1, 8), *block("media", 1, 1, 8, group="media"))
    for number, (action, arrival, length, target) in enumerate(steps):
        departure = arrival + length
        try:
            match action:
                case "book" | "book_block":
                    block_id = "media" if action == "book_block" else None
                    command = book(f"b{number}", arrival, departure, block_id=block_id)
                    fair.when(make_booking, command, at=NOW)
                case "modify":
                    command_m = ModifyBooking(
                        booking_id=f"b{target}", arrival=day(arrival), departure=day(departure)
                    )
                    fair.when(modify_booking, command_m, at=NOW)
                case "cancel":
                    command_c = CancelBooking(booking_id=f"b{target}")
                    fair.when(cancel_booking, command_c, at=NOW)
        except (Conflict, NotFound, DomainError):
            pass
        for n in range(1, 9):
            night = fair.state(NIGHT, night_stream("cncc-grand", "standard", day(n)))
            assert night.free() >= 0 and night.free("media") >= 0
            assert night.booked <= 3
            held = [
                b
                for b in (fair.state(BOOKING, booking_stream(f"b{i}")) for i in range(number + 1))
                if day(n) in b.held_nights()
            ]
            assert len(held) == night.booked, "bookings and nights agree"


@pytest.mark.parametrize("field", ["rooms", "rate"])
def test_allotment_numbers_are_bounded_to_what_the_read_models_hold(field: str) -> None:
    from hotels.api.hotels import AllotmentIn

    good = {"room_type": "standard", "first_night": day(1), "last_night": day(2)}
    good |= {"rooms": 10, "rate": 800}
    AllotmentIn.model_validate(good)
    for beyond in (2**31, 2**63):
        with pytest.raises(ValidationError):
            AllotmentIn.model_validate(good | {field: beyond})
