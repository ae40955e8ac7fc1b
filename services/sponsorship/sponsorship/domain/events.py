"""Every event of the sponsorship service: plain data, each naming the stream it belongs to.

Streams, and why they are cut this way (an invariant holds because a command locks every
stream whose rule it checks):
- `tier-<edition>:<tier>`: a tier's terms and the packages holding its places (quantity limit).
- `category-<edition>:<category>`: who holds an industry category in each tier of an edition
  (exclusivity, per tier or edition-wide, decided under this one lock).
- `package-<id>`: one sponsor's package: offer, contract, instalments, payments, benefits.
- `placement-<edition>:<placement>`: an ad placement's terms (channel, kind, shares, price).
- `slotday-<edition>:<placement>:<day>`: who runs on a placement on one day; a booking locks
  every day of its range, so two bookings of overlapping dates queue and the second sees the
  first.
- `booking-<id>`: one ad booking: hold, confirmation, release, and its creatives' versions.
"""

from __future__ import annotations

from datetime import date, datetime

from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from .values import BenefitKind, Channel, Exclusivity, PlacementKind

registry = EventRegistry()


class SponsorshipEvent(DomainEvent):
    def stream_id(self) -> str:
        raise NotImplementedError


class Benefit(BaseModel):
    """What a tier promises its sponsors: `quantity` of a kind (rooms, tickets, a discount's
    percent), with a line of detail for the people who deliver it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: BenefitKind
    quantity: int = 1
    detail: str = ""


class HotelStay(BaseModel):
    """Where a package's hotel rooms are wanted: asked of the hotels service as a block."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hotel_code: str
    room_type: str
    first_night: date
    last_night: date


class LaunchWish(BaseModel):
    """Where and what a package's launch slot is: asked of the forums service, which books a
    launch hall that day for the sponsor's company (an approved exhibitor there)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    title_zh: str
    title_en: str


class Instalment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    due_on: date
    amount_fen: int


# --- tiers ---------------------------------------------------------------------------------


class TierEvent(SponsorshipEvent):
    edition_code: str
    tier_code: str

    def stream_id(self) -> str:
        from .tier import tier_stream

        return tier_stream(self.edition_code, self.tier_code)


@registry.event("sponsorship.TierDefined", version=1)
class TierDefined(TierEvent):
    name: str
    quantity: int
    exclusivity: Exclusivity
    price_fen: int
    benefits: list[Benefit]


@registry.event("sponsorship.TierPlaceTaken", version=1)
class TierPlaceTaken(TierEvent):
    package_id: str


@registry.event("sponsorship.TierPlaceReleased", version=1)
class TierPlaceReleased(TierEvent):
    package_id: str


# --- industry categories ---------------------------------------------------------------------


class CategoryEvent(SponsorshipEvent):
    edition_code: str
    category: str

    def stream_id(self) -> str:
        from .category import category_stream

        return category_stream(self.edition_code, self.category)


@registry.event("sponsorship.CategoryClaimed", version=1)
class CategoryClaimed(CategoryEvent):
    tier_code: str
    exclusivity: Exclusivity
    package_id: str
    sponsor_id: str


@registry.event("sponsorship.CategoryReleased", version=1)
class CategoryReleased(CategoryEvent):
    package_id: str


# --- packages ------------------------------------------------------------------------------


class PackageEvent(SponsorshipEvent):
    package_id: str

    def stream_id(self) -> str:
        from .package import package_stream

        return package_stream(self.package_id)


@registry.event("sponsorship.PackageOffered", version=1)
class PackageOffered(PackageEvent):
    """An offer holds the tier's place and the category until it expires or is signed."""

    edition_code: str
    tier_code: str
    sponsor_id: str
    sponsor_name: str
    category: str
    price_fen: int
    benefits: list[Benefit]
    expires_at: datetime
    by: str


@registry.event("sponsorship.ContractSigned", version=1)
class ContractSigned(PackageEvent):
    contract_no: str
    instalments: list[Instalment]
    cancellation_fee_percent: int


@registry.event("sponsorship.PaymentRecorded", version=1)
class PaymentRecorded(PackageEvent):
    payment_id: str
    amount_fen: int
    received_at: datetime


@registry.event("sponsorship.OfferExpired", version=1)
class OfferExpired(PackageEvent):
    pass


@registry.event("sponsorship.PackageCancelled", version=1)
class PackageCancelled(PackageEvent):
    """`fee_fen` is kept by the fair; `refund_fen` is what was paid beyond it."""

    reason: str
    fee_fen: int
    refund_fen: int


