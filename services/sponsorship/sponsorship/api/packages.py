"""Tiers and packages: the tiers' terms, offers that hold a tier's place and an industry
category, contracts with instalments, payments in fen, cancellation with a fee, and each
package's benefits moved along by the team (or, for other services' benefits, by policies)."""

from __future__ import annotations

from fairline_events.dependencies import Body, new_id
from fairline_events.transact import Outcome
from fastapi import APIRouter, Path
from pydantic import Field

from ..domain.commands import (
    CancelPackage,
    DefineTier,
    DeliverBenefit,
    FailBenefit,
    Launch,
    OfferPackage,
    RecordPayment,
    RequestBenefit,
    SignContract,
    Stay,
)
from ..domain.events import Benefit, Instalment
from ..domain.package import Package, package_stream
from ..domain.values import (
    PRINTABLE,
    Category,
    EditionCode,
    Exclusivity,
    Fen,
    Identifier,
    Name,
    OfferDays,
    Percent,
    Quantity,
    Reason,
    TierCode,
)
from ..handlers import (
    cancel_package,
    define_tier,
    deliver_benefit,
    fail_benefit,
    offer_package,
    record_payment,
    request_benefit,
    sign_contract,
)
from .common import AsTeam, PackageView, PaymentRequest, ReasonRequest, package_view

router = APIRouter(tags=["packages"])

PackageId = Path(description="the package's id", max_length=64, pattern=PRINTABLE)
BenefitNo = Path(description="the benefit's number in the package (1, 2…)", ge=1, le=100)


class TierRequest(Body):
    name: Name
    quantity: Quantity
    exclusivity: Exclusivity = "tier"
    price_fen: Fen
    benefits: list[Benefit] = Field(default_factory=list, max_length=30)


class TierView(TierRequest):
    edition_code: str
    tier_code: str


@router.put(
    "/editions/{edition_code}/tiers/{tier_code}",
    summary="Set a tier's terms: quantity limit, exclusivity scope, list price, benefits",
)
async def set_tier(
    edition_code: EditionCode, tier_code: TierCode, body: TierRequest, acting: AsTeam,
) -> TierView:  # fmt: skip
    command = DefineTier(edition_code=edition_code, tier_code=tier_code, **body.model_dump())
    await define_tier(acting.store, command, acting.context)
    return TierView(edition_code=edition_code, tier_code=tier_code, **body.model_dump())


class OfferRequest(Body):
    tier_code: TierCode
    sponsor_id: Identifier
    sponsor_name: Name
    category: Category
    price_fen: Fen | None = None
    valid_days: OfferDays = 14
    package_id: Identifier | None = None
    """Optional: a client that retries sends the same id and gets the same package."""


def _answer(package_id: str, outcome: Outcome) -> PackageView:
    return package_view(outcome.state(package_stream(package_id), Package))


@router.post(
    "/editions/{edition_code}/packages",
    status_code=201,
    summary="Offer a package: takes a place in the tier and the category until it expires",
)
async def offer(edition_code: EditionCode, body: OfferRequest, acting: AsTeam) -> PackageView:
    package_id = body.package_id or new_id("pkg")
    command = OfferPackage(
        package_id=package_id, edition_code=edition_code, tier_code=body.tier_code,
        sponsor_id=body.sponsor_id, sponsor_name=body.sponsor_name, category=body.category,
        price_fen=body.price_fen, valid_days=body.valid_days, by=acting.who.subject,
    )  # fmt: skip
    outcome = await offer_package(acting.store, command, acting.context)
    return _answer(package_id, outcome)


class ContractRequest(Body):
    contract_no: Identifier
    instalments: list[Instalment] = Field(min_length=1, max_length=24)
    cancellation_fee_percent: Percent = 30


@router.post("/packages/{package_id}/contract", summary="Sign the offer as a contract")
async def contract(
    body: ContractRequest, acting: AsTeam, package_id: str = PackageId,
) -> PackageView:  # fmt: skip
    command = SignContract(package_id=package_id, **body.model_dump())
    return _answer(package_id, await sign_contract(acting.store, command, acting.context))


@router.post("/packages/{package_id}/payments", summary="Record a payment (once per id)")
async def payment(
    body: PaymentRequest, acting: AsTeam, package_id: str = PackageId,
) -> PackageView:  # fmt: skip
    command = RecordPayment(package_id=package_id, **body.model_dump())
    return _answer(package_id, await record_payment(acting.store, command, acting.context))


@router.post(
    "/packages/{package_id}/cancel",
    summary="Cancel: an offer free, a contract with its fee; the tier and category free again",
)
async def cancel(
    body: ReasonRequest, acting: AsTeam, package_id: str = PackageId,
) -> PackageView:  # fmt: skip
    command = CancelPackage(package_id=package_id, reason=body.reason)
    outcome = await cancel_package(acting.store, command, acting.context.because(body.reason))
    return _answer(package_id, outcome)


class BenefitRequest(Body):
    stay: Stay | None = None
    """Hotel rooms: the hotel, room type and nights; the hotels service makes the block."""
    exhibitor_id: Identifier | None = None
    """A launch slot or a booth discount: the sponsor's application at the exhibitors
    service, by which the forums and booths services know the company."""
    launch: Launch | None = None
    """A launch slot: the day and the title; the forums service books a launch hall."""


@router.post(
    "/packages/{package_id}/benefits/{benefit_no}/request",
    summary=(
        "Ask for a benefit (pending → requested); hotel rooms go to the hotels service, a"
        " launch slot to forums, a booth discount to booths, and their answer settles it"
    ),
)
async def request(
    acting: AsTeam, package_id: str = PackageId,
    benefit_no: int = BenefitNo, body: BenefitRequest | None = None,
) -> PackageView:  # fmt: skip
    asked = body or BenefitRequest()
    command = RequestBenefit(package_id=package_id, benefit_no=benefit_no, stay=asked.stay,
                             exhibitor_id=asked.exhibitor_id, launch=asked.launch)  # fmt: skip
    return _answer(package_id, await request_benefit(acting.store, command, acting.context))


class ProofRequest(Body):
    proof: Reason


@router.post(
    "/packages/{package_id}/benefits/{benefit_no}/deliver",
    summary=(
        "Mark a benefit delivered, with its proof (a photo's link, a booking number); hotel"
        " rooms, launch slots and booth discounts are delivered by their service's answer"
    ),
)
async def deliver(
    body: ProofRequest, acting: AsTeam, package_id: str = PackageId, benefit_no: int = BenefitNo,
) -> PackageView:  # fmt: skip
    command = DeliverBenefit(package_id=package_id, benefit_no=benefit_no, proof=body.proof)
    return _answer(package_id, await deliver_benefit(acting.store, command, acting.context))


@router.post(
    "/packages/{package_id}/benefits/{benefit_no}/fail",
    summary="Mark a benefit failed, with the reason",
)
async def fail(
    body: ReasonRequest, acting: AsTeam, package_id: str = PackageId, benefit_no: int = BenefitNo,
) -> PackageView:  # fmt: skip
    command = FailBenefit(package_id=package_id, benefit_no=benefit_no, reason=body.reason)
    outcome = await fail_benefit(acting.store, command, acting.context.because(body.reason))
    return _answer(package_id, outcome)
