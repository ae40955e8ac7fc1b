"""What the sales desk, exhibitors, reviewers and the system ask. Validated on construction.

`by` on an exhibitor-facing command is the company user acting for the exhibitor; None means
staff (the sales desk) or the system acting on the exhibitor's behalf.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .values import (
    BasisPoints,
    BoothSpec,
    CancellationTier,
    Code,
    Contractor,
    Drawing,
    EditionCode,
    HallStructure,
    Identifier,
    Material,
    Name,
    Note,
    PositiveFen,
    Rate,
    Seconds,
    Surcharges,
    Text,
    VenueKind,
    ZoneKind,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    edition_code: EditionCode


# --- catalogue ----------------------------------------------------------------------------


class SalesTermsFields(Command):
    hold_ttl_seconds: Seconds = 72 * 3600
    max_concurrent_holds: Annotated[int, Field(ge=1, le=1000)] = 3
    claim_window_seconds: Seconds = 48 * 3600
    construction_deadline: date | None = None


class OpenEdition(SalesTermsFields):
    name_zh: Name
    name_en: Name
    opens_on: date
    closes_on: date


class ChangeSalesTerms(SalesTermsFields):
    pass


class AddVenue(Command):
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: VenueKind


class AddHall(Command):
    venue_code: Code
    hall_code: Code
    name_zh: Name
    name_en: Name
    structure: HallStructure


class CertifyHall(Command):
    hall_code: Code
    certificate_no: Name


class AddZone(Command):
    zone_code: Code
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: ZoneKind
    parent_code: Code | None = None


class DefineOnlinePackage(Command):
    tier: Code
    name_zh: Name
    name_en: Name
    features: tuple[Name, ...] = ()


CatalogueCommand = (
    OpenEdition
    | ChangeSalesTerms
    | AddVenue
    | AddHall
    | CertifyHall
    | AddZone
    | DefineOnlinePackage
)


# --- prices -------------------------------------------------------------------------------


class PublishPriceList(Command):
    note: Note
    rates: tuple[Rate, ...] = Field(min_length=1)
    surcharges: Surcharges = Surcharges()
    early_bird_deadline: AwareDatetime | None = None
    early_bird_discount_bp: Annotated[int, Field(ge=0, le=9_000)] = 0
    deposit_bp: BasisPoints = 3_000
    cancellation: tuple[CancellationTier, ...] = ()
    online_packages: dict[str, PositiveFen] = Field(default_factory=dict)


# --- a booth and its sale -----------------------------------------------------------------


class BoothCommand(Command):
    booth_code: Code


class AddBooth(BoothCommand):
    spec: BoothSpec


class HoldBooth(BoothCommand):
    exhibitor_id: Identifier
    by: Identifier | None = None


class ReleaseHold(BoothCommand):
    reason: Text
    by: Identifier | None = None


class ExpireHold(BoothCommand):
    pass


class ReserveBooth(BoothCommand):
    """Turn the exhibitor's hold into a contract at the held price."""

    contract_id: Identifier


class RecordPayment(BoothCommand):
    amount_fen: PositiveFen
    reference: Identifier


class ConfirmBooth(BoothCommand):
    pass


class CancelContract(BoothCommand):
    reason: Text


class MoveContract(BoothCommand):
    to_booth_code: Code
    reason: Text


class ClaimOffer(BoothCommand):
    by: Identifier | None = None


class DeclineOffer(BoothCommand):
    by: Identifier | None = None


class LapseOffer(BoothCommand):
    pass


# --- accounts and waitlists ---------------------------------------------------------------


class AdmitExhibitor(Command):
    exhibitor_id: Identifier
    applicant: Identifier
    name_zh: Name
    name_en: Name
    country_or_region: Annotated[str, Field(min_length=2, max_length=2)]
    participation_mode: Literal["offline", "online", "both"]


class WithdrawExhibitor(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    exhibitor_id: Identifier
    reason: Text


class JoinWaitlist(Command):
    zone_code: Code
    exhibitor_id: Identifier
    by: Identifier | None = None


class LeaveWaitlist(Command):
    zone_code: Code
    exhibitor_id: Identifier
    by: Identifier | None = None


# --- construction review and online packages ----------------------------------------------


class SubmitDesign(BoothCommand):
    exhibitor_id: Identifier
    contractor: Contractor
    drawings: tuple[Drawing, ...] = Field(min_length=1)
    materials: tuple[Material, ...] = Field(min_length=1)
    note: Note = ""
    by: Identifier | None = None


class ApproveDesign(BoothCommand):
    version: Annotated[int, Field(ge=1)]
    reviewer: Identifier
    comments: Note = ""


class ReturnDesign(BoothCommand):
    version: Annotated[int, Field(ge=1)]
    reviewer: Identifier
    comments: Text


class OrderOnlineBooth(Command):
    order_id: Identifier
    exhibitor_id: Identifier
    tier: Code
    by: Identifier | None = None


class RecordOnlinePayment(Command):
    order_id: Identifier
    amount_fen: PositiveFen
    reference: Identifier


class GrantSponsorDiscount(BaseModel):
    """The sponsorship service asks a booth discount for a package (its policy's command).

    Plain values: whatever the request holds, the rules answer it (a refusal names why)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    package_id: str
    benefit_no: int
    attempt: int
    edition_code: str
    exhibitor_id: str
    sponsor_name: str
    percent: int
