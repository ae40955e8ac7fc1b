"""Bookings for guests: make, modify, cancel, no-show; and erasing a guest's personal data."""

from __future__ import annotations

import uuid
from datetime import date

from fairline_events.auth import Principal
from fairline_events.errors import DomainError, Forbidden, NotFound
from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, model_validator

from ..domain.blocks import Block
from ..domain.bookings import Booking
from ..domain.commands import (
    CancelBooking,
    EraseGuest,
    MakeBooking,
    ModifyBooking,
    RecordNoShow,
)
from ..domain.events import GuestRecorded, block_stream, booking_stream, guest_stream
from ..domain.values import Board, HotelCode, Identifier, RequestCode, RoomType
from ..handlers import (
    cancel_booking,
    clock,
    erase_guest,
    guest_keys,
    load,
    make_booking,
    modify_booking,
    record_no_show,
)
from .common import (
    Body,
    Correlation,
    Desk,
    DeskOrPlanner,
    GuestDetails,
    GuestView,
    Ops,
    Store,
    build,
    context,
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


async def booking_view(store: Store, booking_id: str, who: Principal) -> BookingView:
    state, version = await load(store, booking_stream(booking_id))
    assert isinstance(state, Booking)
    if state.status == "new":
        raise NotFound(f"booking {booking_id} not found", code="booking_not_found")
    planner = planner_of(who)
    if planner is not None:
        block, _ = await load(store, block_stream(state.block_id or ""))
        if not isinstance(block, Block) or block.planner != planner:
            raise Forbidden(
                f"booking {booking_id} is not in a block you plan", code="not_your_block"
            )
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


@router.post("/bookings", status_code=201, summary="book a room for every night of a stay")
async def book(
    body: BookingIn,
    who: DeskOrPlanner,
    store: Store,
    response: Response,
    correlation: Correlation = None,
) -> BookingView:
    booking_id = f"bk-{uuid.uuid4().hex[:12]}"
    new_guest, key = seal_guest(body.guest) if body.guest is not None else (None, None)
    command = build(
        MakeBooking,
        booking_id=booking_id,
        hotel_code=body.hotel_code,
        block_id=body.block_id,
        room_type=body.room_type,
        arrival=body.arrival,
        departure=body.departure,
        board=body.board,
        requests=body.requests,
        guest_id=body.guest_id or f"gst-{uuid.uuid4().hex[:12]}",
        new_guest=new_guest,
        planner=planner_of(who),
    )
    await make_booking(store, command, key, clock(), context(who, correlation))
    response.headers["Location"] = f"/bookings/{booking_id}"
    return await booking_view(store, booking_id, who)


@router.get("/bookings/{booking_id}", summary="a booking, with its guest while not erased")
async def get_booking(booking_id: str, who: DeskOrPlanner, store: Store) -> BookingView:
    return await booking_view(store, booking_id, who)


@router.patch("/bookings/{booking_id}", summary="change dates, room type, board or requests")
async def modify(
    booking_id: str,
    body: BookingChange,
    who: DeskOrPlanner,
    store: Store,
    correlation: Correlation = None,
) -> BookingView:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise DomainError("say what to change", code="nothing_to_change")
    command = build(ModifyBooking, booking_id=booking_id, planner=planner_of(who), **changes)
    await modify_booking(store, command, clock(), context(who, correlation))
    return await booking_view(store, booking_id, who)


@router.post("/bookings/{booking_id}/cancel", summary="cancel: every night goes back")
async def cancel(
    booking_id: str, who: DeskOrPlanner, store: Store, correlation: Correlation = None
) -> BookingView:
    command = CancelBooking(booking_id=booking_id, planner=planner_of(who))
    await cancel_booking(store, command, clock(), context(who, correlation))
    return await booking_view(store, booking_id, who)


@router.post(
    "/bookings/{booking_id}/no-show",
    summary="the guest never came: charge the first night, give the others back",
)
async def no_show(
    booking_id: str, who: Desk, store: Store, correlation: Correlation = None
) -> BookingView:
    command = RecordNoShow(booking_id=booking_id)
    await record_no_show(store, command, clock(), context(who, correlation))
    return await booking_view(store, booking_id, who)


@router.post(
    "/guests/{guest_id}/erasure",
    summary="erase a guest's personal data everywhere (their key is destroyed)",
)
async def erase(
    guest_id: str, who: Ops, store: Store, correlation: Correlation = None
) -> ErasureView:
    events = await erase_guest(
        store, EraseGuest(guest_id=guest_id), context(who, correlation, "erasure request")
    )
    if events:  # keep the destroyed key's bytes from lingering in pages and WAL
        await guest_keys.purge(store.pool)
    return ErasureView(guest_id=guest_id, erased=True, already_erased=not events)
