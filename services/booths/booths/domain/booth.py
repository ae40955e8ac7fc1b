"""One booth (展位) and its sale, as state rebuilt from the booth's own stream.

    unlisted ─add─▶ free ─hold─▶ held ─reserve─▶ reserved ─pay─▶ deposit_paid ─pay─▶ paid_in_full
                     ▲  ◀─release/expire─┘                                     confirm ▼
                     ├──────────────── cancel / move out ◀──────────────────── confirmed
                     └─ offered (waitlist) ─claim─▶ held;  lapse/decline ─▶ free or next offer

Payments and confirmation touch only the booth; everything that opens or closes a hold or a
contract also touches the exhibitor's account (see `sales`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from .catalogue import Catalogue, require_open
from .commands import AddBooth, ConfirmBooth, RecordPayment
from .events import (
    BoothAdded,
    BoothConfirmed,
    BoothHeld,
    BoothOffered,
    BoothPriceAdjusted,
    BoothReserved,
    ContractCancelled,
    ContractFlagged,
    ContractMovedIn,
    ContractMovedOut,
    DepositPaid,
    HoldExpired,
    HoldReleased,
    OfferLapsed,
    PaidInFull,
    PaymentReceived,
)
from .values import BoothSpec, ContractTerms, EditionStreams, Quote

Status = Literal[
    "unlisted", "free", "offered", "held", "reserved", "deposit_paid", "paid_in_full", "confirmed"
]
STATUSES: tuple[Status, ...] = (
    "free",
    "offered",
    "held",
    "reserved",
    "deposit_paid",
    "paid_in_full",
    "confirmed",
)
CONTRACTED: frozenset[Status] = frozenset({"reserved", "deposit_paid", "paid_in_full", "confirmed"})
PAYABLE: frozenset[Status] = frozenset({"reserved", "deposit_paid"})


@dataclass(frozen=True)
class Contract:
    terms: ContractTerms
    paid_fen: int = 0
    references: tuple[str, ...] = ()
    flag: str | None = None

    @property
    def contract_id(self) -> str:
        return self.terms.contract_id

    @property
    def exhibitor_id(self) -> str:
        return self.terms.exhibitor_id

    @property
    def outstanding_fen(self) -> int:
        return max(self.terms.price_fen - self.paid_fen, 0)  # a discount may leave a refund


@dataclass(frozen=True)
class Booth:
    edition_code: str
    booth_code: str
    spec: BoothSpec | None = None
    status: Status = "unlisted"
    holder: str | None = None
    """The exhibitor holding it, offered it, or under contract for it."""
    hold_expires_at: datetime | None = None
    hold_quote: Quote | None = None
    offer_until: datetime | None = None
    contract: Contract | None = None

    def listed(self) -> BoothSpec:
        if self.spec is None:
            raise NotFound(
                f"booth {self.booth_code} is not in edition {self.edition_code}",
                code="booth_not_found",
            )
        return self.spec

    @property
    def stream_id(self) -> str:
        return booth_stream(self.edition_code, self.booth_code)


booth_stream = EditionStreams("booth")
"""One stream per booth: "never held twice" is the booth's expected version."""


def initial(stream_id: str) -> Booth:
    edition, code = booth_stream.parts(stream_id)
    return Booth(edition_code=edition, booth_code=code)


def stage(
    paid_fen: int, terms: ContractTerms
) -> Literal["reserved", "deposit_paid", "paid_in_full"]:
    if paid_fen >= terms.price_fen:
        return "paid_in_full"
    if paid_fen > 0 and paid_fen >= terms.deposit_fen:
        return "deposit_paid"
    return "reserved"


def contract_of(booth: Booth) -> Contract:
    if booth.contract is None:
        raise Conflict(
            f"booth {booth.booth_code} has no contract (it is {booth.status})",
            code="no_contract",
            current_status=booth.status,
        )
    return booth.contract


def add(command: AddBooth, *, booth: Booth, catalogue: Catalogue) -> list[DomainEvent]:
    """List a booth in the edition, at a hall and zone of the same venue."""
    require_open(catalogue)
    spec = command.spec
    hall = catalogue.hall(spec.hall_code)
    zone = catalogue.zone(spec.zone_code)
    if spec.venue_code != hall.venue_code or zone.venue_code != hall.venue_code:
        raise DomainError(
            f"hall {hall.code} and zone {zone.code} are not both at venue {spec.venue_code}",
            code="wrong_venue",
        )
    return decide(command, booth)


