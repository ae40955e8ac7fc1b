"""What happened in booth sales, as registered domain events.

Every event knows the stream it belongs to (`stream_id()`): a command that touches a booth
and the exhibitor's account returns one list of events, and the handler appends each to its
own stream in one transaction.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .values import (
    BasisPoints,
    BoothSpec,
    CancellationTier,
    Code,
    Contractor,
    ContractTerms,
    Drawing,
    EditionCode,
    Fen,
    HallStructure,
    Identifier,
    Material,
    Name,
    Note,
    PositiveFen,
    PriceAdjustment,
    Quote,
    Rate,
    Seconds,
    Surcharges,
    Text,
    VenueKind,
    ZoneKind,
)

registry = EventRegistry()

Version = Annotated[int, Field(ge=1)]


class BoothsEvent(DomainEvent):
    """Base of this service's events: each names its stream.

    The naming itself lives with each aggregate (`booth.booth_stream`, ...), which imports
    these events; so each `stream_id` imports its aggregate's naming when called.
    """

    def stream_id(self) -> str:
        raise NotImplementedError


# --- the edition's catalogue: venues, halls, zones, online packages ------------------------


class EditionEvent(BoothsEvent):
    edition_code: EditionCode

    def stream_id(self) -> str:
        from .catalogue import edition_stream

        return edition_stream(self.edition_code)


class SalesTerms(EditionEvent):
    """Base of the events that set the edition's sales terms."""

    hold_ttl_seconds: Seconds = 72 * 3600
    max_concurrent_holds: Annotated[int, Field(ge=1, le=1000)] = 3
    claim_window_seconds: Seconds = 48 * 3600
    construction_deadline: date | None = None


@registry.event("booths.EditionOpened", version=1)
class EditionOpened(SalesTerms):
    """Booth sales open for an edition (届): its dates and its sales terms."""

    name_zh: Name
    name_en: Name
    opens_on: date
    closes_on: date


@registry.event("booths.SalesTermsChanged", version=1)
class SalesTermsChanged(SalesTerms):
    """New hold time, hold cap, claim window or construction deadline, for later holds."""


@registry.event("booths.VenueAdded", version=1)
class VenueAdded(EditionEvent):
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: VenueKind


@registry.event("booths.HallAdded", version=1)
class HallAdded(EditionEvent):
    """A hall; a temporary one (the park's steel and membrane halls) sells once certified."""

    venue_code: Code
    hall_code: Code
    name_zh: Name
    name_en: Name
    structure: HallStructure
    certification_required: bool


@registry.event("booths.HallCertified", version=1)
class HallCertified(EditionEvent):
    hall_code: Code
    certificate_no: Name


@registry.event("booths.ZoneAdded", version=1)
class ZoneAdded(EditionEvent):
    """An exhibition, themed exhibition, the Digital Services Zone, a festival zone…"""

    zone_code: Code
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: ZoneKind
    parent_code: Code | None = None


@registry.event("booths.OnlinePackageDefined", version=1)
class OnlinePackageDefined(EditionEvent):
    """An online booth package (tier A, B, C…): unbounded, sold as often as ordered."""

    tier: Code
    name_zh: Name
    name_en: Name
    features: tuple[Name, ...] = ()


# --- prices -------------------------------------------------------------------------------


@registry.event("booths.PriceListPublished", version=1)
class PriceListPublished(BoothsEvent):
    """A version of the edition's price rules; quotes name the version that priced them."""

    edition_code: EditionCode
    version: Version
    note: Note
    """Provenance: the decision or document these prices come from."""
    rates: tuple[Rate, ...]
    surcharges: Surcharges
    early_bird_deadline: AwareDatetime | None = None
    early_bird_discount_bp: BasisPoints = 0
    deposit_bp: BasisPoints
    cancellation: tuple[CancellationTier, ...]
    online_packages: dict[str, PositiveFen] = Field(default_factory=dict)

    def stream_id(self) -> str:
        from .pricing import prices_stream

        return prices_stream(self.edition_code)


# --- one booth: inventory and its sale ----------------------------------------------------


class BoothEvent(BoothsEvent):
    edition_code: EditionCode
    booth_code: Code

    def stream_id(self) -> str:
        from .booth import booth_stream

        return booth_stream(self.edition_code, self.booth_code)


@registry.event("booths.BoothAdded", version=1)
class BoothAdded(BoothEvent):
    spec: BoothSpec


