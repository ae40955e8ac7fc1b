"""What the commercial team, sponsors, the clock and other services ask of the desk."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .events import Benefit, Instalment
from .values import (
    MAX_DAYS,
    Category,
    Channel,
    EditionCode,
    Exclusivity,
    Fen,
    HoldMinutes,
    Identifier,
    Name,
    OfferDays,
    Percent,
    PlacementCode,
    PlacementKind,
    Quantity,
    Reason,
    Shares,
    TierCode,
    Url,
    Verdict,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DefineTier(Command):
    edition_code: EditionCode
    tier_code: TierCode
    name: Name
    quantity: Quantity
    exclusivity: Exclusivity = "tier"
    price_fen: Fen
    benefits: list[Benefit] = Field(default_factory=list, max_length=30)


class OfferPackage(Command):
    package_id: Identifier
    edition_code: EditionCode
    tier_code: TierCode
    sponsor_id: Identifier
    sponsor_name: Name
    category: Category
    price_fen: Fen | None = None
    """None: the tier's list price."""
    valid_days: OfferDays = 14
    by: str


class SignContract(Command):
    package_id: Identifier
    contract_no: Identifier
    instalments: list[Instalment] = Field(min_length=1, max_length=24)
    cancellation_fee_percent: Percent = 30


class RecordPayment(Command):
    package_id: Identifier
    payment_id: Identifier
    amount_fen: Fen


class CancelPackage(Command):
    package_id: Identifier
    reason: Reason


class ExpireOffer(Command):
    package_id: Identifier


class Stay(Command):
    hotel_code: Category
    room_type: Category
    first_night: date
    last_night: date

    @model_validator(mode="after")
    def _forward(self) -> Stay:
        if self.last_night < self.first_night:
            raise ValueError("last_night comes before first_night")
        if (self.last_night - self.first_night).days > 30:
            raise ValueError("a sponsor's stay covers at most 31 nights")
        return self


class Launch(Command):
    day: date
    title_zh: Name
    title_en: Name


class RequestBenefit(Command):
    package_id: Identifier
    benefit_no: int = Field(ge=1, le=100)
    stay: Stay | None = None
    """Hotel rooms only: the hotel, room type and nights asked of the hotels service."""
    exhibitor_id: Identifier | None = None
    """A launch slot or a booth discount: the sponsor's exhibitor application, by which the
    forums and booths services know the company."""
    launch: Launch | None = None
    """A launch slot only: the day and the title asked of the forums service."""


class DeliverBenefit(Command):
    package_id: Identifier
    benefit_no: int = Field(ge=1, le=100)
    proof: Reason
    confirmed_by: str | None = None
    """The service whose event confirms it (None: the team, by hand)."""
    attempt: int | None = None
    """The request the confirmation answers (None: whatever stands now)."""


class FailBenefit(Command):
    package_id: Identifier
    benefit_no: int = Field(ge=1, le=100)
    reason: Reason
    attempt: int | None = None
    """The request the refusal answers (None: the team gives up on what stands now)."""


class WithdrawBenefit(Command):
    """The delivering service took back what delivered the benefit (a policy's command)."""

    package_id: Identifier
    benefit_no: int = Field(ge=1, le=100)
    attempt: int = Field(ge=1)
    service: str
    withdrawn_by: str
    withdrawn_at: datetime
    reason: Reason


class ReviseProof(Command):
    """The delivering service moved what delivered the benefit (forums moved the launch to
    another time or hall): the checklist's proof follows it (a policy's command)."""

    package_id: Identifier
    benefit_no: int = Field(ge=1, le=100)
    attempt: int = Field(ge=1)
    service: str
    proof: Reason


class DefinePlacement(Command):
    edition_code: EditionCode
    placement_code: PlacementCode
    channel: Channel
    name: Name
    kind: PlacementKind = "exclusive"
    shares: Shares = 1
    price_per_day_fen: Fen

    @model_validator(mode="after")
    def _exclusive_runs_alone(self) -> DefinePlacement:
        if self.kind == "exclusive" and self.shares != 1:
            raise ValueError("an exclusive placement has exactly one share")
        return self


class HoldSlot(Command):
    booking_id: Identifier
    edition_code: EditionCode
    placement_code: PlacementCode
    sponsor_id: Identifier
    first_day: date
    last_day: date
    hold_minutes: HoldMinutes = 48 * 60
    by: str

    @model_validator(mode="after")
    def _a_range_forward(self) -> HoldSlot:
        if self.last_day < self.first_day:
            raise ValueError("last_day comes before first_day")
        if (self.last_day - self.first_day).days + 1 > MAX_DAYS:
            raise ValueError(f"one booking covers at most {MAX_DAYS} days")
        return self


class ConfirmBooking(Command):
    booking_id: Identifier


class LapseHold(Command):
    """The expiry clock's: release the booking's days if its hold has ended."""

    booking_id: Identifier


class PayBooking(Command):
    booking_id: Identifier
    payment_id: Identifier
    amount_fen: Fen


class ReleaseBooking(Command):
    booking_id: Identifier
    why: Reason


class SubmitCreative(Command):
    booking_id: Identifier
    image_url: Url
    link_url: Url
    alt_text: Name
    by_sponsor: str | None = None
    """A sponsor's own submission (None: the team's): only for the sponsor's own booking."""


class ReviewCreative(Command):
    booking_id: Identifier
    version: int = Field(ge=1, le=10_000)
    verdict: Verdict
    reason: Reason | None = None
    by: str

    @model_validator(mode="after")
    def _a_return_says_why(self) -> ReviewCreative:
        if self.verdict == "return" and not self.reason:
            raise ValueError("a returned creative says why (reason)")
        return self
