"""Ad placements sold as dated inventory: placements per channel, holds over a date range
(exclusive: one sponsor a day; shared: up to the share count), confirmation, payment,
release; and the creatives each booking runs, versioned and reviewed."""

from __future__ import annotations

from datetime import date

from fairline_events.dependencies import Body, new_id
from fairline_events.transact import Outcome
from fastapi import APIRouter, Path
from pydantic import Field, model_validator

from ..domain.booking import Booking, booking_stream
from ..domain.commands import (
    ConfirmBooking,
    DefinePlacement,
    HoldSlot,
    PayBooking,
    ReleaseBooking,
    ReviewCreative,
    SubmitCreative,
)
from ..domain.values import (
    PRINTABLE,
    Channel,
    EditionCode,
    Fen,
    HoldMinutes,
    Identifier,
    Name,
    PlacementCode,
    PlacementKind,
    Reason,
    Shares,
    Url,
    Verdict,
)
from ..handlers import (
    confirm_booking,
    define_placement,
    hold_slot,
    pay_booking,
    release_booking,
    review_creative,
    submit_creative,
)
from .common import (
    TEAM,
    AsTeam,
    AsTeamOrSponsor,
    BookingView,
    PaymentRequest,
    ReasonRequest,
    booking_view,
)

router = APIRouter(tags=["advertising"])

BookingId = Path(description="the booking's id", max_length=64, pattern=PRINTABLE)


class PlacementRequest(Body):
    channel: Channel
    name: Name
    kind: PlacementKind = "exclusive"
    shares: Shares = 1
    price_per_day_fen: Fen

    @model_validator(mode="after")
    def _exclusive_runs_alone(self) -> PlacementRequest:
        if self.kind == "exclusive" and self.shares != 1:
            raise ValueError("an exclusive placement has exactly one share")
        return self


class PlacementView(PlacementRequest):
    edition_code: str
    placement_code: str


@router.put(
    "/editions/{edition_code}/placements/{placement_code}",
    summary="Set an ad placement's terms: channel, exclusive or shared, price per day",
)
async def set_placement(
    edition_code: EditionCode, placement_code: PlacementCode, body: PlacementRequest,
    acting: AsTeam,
) -> PlacementView:  # fmt: skip
    command = DefinePlacement(
        edition_code=edition_code, placement_code=placement_code, **body.model_dump()
    )
    await define_placement(acting.store, command, acting.context)
    return PlacementView(
        edition_code=edition_code, placement_code=placement_code, **body.model_dump()
    )


class HoldRequest(Body):
    placement_code: PlacementCode
    sponsor_id: Identifier
    first_day: date
    last_day: date
    hold_minutes: HoldMinutes = 48 * 60
    booking_id: Identifier | None = None

    @model_validator(mode="after")
    def _forward(self) -> HoldRequest:
        if self.last_day < self.first_day:
            raise ValueError("last_day comes before first_day")
        return self


def _answer(booking_id: str, outcome: Outcome) -> BookingView:
    return booking_view(outcome.state(booking_stream(booking_id), Booking))


@router.post(
    "/editions/{edition_code}/bookings",
    status_code=201,
    summary="Hold a placement for a date range (409 placement_taken naming the first full day)",
)
async def hold(edition_code: EditionCode, body: HoldRequest, acting: AsTeam) -> BookingView:
    booking_id = body.booking_id or new_id("ad")
    command = HoldSlot(
        booking_id=booking_id, edition_code=edition_code, placement_code=body.placement_code,
        sponsor_id=body.sponsor_id, first_day=body.first_day, last_day=body.last_day,
        hold_minutes=body.hold_minutes, by=acting.who.subject,
    )  # fmt: skip
    return _answer(booking_id, await hold_slot(acting.store, command, acting.context))


@router.post("/bookings/{booking_id}/confirm", summary="Confirm a held booking")
async def confirm(acting: AsTeam, booking_id: str = BookingId) -> BookingView:
    command = ConfirmBooking(booking_id=booking_id)
    return _answer(booking_id, await confirm_booking(acting.store, command, acting.context))


@router.post("/bookings/{booking_id}/payments", summary="Record a payment (once per id)")
async def pay(
    body: PaymentRequest, acting: AsTeam, booking_id: str = BookingId,
) -> BookingView:  # fmt: skip
    command = PayBooking(booking_id=booking_id, **body.model_dump())
    return _answer(booking_id, await pay_booking(acting.store, command, acting.context))


@router.post("/bookings/{booking_id}/release", summary="Release a hold or cancel a booking")
async def release(
    body: ReasonRequest, acting: AsTeam, booking_id: str = BookingId,
) -> BookingView:  # fmt: skip
    command = ReleaseBooking(booking_id=booking_id, why=body.reason)
    return _answer(
        booking_id,
        await release_booking(acting.store, command, acting.context.because(body.reason)),
    )


class CreativeRequest(Body):
    image_url: Url
    link_url: Url
    alt_text: Name


@router.post(
    "/bookings/{booking_id}/creatives",
    status_code=201,
    summary="Submit a creative: a new version, served once approved",
)
async def submit(
    body: CreativeRequest, acting: AsTeamOrSponsor, booking_id: str = BookingId,
) -> BookingView:  # fmt: skip
    sponsor = None if acting.who.has_any((TEAM,)) else acting.who.subject
    command = SubmitCreative(booking_id=booking_id, by_sponsor=sponsor, **body.model_dump())
    return _answer(booking_id, await submit_creative(acting.store, command, acting.context))


class ReviewRequest(Body):
    verdict: Verdict
    reason: Reason | None = Field(default=None, description="required to return a creative")


@router.post(
    "/bookings/{booking_id}/creatives/{version}/review",
    summary="Approve a creative version, or return it with a reason",
)
async def review(
    body: ReviewRequest, acting: AsTeam,
    booking_id: str = BookingId, version: int = Path(ge=1, le=10_000),
) -> BookingView:  # fmt: skip
    command = ReviewCreative(
        booking_id=booking_id, version=version, verdict=body.verdict, reason=body.reason,
        by=acting.who.subject,
    )  # fmt: skip
    return _answer(booking_id, await review_creative(acting.store, command, acting.context))
