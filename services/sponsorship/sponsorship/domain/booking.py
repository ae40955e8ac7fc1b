"""An ad booking: a placement held for a date range (until the hold lapses), confirmed,
paid, or released; and its creatives, versioned, each approved or returned with a reason.

Only an approved version is served. A new version submitted while an approved one runs does
not stop it: the approved one keeps running until the new one is approved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, Forbidden, NotFound
from fairline_events.registry import DomainEvent

from . import sale
from . import slot_day as slot_days
from .commands import HoldSlot, PayBooking, ReleaseBooking, ReviewCreative, SubmitCreative
from .events import (
    BookingConfirmed,
    BookingPaid,
    BookingReleased,
    CreativeApproved,
    CreativeReturned,
    CreativeSubmitted,
    SlotHeld,
)
from .placement import Placement
from .slot_day import SlotDay, slot_day_stream
from .values import Channel, days_of

Status = Literal["none", "held", "confirmed", "released"]
Review = Literal["submitted", "approved", "returned"]


@dataclass(frozen=True)
class Creative:
    version: int
    image_url: str
    link_url: str
    alt_text: str
    review: Review = "submitted"
    reason: str = ""


@dataclass(frozen=True)
class Booking:
    booking_id: str
    status: Status = "none"
    edition_code: str = ""
    placement_code: str = ""
    channel: Channel = "website"
    sponsor_id: str = ""
    first_day: date = date.min
    last_day: date = date.min
    price_fen: int = 0
    paid_fen: int = 0
    payments: frozenset[str] = frozenset()
    expires_at: datetime | None = None
    creatives: tuple[Creative, ...] = ()

    def day_streams(self) -> list[str]:
        return day_streams(self.edition_code, self.placement_code, self.first_day, self.last_day)


def booking_stream(booking_id: str) -> str:
    return f"booking-{booking_id}"


def initial(stream_id: str) -> Booking:
    return Booking(stream_id.removeprefix("booking-"))


def day_streams(edition_code: str, placement_code: str, first: date, last: date) -> list[str]:
    return [slot_day_stream(edition_code, placement_code, d) for d in days_of(first, last)]


def existing(booking: Booking) -> Booking:
    if booking.status == "none":
        raise NotFound(f"no booking {booking.booking_id}", code="unknown_booking")
    return booking


def hold(
    command: HoldSlot,
    *,
    booking: Booking,
    placement: Placement,
    days: Sequence[SlotDay],
    now: datetime,
) -> list[DomainEvent]:
    if booking.status != "none":
        same = (booking.placement_code, booking.first_day, booking.last_day) == (
            command.placement_code, command.first_day, command.last_day)  # fmt: skip
        if same and booking.sponsor_id == command.sponsor_id:
            return []  # the same request again
        raise Conflict(f"booking {booking.booking_id} exists", code="booking_exists")
    if placement.edition_code != command.edition_code or not placement.defined:
        raise NotFound(
            f"the edition has no ad placement {command.placement_code}",
            code="unknown_placement",
            placement=command.placement_code,
        )
    until = now + timedelta(minutes=command.hold_minutes)
    taken = slot_days.hold(
        days=days, placement=placement, booking_id=command.booking_id, until=until, now=now
    )
    price = placement.price_per_day_fen * len(days)
    return [
        SlotHeld(booking_id=command.booking_id, edition_code=command.edition_code,
                 placement_code=command.placement_code, channel=placement.channel,
                 sponsor_id=command.sponsor_id, first_day=command.first_day,
                 last_day=command.last_day, price_fen=price, expires_at=until, by=command.by),
        *taken,
    ]  # fmt: skip


def confirm(*, booking: Booking, days: Sequence[SlotDay], now: datetime) -> list[DomainEvent]:
    existing(booking)
    if booking.status == "confirmed":
        return []
    if booking.status == "released":
        raise Conflict("the booking was released", code="booking_released")
    if sale.past(booking.expires_at, now):
        raise Conflict("the hold has lapsed; hold the dates again", code="hold_lapsed")
    return [
        BookingConfirmed(booking_id=booking.booking_id),
        *slot_days.book(days=days, booking_id=booking.booking_id),
    ]


def pay(command: PayBooking, *, booking: Booking) -> list[DomainEvent]:
    existing(booking)
    if command.payment_id in booking.payments:
        return []
    if booking.status != "confirmed":
        raise Conflict("payments are taken on a confirmed booking", code="not_confirmed")
    sale.within_price(amount_fen=command.amount_fen, price_fen=booking.price_fen,
                      paid_fen=booking.paid_fen)  # fmt: skip
    return [BookingPaid(booking_id=booking.booking_id, payment_id=command.payment_id,
                        amount_fen=command.amount_fen)]  # fmt: skip


def release(
    command: ReleaseBooking, *, booking: Booking, days: Sequence[SlotDay]
) -> list[DomainEvent]:
    existing(booking)
    if booking.status == "released":
        return []
    return [
        BookingReleased(booking_id=booking.booking_id, why=command.why),
        *slot_days.release(days=days, booking_id=booking.booking_id),
    ]


def lapse(*, booking: Booking, days: Sequence[SlotDay], now: datetime) -> list[DomainEvent]:
    """The expiry clock: a hold past its end is released; anything else is left alone."""
    if booking.status != "held" or not sale.past(booking.expires_at, now):
        return []
    return [
        BookingReleased(booking_id=booking.booking_id, why="hold lapsed"),
        *slot_days.release(days=days, booking_id=booking.booking_id),
    ]


def submit(command: SubmitCreative, *, booking: Booking) -> list[DomainEvent]:
    existing(booking)
    if command.by_sponsor is not None and command.by_sponsor != booking.sponsor_id:
        raise Forbidden("a sponsor submits creatives for its own bookings", code="not_yours")
    if booking.status == "released":
        raise Conflict("the booking was released", code="booking_released")
    return [CreativeSubmitted(booking_id=booking.booking_id, version=len(booking.creatives) + 1,
                              image_url=command.image_url, link_url=command.link_url,
                              alt_text=command.alt_text)]  # fmt: skip


def review(command: ReviewCreative, *, booking: Booking) -> list[DomainEvent]:
    existing(booking)
    if not 1 <= command.version <= len(booking.creatives):
        raise NotFound(f"no creative version {command.version}", code="unknown_creative")
    creative = booking.creatives[command.version - 1]
    if creative.review != "submitted":
        if (creative.review == "approved") == (command.verdict == "approve"):
            return []  # the same verdict again
        raise Conflict(f"version {command.version} was already {creative.review}",
                       code="already_reviewed")  # fmt: skip
    if command.verdict == "approve":
        return [CreativeApproved(booking_id=booking.booking_id, version=command.version,
                                 by=command.by)]  # fmt: skip
    return [CreativeReturned(booking_id=booking.booking_id, version=command.version,
                             reason=command.reason or "", by=command.by)]  # fmt: skip


def serving(booking: Booking) -> Creative | None:
    """The version served: the latest approved one."""
    approved = [c for c in booking.creatives if c.review == "approved"]
    return approved[-1] if approved else None


def _reviewed(booking: Booking, version: int, review: Review, reason: str = "") -> Booking:
    creatives = list(booking.creatives)
    creatives[version - 1] = replace(creatives[version - 1], review=review, reason=reason)
    return replace(booking, creatives=tuple(creatives))


def evolve(booking: Booking, event: DomainEvent) -> Booking:
    match event:
        case SlotHeld():
            return replace(booking, status="held", edition_code=event.edition_code,
                           placement_code=event.placement_code, channel=event.channel,
                           sponsor_id=event.sponsor_id, first_day=event.first_day,
                           last_day=event.last_day, price_fen=event.price_fen,
                           expires_at=event.expires_at)  # fmt: skip
        case BookingConfirmed():
            return replace(booking, status="confirmed", expires_at=None)
        case BookingPaid():
            return replace(booking, paid_fen=booking.paid_fen + event.amount_fen,
                           payments=booking.payments | {event.payment_id})  # fmt: skip
        case BookingReleased():
            return replace(booking, status="released")
        case CreativeSubmitted():
            creative = Creative(event.version, event.image_url, event.link_url, event.alt_text)
            return replace(booking, creatives=(*booking.creatives, creative))
        case CreativeApproved():
            return _reviewed(booking, event.version, "approved")
        case CreativeReturned():
            return _reviewed(booking, event.version, "returned", event.reason)
        case _:
            return booking


BOOKING: Fold[Booking] = Fold(initial, evolve)