def decide(command: AddBooth | RecordPayment | ConfirmBooth, booth: Booth) -> list[DomainEvent]:
    """The booth's own commands: listing it, payments and confirmation."""
    ids = {"edition_code": booth.edition_code, "booth_code": booth.booth_code}
    if isinstance(command, AddBooth):
        if booth.spec is not None:
            raise Conflict(f"booth {booth.booth_code} exists", code="booth_exists")
        return [BoothAdded(**ids, spec=command.spec)]
    booth.listed()
    contract = contract_of(booth)
    if isinstance(command, ConfirmBooth):
        if booth.status == "confirmed":
            return []
        if booth.status != "paid_in_full":
            raise DomainError(
                f"booth {booth.booth_code} is {booth.status}: confirm once paid in full",
                code="not_paid_in_full",
                current_status=booth.status,
                outstanding_fen=contract.outstanding_fen,
            )
        return [BoothConfirmed(**ids, contract_id=contract.contract_id)]
    if command.reference in contract.references:
        return []  # the same payment, sent again
    if command.amount_fen > contract.outstanding_fen:
        raise DomainError(
            f"the payment of {command.amount_fen} fen exceeds the {contract.outstanding_fen} "
            "fen outstanding",
            code="payment_exceeds_balance",
            outstanding_fen=contract.outstanding_fen,
        )
    total = contract.paid_fen + command.amount_fen
    events: list[DomainEvent] = [
        PaymentReceived(
            **ids,
            contract_id=contract.contract_id,
            amount_fen=command.amount_fen,
            reference=command.reference,
            paid_total_fen=total,
        )
    ]
    if booth.status == "reserved" and total >= contract.terms.deposit_fen:
        events.append(DepositPaid(**ids, contract_id=contract.contract_id, paid_total_fen=total))
    if total == contract.terms.price_fen:
        events.append(PaidInFull(**ids, contract_id=contract.contract_id, paid_total_fen=total))
    return events


def _vacant(booth: Booth) -> Booth:
    return replace(
        booth,
        status="free",
        holder=None,
        hold_expires_at=None,
        hold_quote=None,
        offer_until=None,
        contract=None,
    )


def evolve(booth: Booth, event: DomainEvent) -> Booth:
    match event:
        case BoothAdded():
            return replace(booth, spec=event.spec, status="free")
        case BoothHeld():
            return replace(
                _vacant(booth),
                status="held",
                holder=event.exhibitor_id,
                hold_expires_at=event.expires_at,
                hold_quote=event.quote,
            )
        case HoldReleased() | HoldExpired() | OfferLapsed() | ContractCancelled():
            return _vacant(booth)
        case ContractMovedOut():
            return _vacant(booth)
        case BoothReserved():
            return replace(
                _vacant(booth),
                status="reserved",
                holder=event.terms.exhibitor_id,
                contract=Contract(event.terms),
            )
        case PaymentReceived() if booth.contract is not None:
            contract = replace(
                booth.contract,
                paid_fen=event.paid_total_fen,
                references=(*booth.contract.references, event.reference),
            )
            return replace(booth, contract=contract)
        case DepositPaid():
            return replace(booth, status="deposit_paid")
        case PaidInFull():
            return replace(booth, status="paid_in_full")
        case BoothConfirmed():
            return replace(booth, status="confirmed")
        case BoothPriceAdjusted() if booth.contract is not None:
            terms = booth.contract.terms
            terms = terms.model_copy(update={"adjustments": (*terms.adjustments, event.adjustment)})
            return replace(booth, contract=replace(booth.contract, terms=terms))
        case ContractFlagged() if booth.contract is not None:
            return replace(booth, contract=replace(booth.contract, flag=event.reason))
        case ContractMovedIn():
            contract = Contract(event.terms, event.paid_total_fen, event.references)
            return replace(
                _vacant(booth),
                status=event.stage,
                holder=event.terms.exhibitor_id,
                contract=contract,
            )
        case BoothOffered():
            return replace(
                _vacant(booth),
                status="offered",
                holder=event.exhibitor_id,
                offer_until=event.claim_until,
            )
        case _:
            return booth


BOOTH = Fold(initial, evolve)
"""How a booth's stream folds into its state."""