@registry.event("booths.BoothHeld", version=1)
class BoothHeld(BoothEvent):
    """Held for an exhibitor at a quoted price until `expires_at` (临时保留)."""

    exhibitor_id: Identifier
    expires_at: AwareDatetime
    quote: Quote


@registry.event("booths.HoldReleased", version=1)
class HoldReleased(BoothEvent):
    exhibitor_id: Identifier
    reason: Text


@registry.event("booths.HoldExpired", version=1)
class HoldExpired(BoothEvent):
    exhibitor_id: Identifier
    expired_at: AwareDatetime


@registry.event("booths.BoothReserved", version=1)
class BoothReserved(BoothEvent):
    """Reserved under a contract at the held price (签约)."""

    terms: ContractTerms


@registry.event("booths.PaymentReceived", version=1)
class PaymentReceived(BoothEvent):
    contract_id: Identifier
    amount_fen: PositiveFen
    reference: Identifier
    paid_total_fen: Fen


@registry.event("booths.DepositPaid", version=1)
class DepositPaid(BoothEvent):
    contract_id: Identifier
    paid_total_fen: Fen


@registry.event("booths.PaidInFull", version=1)
class PaidInFull(BoothEvent):
    contract_id: Identifier
    paid_total_fen: Fen


@registry.event("booths.BoothConfirmed", version=1)
class BoothConfirmed(BoothEvent):
    contract_id: Identifier


@registry.event("booths.ContractCancelled", version=1)
class ContractCancelled(BoothEvent):
    """The contract ends and the booth is free again; the fee follows the contract's terms."""

    contract_id: Identifier
    exhibitor_id: Identifier
    reason: Text
    price_fen: Fen
    fee_bp: BasisPoints
    fee_fen: Fen
    paid_fen: Fen
    refund_due_fen: Fen
    owed_fen: Fen


@registry.event("booths.ContractFlagged", version=1)
class ContractFlagged(BoothEvent):
    """Needs the sales desk: e.g. the exhibitor withdrew from the edition."""

    contract_id: Identifier
    exhibitor_id: Identifier
    reason: Text


@registry.event("booths.ContractMovedOut", version=1)
class ContractMovedOut(BoothEvent):
    """The exhibitor moved to another booth; this one is free again."""

    contract_id: Identifier
    exhibitor_id: Identifier
    to_booth_code: Code
    reason: Text


@registry.event("booths.ContractMovedIn", version=1)
class ContractMovedIn(BoothEvent):
    """A contract arrived from another booth, re-priced for this one; payments carry over."""

    terms: ContractTerms
    from_booth_code: Code
    paid_total_fen: Fen
    references: tuple[Identifier, ...] = ()
    stage: Literal["reserved", "deposit_paid", "paid_in_full"]
    """Where the payments put the contract against the new price (confirmation is redone)."""


@registry.event("booths.BoothPriceAdjusted", version=1)
class BoothPriceAdjusted(BoothEvent):
    """A contract's price lowered after it was signed (a sponsor's booth discount): by how
    much, from what to what, for what (`granted_for`) and why."""

    contract_id: Identifier
    exhibitor_id: Identifier
    adjustment: PriceAdjustment
    price_before_fen: Fen
    price_after_fen: Fen
    paid_fen: Fen
    refund_due_fen: Fen
    """Paid beyond the new price: the sales desk owes it back."""


@registry.event("booths.BoothOffered", version=1)
class BoothOffered(BoothEvent):
    """Offered to the next exhibitor on the zone's waitlist, to claim until `claim_until`."""

    exhibitor_id: Identifier
    claim_until: AwareDatetime


@registry.event("booths.OfferLapsed", version=1)
class OfferLapsed(BoothEvent):
    exhibitor_id: Identifier
    outcome: Literal["lapsed", "declined"]


# --- the exhibitor's account: admission, hold cap, contracts ------------------------------


class AccountEvent(BoothsEvent):
    exhibitor_id: Identifier

    def stream_id(self) -> str:
        from .account import account_stream

        return account_stream(self.exhibitor_id)


@registry.event("booths.ExhibitorAdmitted", version=1)
class ExhibitorAdmitted(AccountEvent):
    """Approved for the edition by the exhibitors service: may now hold and buy."""

    edition_code: EditionCode
    applicant: Identifier
    """The company user who may act for this exhibitor."""
    name_zh: Name
    name_en: Name
    country_or_region: Annotated[str, Field(min_length=2, max_length=2)]
    participation_mode: Literal["offline", "online", "both"]


@registry.event("booths.ExhibitorWithdrawn", version=1)
class ExhibitorWithdrawn(AccountEvent):
    """Withdrew from the edition: holds are released, contracts flagged, no new holds."""

    reason: Text


