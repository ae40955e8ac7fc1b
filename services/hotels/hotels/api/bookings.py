"""Bookings for guests: make, modify, cancel, no-show; and erasing a guest's personal data."""

from __future__ import annotations

from datetime import date

from fairline_events.auth import Principal
from fairline_events.dependencies import Body, Store, new_id
from fairline_events.errors import DomainError, Forbidden, NotFound
from fairline_events.transact import Outcome
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, model_validator

from ..domain.blocks import BLOCK, block_stream
from ..domain.bookings import BOOKING, Booking, booking_stream
from ..domain.commands import (
    CancelBooking,
    EraseGuest,
    MakeBooking,
    ModifyBooking,
    RecordNoShow,
)
from ..domain.events import GuestRecorded
from ..domain.guests import guest_stream
from ..domain.values import Board, HotelCode, Identifier, RequestCode, RoomType
from ..handlers import (
    cancel_booking,
    erase_guest,
    guest_keys,
    make_booking,
    modify_booking,
    record_no_show,
)
from .common import (
    AsDesk,
    AsDeskOrPlanner,
    AsOps,
    DeskOrPlanner,
    GuestDetails,
    GuestView,
    current,
    opened,
    planner_of,
    seal_guest,
)

router = APIRouter(tags=["bookings"])


class BookingIn(Body):
    hotel_code: HotelCode
    block_id: Identifier | None = None
    room_type: RoomType
    arrival: date
    departure: date
    board: Board = "breakfast"
    requests: list[RequestCode] = Field(default_factory=list)
    guest: GuestDetails | None = None
    """A new guest's details; or give `guest_id` of a guest booked before."""
    guest_id: Identifier | None = None

    @model_validator(mode="after")
    def _one_guest(self) -> BookingIn:
        if (self.guest is None) == (self.guest_id is None):
            raise ValueError("give either the guest's details or the guest_id of a known guest")
        return self


class BookingChange(Body):
    room_type: RoomType | None = None
    arrival: date | None = None
    departure: date | None = None
    board: Board | None = None
    requests: list[RequestCode] | None = None


class BookingView(BaseModel):
    booking_id: str
    status: str
    hotel_code: str
    block_id: str | None
    room_type: str
    arrival: date
    departure: date
    nights: int
    board: str
    requests: list[str]
    nightly_rates: list[int]
    total: int
    currency: str = "CNY"
    guest: GuestView
    version: int


class ErasureView(BaseModel):
    guest_id: str
    erased: bool
    already_erased: bool


async def guest_view(store: Store, guest_id: str, *, full: bool) -> GuestView:
    """The guest's data opened with their key; the ID number only when `full` (desk, ops)."""
    envelopes = await store.read_stream(guest_stream(guest_id))
    recorded = next(
        (
            e
            for e in (env.event(store.registry) for env in envelopes)
            if isinstance(e, GuestRecorded)
        ),
        None,
    )
    if recorded is None:
        return GuestView(guest_id=guest_id, erased=False, name=None)
    keys = await guest_keys.keys(store.pool, [recorded.key_id])
    return GuestView(
        guest_id=guest_id,
        erased=recorded.key_id not in keys,
        name=opened(keys, recorded.name, "name"),
        phone=opened(keys, recorded.phone, "phone"),
        id_document=opened(keys, recorded.id_document, "id_document") if full else None,
    )


async def booking_view(store: Store, state: Booking, version: int, who: Principal) -> BookingView:
    """The booking with its guest; a planner sees no ID number."""
    planner = planner_of(who)
    return BookingView(
        booking_id=state.booking_id,
        status=state.status,
        hotel_code=state.hotel_code,
        block_id=state.block_id,
        room_type=state.room_type,
        arrival=state.arrival,
        departure=state.departure,
        nights=len(state.nights()),
        board=state.board,
        requests=list(state.requests),
        nightly_rates=list(state.nightly_rates),
        total=state.total,
        guest=await guest_view(store, state.guest_id, full=planner is None),
        version=version,
    )


async def _after(store: Store, outcome: Outcome, booking_id: str, who: Principal) -> BookingView:
    """The booking as the command left it (its decision checked who may see it)."""
    stream_id = booking_stream(booking_id)
    state = outcome.state(stream_id, Booking)
    return await booking_view(store, state, outcome.versions[stream_id], who)


@router.post("/bookings", status_code=201, summary="book a room for every night of a stay")
async def book(
    body: BookingIn,
    acting: AsDeskOrPlanner,
    response: Response,
) -> BookingView:
    booking_id = new_id("bk")
    command = MakeBooking(
        booking_id=booking_id,
        hotel_code=body.hotel_code,
        block_id=body.block_id,
        room_type=body.room_type,
        arrival=body.arrival,
        departure=body.departure,
        board=body.board,
        requests=body.requests,
        guest_id=body.guest_id or new_id("gst"),
        new_guest=seal_guest(body.guest) if body.guest is not None else None,
        planner=planner_of(acting.who),
    )
    outcome = await make_booking(acting.store, command, acting.context)
    response.headers["Location"] = f"/bookings/{booking_id}"
    return await _after(acting.store, outcome, booking_id, acting.who)


@router.get("/bookings/{booking_id}", summary="a booking, with its guest while not erased")
async def get_booking(booking_id: str, who: DeskOrPlanner, store: Store) -> BookingView:
    state, version = await current(store, BOOKING, booking_stream(booking_id))
    if state.status == "new":
        raise NotFound(f"booking {booking_id} not found", code="booking_not_found")
    planner = planner_of(who)
    if planner is not None:
        block, _ = await current(store, BLOCK, block_stream(state.block_id or ""))
        if block.planner != planner:
            raise Forbidden(
                f"booking {booking_id} is not in a block you plan", code="not_your_block"
            )
    return await booking_view(store, state, version, who)


@router.patch("/bookings/{booking_id}", summary="change dates, room type, board or requests")
async def modify(
    booking_id: str,
    body: BookingChange,
    acting: AsDeskOrPlanner,
) -> BookingView:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise DomainError("say what to change", code="nothing_to_change")
    command = ModifyBooking(booking_id=booking_id, planner=planner_of(acting.who), **changes)
    return await _after(
        acting.store,
        await modify_booking(acting.store, command, acting.context),
        booking_id,
        acting.who,
    )


@router.post("/bookings/{booking_id}/cancel", summary="cancel: every night goes back")
async def cancel(booking_id: str, acting: AsDeskOrPlanner) -> BookingView:
    command = CancelBooking(booking_id=booking_id, planner=planner_of(acting.who))
    return await _after(
        acting.store,
        await cancel_booking(acting.store, command, acting.context),
        booking_id,
        acting.who,
    )


@router.post(
    "/bookings/{booking_id}/no-show",
    summary="the guest never came: charge the first night, give the others back",
)
async def no_show(booking_id: str, acting: AsDesk) -> BookingView:
    command = RecordNoShow(booking_id=booking_id)
    return await _after(
        acting.store,
        await record_no_show(acting.store, command, acting.context),
        booking_id,
        acting.who,
    )


@router.post(
    "/guests/{guest_id}/erasure",
    summary="erase a guest's personal data everywhere (their key is destroyed)",
)
async def erase(guest_id: str, acting: AsOps) -> ErasureView:
    command = EraseGuest(guest_id=guest_id)
    outcome = await erase_guest(acting.store, command, acting.context.because("erasure request"))
    if outcome.events:  # keep the destroyed key's bytes from lingering in pages and WAL
        await guest_keys.purge(acting.store.pool)
    return ErasureView(guest_id=guest_id, erased=True, already_erased=not outcome.events)
