"""A sponsor's package: offered (holding the tier's place and the category until it expires),
signed as a contract with instalments, paid in fen, cancelled with a fee; and its benefits,
each a deliverable moving pending → requested → delivered (with proof) or failed; a
delivered one withdrawn when the service that delivered it takes it back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from . import category as categories
from . import sale
from . import tier as tiers
from .category import CategoryHolders
from .commands import (
    CancelPackage,
    DeliverBenefit,
    ExpireOffer,
    FailBenefit,
    OfferPackage,
    RecordPayment,
    RequestBenefit,
    ReviseProof,
    SignContract,
    WithdrawBenefit,
)
from .events import (
    BenefitDelivered,
    BenefitFailed,
    BenefitProofRevised,
    BenefitRequested,
    BenefitWithdrawn,
    ContractSigned,
    HotelStay,
    Instalment,
    LaunchWish,
    OfferExpired,
    PackageCancelled,
    PackageOffered,
    PaymentRecorded,
)
from .tier import Tier
from .values import DELIVERED_BY, BenefitKind

Status = Literal["none", "offered", "contracted", "cancelled", "expired"]
Standing = Literal["pending", "requested", "delivered", "failed", "withdrawn"]


@dataclass(frozen=True)
class Deliverable:
    kind: BenefitKind
    quantity: int
    detail: str
    standing: Standing = "pending"
    note: str = ""
    """The proof of delivery, or the reason it failed or was withdrawn."""
    attempt: int = 0
    """How many times it was requested (the latest request is the one answered)."""


@dataclass(frozen=True)
class Package:
    package_id: str
    status: Status = "none"
    edition_code: str = ""
    tier_code: str = ""
    sponsor_id: str = ""
    sponsor_name: str = ""
    category: str = ""
    price_fen: int = 0
    expires_at: datetime | None = None
    instalments: tuple[Instalment, ...] = ()
    fee_percent: int = 0
    paid_fen: int = 0
    payments: frozenset[str] = frozenset()
    benefits: tuple[Deliverable, ...] = ()

    @property
    def holds_places(self) -> bool:
        return self.status in ("offered", "contracted")


def package_stream(package_id: str) -> str:
    return f"package-{package_id}"


def initial(stream_id: str) -> Package:
    return Package(stream_id.removeprefix("package-"))


def offered(package: Package) -> Package:
    if package.status == "none":
        raise NotFound(f"no package {package.package_id}", code="unknown_package")
    return package


def offer(
    command: OfferPackage,
    *,
    package: Package,
    tier: Tier,
    category: CategoryHolders,
    now: datetime,
) -> list[DomainEvent]:
    """The offer takes a place in the tier and the category, both checked under their locks."""
    if package.status != "none":
        if package.sponsor_id == command.sponsor_id and package.tier_code == command.tier_code:
            return []  # the same offer again (a retried request)
        raise Conflict(f"package {package.package_id} exists", code="package_exists")
    tiers.known(tier)
    events = tiers.take_place(tier=tier, package_id=command.package_id)
    events += categories.claim(
        category=category,
        tier_code=tier.tier_code,
        exclusivity=tier.exclusivity,
        package_id=command.package_id,
        sponsor_id=command.sponsor_id,
    )
    price = tier.price_fen if command.price_fen is None else command.price_fen
    return [
        PackageOffered(
            package_id=command.package_id, edition_code=command.edition_code,
            tier_code=command.tier_code, sponsor_id=command.sponsor_id,
            sponsor_name=command.sponsor_name, category=command.category, price_fen=price,
            benefits=list(tier.benefits), expires_at=now + timedelta(days=command.valid_days),
            by=command.by,
        ),
        *events,
    ]  # fmt: skip


def sign(command: SignContract, *, package: Package, now: datetime) -> list[DomainEvent]:
    offered(package)
    if package.status == "contracted":
        return []
    if package.status != "offered":
        raise Conflict(f"the package is {package.status}", code=f"package_{package.status}")
    if sale.past(package.expires_at, now):
        raise Conflict("the offer has expired", code="offer_expired")
    total = sum(i.amount_fen for i in command.instalments)
    if total != package.price_fen:
        raise DomainError(
            f"the instalments add up to {total} fen, the price is {package.price_fen} fen",
            code="instalments_do_not_add_up",
            total=total,
            price_fen=package.price_fen,
        )
    if [i.due_on for i in command.instalments] != sorted(i.due_on for i in command.instalments):
        raise DomainError("instalments are listed by due date", code="instalments_out_of_order")
    return [ContractSigned(package_id=package.package_id, contract_no=command.contract_no,
                           instalments=command.instalments,
                           cancellation_fee_percent=command.cancellation_fee_percent)]  # fmt: skip


def pay(command: RecordPayment, *, package: Package, now: datetime) -> list[DomainEvent]:
    offered(package)
    if command.payment_id in package.payments:
        return []  # the bank's notice again
    if package.status != "contracted":
        raise Conflict("payments are taken on a signed contract", code="not_contracted")
    sale.within_price(amount_fen=command.amount_fen, price_fen=package.price_fen,
                      paid_fen=package.paid_fen)  # fmt: skip
    return [PaymentRecorded(package_id=package.package_id, payment_id=command.payment_id,
                            amount_fen=command.amount_fen, received_at=now)]  # fmt: skip


def _releases(package: Package, tier: Tier, category: CategoryHolders) -> list[DomainEvent]:
    return tiers.give_place_back(tier=tier, package_id=package.package_id) + categories.release(
        category=category, package_id=package.package_id
    )


def cancel(
    command: CancelPackage, *, package: Package, tier: Tier, category: CategoryHolders
) -> list[DomainEvent]:
    """An offer is withdrawn free; a contract keeps its cancellation fee, the rest is refunded
    (or, where less was paid than the fee, the fee minus what was paid is still owed)."""
    offered(package)
    if not package.holds_places:
        return []
    fee = package.price_fen * package.fee_percent // 100 if package.status == "contracted" else 0
    event = PackageCancelled(package_id=package.package_id, reason=command.reason, fee_fen=fee,
                             refund_fen=max(0, package.paid_fen - fee))  # fmt: skip
    return [event, *_releases(package, tier, category)]


def expire(
    command: ExpireOffer,
    *,
    package: Package,
    tier: Tier,
    category: CategoryHolders,
    now: datetime,
) -> list[DomainEvent]:
    """Only an unsigned offer past its date lapses; decided again on the package's own stream,
    so an offer signed a moment ago expires nothing."""
    if package.status != "offered" or not sale.past(package.expires_at, now):
        return []
    return [OfferExpired(package_id=package.package_id), *_releases(package, tier, category)]


def _benefit(package: Package, number: int) -> Deliverable:
    if package.status != "contracted":
        raise Conflict("benefits are delivered on a signed contract", code="not_contracted")
    if not 1 <= number <= len(package.benefits):
        raise NotFound(f"the package has no benefit {number}", code="unknown_benefit")
    return package.benefits[number - 1]


def request(command: RequestBenefit, *, package: Package) -> list[DomainEvent]:
    """Benefits another service delivers go to it with what it needs to know: hotel rooms
    (where and when), a launch slot (the sponsor's exhibitor, the day, the title), a booth
    discount (the sponsor's exhibitor, whose booth contract it lowers)."""
    benefit = _benefit(offered(package), command.benefit_no)
    if benefit.standing not in ("pending", "failed", "withdrawn"):  # asked again after those
        return []
    if benefit.kind == "hotel_rooms" and command.stay is None:
        raise DomainError(
            "hotel rooms are asked of the hotels service: name the hotel, room type and nights",
            code="stay_needed",
        )
    if benefit.kind == "launch_slot" and (command.launch is None or not command.exhibitor_id):
        raise DomainError(
            "a launch slot is asked of the forums service: name the sponsor's exhibitor_id"
            " (its application at the exhibitors service) and the launch (day and title)",
            code="launch_needed",
        )
    if benefit.kind == "booth_discount" and not command.exhibitor_id:
        raise DomainError(
            "a booth discount is asked of the booths service: name the sponsor's exhibitor_id"
            " (its application at the exhibitors service), whose booth contract it lowers",
            code="exhibitor_needed",
        )
    stay = HotelStay(**command.stay.model_dump()) if command.stay else None
    launch = LaunchWish(**command.launch.model_dump()) if command.launch else None
    return [BenefitRequested(package_id=package.package_id, benefit_no=command.benefit_no,
                             kind=benefit.kind, quantity=benefit.quantity,
                             detail=benefit.detail, sponsor_name=package.sponsor_name,
                             stay=stay, edition_code=package.edition_code,
                             exhibitor_id=command.exhibitor_id, launch=launch,
                             attempt=benefit.attempt + 1)]  # fmt: skip


def _answers_another_attempt(benefit: Deliverable, attempt: int | None) -> bool:
    """A service's answer to an earlier request (a rebuild replaying it, say) is stale."""
    return attempt is not None and attempt != benefit.attempt


def deliver(command: DeliverBenefit, *, package: Package) -> list[DomainEvent]:
    """What another service owns is delivered on that service's confirmation, never by hand:
    the checklist then says only what the hotel, the forum or the booth contract holds."""
    benefit = _benefit(offered(package), command.benefit_no)
    if benefit.standing == "delivered" or _answers_another_attempt(benefit, command.attempt):
        return []
    owner = DELIVERED_BY.get(benefit.kind)
    if owner is not None and command.confirmed_by != owner:
        raise Conflict(
            f"a {benefit.kind.replace('_', ' ')} is delivered when the {owner} service"
            " confirms it; request it and the checklist follows that service's answer",
            code="delivered_by_another_service",
            service=owner,
        )
    return [BenefitDelivered(package_id=package.package_id, benefit_no=command.benefit_no,
                             proof=command.proof)]  # fmt: skip


def fail(command: FailBenefit, *, package: Package) -> list[DomainEvent]:
    benefit = _benefit(offered(package), command.benefit_no)
    if benefit.standing in ("delivered", "failed"):
        return []
    if _answers_another_attempt(benefit, command.attempt):
        return []
    return [BenefitFailed(package_id=package.package_id, benefit_no=command.benefit_no,
                          reason=command.reason)]  # fmt: skip


def _delivered_by(benefit: Deliverable, service: str, attempt: int) -> bool:
    """Whether the benefit stands delivered by `service`, the one that delivers its kind, in
    answer to request `attempt` (not a later request's delivery)."""
    return (
        benefit.standing == "delivered"
        and benefit.attempt == attempt
        and DELIVERED_BY.get(benefit.kind) == service
    )


def withdraw(command: WithdrawBenefit, *, package: Package) -> list[DomainEvent]:
    """Only the delivery the owning service took back is withdrawn: a later request's
    delivery, or one another service made, stays (a rebuild replaying an old cancellation)."""
    benefit = _benefit(offered(package), command.benefit_no)
    if not _delivered_by(benefit, command.service, command.attempt):
        return []
    return [BenefitWithdrawn(package_id=package.package_id, benefit_no=command.benefit_no,
                             attempt=command.attempt, service=command.service,
                             withdrawn_by=command.withdrawn_by,
                             withdrawn_at=command.withdrawn_at,
                             reason=command.reason)]  # fmt: skip


def revise_proof(command: ReviseProof, *, package: Package) -> list[DomainEvent]:
    """Only the delivery the owning service moved takes its new proof: a later request's
    delivery, or one another service made, stays; the same proof again changes nothing."""
    benefit = _benefit(offered(package), command.benefit_no)
    if not _delivered_by(benefit, command.service, command.attempt):
        return []
    if benefit.note == command.proof:
        return []
    return [BenefitProofRevised(package_id=package.package_id, benefit_no=command.benefit_no,
                                attempt=command.attempt, service=command.service,
                                proof=command.proof)]  # fmt: skip


def _mark(package: Package, number: int, standing: Standing, note: str = "") -> Package:
    benefits = list(package.benefits)
    benefits[number - 1] = replace(benefits[number - 1], standing=standing, note=note)
    return replace(package, benefits=tuple(benefits))


def _attempt(package: Package, number: int, attempt: int) -> Package:
    benefits = list(package.benefits)
    benefits[number - 1] = replace(benefits[number - 1], attempt=attempt)
    return replace(package, benefits=tuple(benefits))


def evolve(package: Package, event: DomainEvent) -> Package:
    match event:
        case PackageOffered():
            benefits = tuple(Deliverable(b.kind, b.quantity, b.detail) for b in event.benefits)
            return replace(package, status="offered", edition_code=event.edition_code,
                           tier_code=event.tier_code, sponsor_id=event.sponsor_id,
                           sponsor_name=event.sponsor_name, category=event.category,
                           price_fen=event.price_fen,
                           expires_at=event.expires_at, benefits=benefits)  # fmt: skip
        case ContractSigned():
            return replace(package, status="contracted", instalments=tuple(event.instalments),
                           fee_percent=event.cancellation_fee_percent)  # fmt: skip
        case PaymentRecorded():
            return replace(package, paid_fen=package.paid_fen + event.amount_fen,
                           payments=package.payments | {event.payment_id})  # fmt: skip
        case OfferExpired():
            return replace(package, status="expired")
        case PackageCancelled():
            return replace(package, status="cancelled")
        case BenefitRequested():
            requested = _mark(package, event.benefit_no, "requested")
            return _attempt(requested, event.benefit_no, event.attempt)
        case BenefitDelivered() | BenefitProofRevised():
            return _mark(package, event.benefit_no, "delivered", event.proof)
        case BenefitFailed():
            return _mark(package, event.benefit_no, "failed", event.reason)
        case BenefitWithdrawn():
            return _mark(package, event.benefit_no, "withdrawn", event.reason)
        case _:
            return package


PACKAGE: Fold[Package] = Fold(initial, evolve)