@registry.event("booths.ExhibitorHoldOpened", version=1)
class ExhibitorHoldOpened(AccountEvent):
    booth_code: Code


@registry.event("booths.ExhibitorHoldClosed", version=1)
class ExhibitorHoldClosed(AccountEvent):
    booth_code: Code
    outcome: Literal["released", "expired", "reserved"]


@registry.event("booths.ExhibitorContractOpened", version=1)
class ExhibitorContractOpened(AccountEvent):
    contract_id: Identifier
    booth_code: Code | None
    """None for an online package."""


@registry.event("booths.ExhibitorContractClosed", version=1)
class ExhibitorContractClosed(AccountEvent):
    contract_id: Identifier
    outcome: Literal["cancelled"]


@registry.event("booths.ExhibitorContractMoved", version=1)
class ExhibitorContractMoved(AccountEvent):
    contract_id: Identifier
    from_booth_code: Code
    to_booth_code: Code


# --- waitlists ----------------------------------------------------------------------------


class WaitlistEvent(BoothsEvent):
    edition_code: EditionCode
    zone_code: Code

    def stream_id(self) -> str:
        from .waitlist import waitlist_stream

        return waitlist_stream(self.edition_code, self.zone_code)


@registry.event("booths.WaitlistJoined", version=1)
class WaitlistJoined(WaitlistEvent):
    exhibitor_id: Identifier


@registry.event("booths.WaitlistLeft", version=1)
class WaitlistLeft(WaitlistEvent):
    exhibitor_id: Identifier


@registry.event("booths.WaitlistOfferMade", version=1)
class WaitlistOfferMade(WaitlistEvent):
    """The head of the line is offered a released booth and leaves the line."""

    exhibitor_id: Identifier
    booth_code: Code
    claim_until: AwareDatetime


# --- construction review of raw space (展位搭建审核) ------------------------------------------


class DesignEvent(BoothsEvent):
    edition_code: EditionCode
    booth_code: Code

    def stream_id(self) -> str:
        from .construction import design_stream

        return design_stream(self.edition_code, self.booth_code)


@registry.event("booths.DesignSubmitted", version=1)
class DesignSubmitted(DesignEvent):
    exhibitor_id: Identifier
    version: Version
    contractor: Contractor
    drawings: tuple[Drawing, ...]
    materials: tuple[Material, ...]
    note: Note = ""


@registry.event("booths.DesignApproved", version=1)
class DesignApproved(DesignEvent):
    version: Version
    reviewer: Identifier
    comments: Note = ""


@registry.event("booths.DesignReturned", version=1)
class DesignReturned(DesignEvent):
    version: Version
    reviewer: Identifier
    comments: Text


# --- online booths: unbounded packages ----------------------------------------------------


class OnlineEvent(BoothsEvent):
    edition_code: EditionCode
    order_id: Identifier

    def stream_id(self) -> str:
        from .online import online_stream

        return online_stream(self.edition_code, self.order_id)


@registry.event("booths.OnlineBoothOrdered", version=1)
class OnlineBoothOrdered(OnlineEvent):
    exhibitor_id: Identifier
    tier: Code
    price_fen: PositiveFen
    rule_version: Version


@registry.event("booths.OnlinePaymentReceived", version=1)
class OnlinePaymentReceived(OnlineEvent):
    amount_fen: PositiveFen
    reference: Identifier
    paid_total_fen: Fen


# --- sponsors' booth discounts, asked by the sponsorship service -----------------------------


class AdjustedContract(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    contract_id: str
    booth_code: str
    price_before_fen: int
    price_after_fen: int


class SponsorDiscountEvent(BoothsEvent):
    """The answer to one request of a sponsorship package's booth discount (its `attempt`)."""

    package_id: str
    benefit_no: int
    attempt: int
    exhibitor_id: str

    def stream_id(self) -> str:
        from .discounts import sponsor_discount_stream

        return sponsor_discount_stream(self.package_id, self.benefit_no)


@registry.event("booths.SponsorDiscountGranted", version=1)
class SponsorDiscountGranted(SponsorDiscountEvent):
    """A sponsor's booth discount applied to every booth contract its company holds."""

    discount_bp: int
    contracts: list[AdjustedContract]


@registry.event("booths.SponsorDiscountRefused", version=1)
class SponsorDiscountRefused(SponsorDiscountEvent):
    """A sponsor's booth discount could not be applied, and why (booth sales' own words)."""

    reason: str
    code: str
