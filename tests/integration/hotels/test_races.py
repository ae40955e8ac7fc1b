"""A booking changed and cancelled at once, many times over: each caller gets the rule's
answer, never a bare concurrent change. The nights a command writes are found from the
booking's state and read in the same attempt; if the booking moved meanwhile, the command is
decided again on fresh state, and no night is left taken by a cancelled booking."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from fairline_events.context import CommandContext
from fairline_events.errors import DomainError
from fairline_events.service import Runtime
from fairline_events.settings import ServiceSettings
from fairline_events.shredding import new_key, seal
from hotels.domain.bookings import BOOKING, booking_stream
from hotels.domain.commands import (
    CancelBooking,
    MakeBooking,
    ModifyBooking,
    NewGuest,
    RegisterHotel,
    SetAllotment,
)
from hotels.domain.inventory import NIGHT, night_stream
from hotels.handlers import (
    cancel_booking,
    make_booking,
    modify_booking,
    register_hotel,
    set_allotment,
)
from hotels.service import definition

pytestmark = pytest.mark.infra

FAIR = date(datetime.now(UTC).year + 1, 9, 1)
DESK = CommandContext(actor="user:desk-1")


def night(n: int) -> date:
    return FAIR + timedelta(days=n - 1)


def booking(booking_id: str) -> MakeBooking:
    key, key_id = new_key(), f"key-{booking_id}"
    guest = NewGuest(key_id=key_id, key=key, name=seal(key, key_id, "name", "Wang Fang"))
    return MakeBooking(
        booking_id=booking_id,
        hotel_code="cncc-grand",
        room_type="standard",
        arrival=night(1),
        departure=night(3),
        guest_id=f"g-{booking_id}",
        new_guest=guest,
    )


async def test_a_change_raced_against_a_cancellation_gets_the_rules_answer(
    settings: ServiceSettings,
) -> None:
    runtime = Runtime(definition, settings)
    await runtime.prepare()
    try:
        store = runtime.store
        assert store is not None
        hotel = RegisterHotel(
            hotel_code="cncc-grand",
            name_zh="国家会议中心大酒店",
            name_en="CNCC Grand Hotel",
            room_types={"standard": 300},
        )
        await register_hotel(store, hotel, DESK)
        allot = SetAllotment(
            hotel_code="cncc-grand",
            room_type="standard",
            first_night=night(1),
            last_night=night(5),
            rooms=100,
            rate=800,
        )
        await set_allotment(store, allot, DESK)
        rounds = 15
        for n in range(rounds):
            booking_id = f"bk-{n}"
            await make_booking(store, booking(booking_id), DESK)
            change = ModifyBooking(booking_id=booking_id, arrival=night(2), departure=night(5))
            answers = await asyncio.gather(
                modify_booking(store, change, DESK),
                cancel_booking(store, CancelBooking(booking_id=booking_id), DESK),
                return_exceptions=True,
            )
            for answer in answers:
                if isinstance(answer, BaseException):
                    assert isinstance(answer, DomainError), repr(answer)
                    assert answer.code == "booking_not_active", answer.code
            assert not isinstance(answers[1], BaseException), "a cancellation always goes through"
            stream_id = booking_stream(booking_id)
            state, _ = await store.load(stream_id, BOOKING.evolve, BOOKING.initial(stream_id))
            assert state.status == "cancelled"
        for n in range(1, 6):
            stream_id = night_stream("cncc-grand", "standard", night(n))
            free, _ = await store.load(stream_id, NIGHT.evolve, NIGHT.initial(stream_id))
            assert free.booked == 0, f"night {n}: every cancelled booking gave its rooms back"
    finally:
        await runtime.stop()