@registry.event("sponsorship.BenefitRequested", version=1)
class BenefitRequested(PackageEvent):
    """A deliverable asked of whoever delivers it (a team, or another service)."""

    benefit_no: int
    kind: BenefitKind
    quantity: int
    detail: str
    sponsor_name: str = ""
    stay: HotelStay | None = None
    """For hotel rooms: the hotels service makes a block of `quantity` rooms for these nights."""
    edition_code: str = ""
    exhibitor_id: str | None = None
    """For a launch slot or a booth discount: the sponsor's company as the exhibitors service
    knows it (its application id), which the forums and booths services admit."""
    launch: LaunchWish | None = None
    """For a launch slot: the day and the title; forums finds the hall and the hour."""
    attempt: int = 1
    """The how-many-th request of this benefit (a failed one may be asked again): the other
    service answers each attempt once, and an answer to an older attempt changes nothing."""


@registry.event("sponsorship.BenefitDelivered", version=1)
class BenefitDelivered(PackageEvent):
    benefit_no: int
    proof: str


@registry.event("sponsorship.BenefitFailed", version=1)
class BenefitFailed(PackageEvent):
    benefit_no: int
    reason: str


@registry.event("sponsorship.BenefitProofRevised", version=1)
class BenefitProofRevised(PackageEvent):
    """What delivered the benefit moved at the delivering service (forums moved the launch):
    still delivered, with that service's new proof."""

    benefit_no: int
    attempt: int
    """The request whose delivery moved."""
    service: str
    proof: str


@registry.event("sponsorship.BenefitWithdrawn", version=1)
class BenefitWithdrawn(PackageEvent):
    """A delivered benefit the delivering service took back (forums cancelled the launch,
    booths cancelled the discounted contracts): no longer delivered, and asked again as a
    failed one is. Who took it back, when and why are the other service's own."""

    benefit_no: int
    attempt: int
    """The request whose delivery is withdrawn."""
    service: str
    withdrawn_by: str
    """The actor at that service (a user id or a system process)."""
    withdrawn_at: datetime
    reason: str


# --- ad placements and their days -----------------------------------------------------------


class PlacementEvent(SponsorshipEvent):
    edition_code: str
    placement_code: str

    def stream_id(self) -> str:
        from .placement import placement_stream

        return placement_stream(self.edition_code, self.placement_code)


@registry.event("sponsorship.PlacementDefined", version=1)
class PlacementDefined(PlacementEvent):
    channel: Channel
    name: str
    kind: PlacementKind
    shares: int
    price_per_day_fen: int


class SlotDayEvent(SponsorshipEvent):
    edition_code: str
    placement_code: str
    day: date
    booking_id: str

    def stream_id(self) -> str:
        from .slot_day import slot_day_stream

        return slot_day_stream(self.edition_code, self.placement_code, self.day)


@registry.event("sponsorship.DayHeld", version=1)
class DayHeld(SlotDayEvent):
    expires_at: datetime


@registry.event("sponsorship.DayBooked", version=1)
class DayBooked(SlotDayEvent):
    pass


@registry.event("sponsorship.DayReleased", version=1)
class DayReleased(SlotDayEvent):
    pass


# --- bookings and creatives -----------------------------------------------------------------


class BookingEvent(SponsorshipEvent):
    booking_id: str

    def stream_id(self) -> str:
        from .booking import booking_stream

        return booking_stream(self.booking_id)


@registry.event("sponsorship.SlotHeld", version=1)
class SlotHeld(BookingEvent):
    edition_code: str
    placement_code: str
    channel: Channel
    sponsor_id: str
    first_day: date
    last_day: date
    price_fen: int
    expires_at: datetime
    by: str


@registry.event("sponsorship.BookingConfirmed", version=1)
class BookingConfirmed(BookingEvent):
    pass


@registry.event("sponsorship.BookingPaid", version=1)
class BookingPaid(BookingEvent):
    payment_id: str
    amount_fen: int


@registry.event("sponsorship.BookingReleased", version=1)
class BookingReleased(BookingEvent):
    """A hold that lapsed or a booking cancelled: its days are free again."""

    why: str


@registry.event("sponsorship.CreativeSubmitted", version=1)
class CreativeSubmitted(BookingEvent):
    version: int
    image_url: str
    link_url: str
    alt_text: str


@registry.event("sponsorship.CreativeApproved", version=1)
class CreativeApproved(BookingEvent):
    version: int
    by: str


@registry.event("sponsorship.CreativeReturned", version=1)
class CreativeReturned(BookingEvent):
    version: int
    reason: str
    by: str
