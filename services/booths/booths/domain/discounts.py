"""A sponsor's booth discount, asked by the sponsorship service for a package.

The request names the package's benefit, the sponsor's company as the exhibitors service
knows it (its application id, which is also its booth-sales account: `account.py`) and the
discount in percent. The discount lowers the price of every booth contract that account
holds in the edition (`BoothPriceAdjusted` on each booth, naming the package and why): a
share of the quoted price kept in the contract's terms (`ContractTerms.adjustments`), so the
balance, the cancellation fee and a later move's re-pricing all follow it. Paid beyond the
new price, the contract is paid in full and the difference is a refund due.

Refused, with booth sales' own words, when the company is not an approved exhibitor of the
edition, holds no booth under contract (a held booth is priced when it is reserved: ask
again then), or the percent is not 1 to 100.

One stream per requested benefit (`sponsor-discount-<package>:<benefit>`) holds the answer,
`SponsorDiscountGranted` or `SponsorDiscountRefused`, per attempt, answered once by the core's
`fairline_events.answers.answer_once`: a redelivered request finds its answer and changes
nothing; a new attempt after a refusal is decided afresh; once granted, nothing is granted
again while a contract it lowered stands. Once every one of them
is cancelled, the sponsorship desk withdraws the benefit and may ask again: that later
attempt is decided afresh, on the contracts the company holds then.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from fairline_events.answers import answer_once
from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from .account import Account, require_admitted
from .booth import PAYABLE, Booth
from .commands import GrantSponsorDiscount
from .events import (
    AdjustedContract,
    BoothPriceAdjusted,
    PaidInFull,
    SponsorDiscountGranted,
    SponsorDiscountRefused,
)
from .values import PriceAdjustment


@dataclass(frozen=True)
class SponsorDiscount:
    package_id: str
    benefit_no: int
    granted: int = 0
    """The attempt granted last (0: none)."""
    lowered: frozenset[str] = frozenset()
    """The contracts that grant lowered."""
    refused: frozenset[int] = frozenset()
    """The attempts refused (a later attempt is decided afresh)."""


def sponsor_discount_stream(package_id: str, benefit_no: int) -> str:
    return f"sponsor-discount-{package_id}:{benefit_no}"


def _initial(stream_id: str) -> SponsorDiscount:
    package_id, _, number = stream_id.removeprefix("sponsor-discount-").rpartition(":")
    return SponsorDiscount(package_id=package_id, benefit_no=int(number))


def _evolve(state: SponsorDiscount, event: DomainEvent) -> SponsorDiscount:
    match event:
        case SponsorDiscountGranted():
            lowered = frozenset(c.contract_id for c in event.contracts)
            return replace(state, granted=event.attempt, lowered=lowered)
        case SponsorDiscountRefused():
            return replace(state, refused=state.refused | {event.attempt})
    return state


SPONSOR_DISCOUNT: Fold[SponsorDiscount] = Fold(_initial, _evolve)


def grant(
    command: GrantSponsorDiscount,
    *,
    request: SponsorDiscount,
    account: Account,
    booths: Mapping[str, Booth],
) -> list[DomainEvent]:
    """Lower the company's booth contracts, or record why not: either way, the sponsorship
    service gets an answer. `booths` holds every booth the account has under contract."""
    standing = not request.lowered or any(c in account.contracts for c in request.lowered)
    return answer_once(
        command.attempt,
        refused=request.refused,
        granted=request.granted,
        standing=standing,
        grant=lambda: _grant(command, account=account, booths=booths),
        refuse=lambda reason, code: SponsorDiscountRefused(
            package_id=command.package_id,
            benefit_no=command.benefit_no,
            attempt=command.attempt,
            exhibitor_id=command.exhibitor_id,
            reason=reason,
            code=code,
        ),
    )


def _grant(
    command: GrantSponsorDiscount, *, account: Account, booths: Mapping[str, Booth]
) -> list[DomainEvent]:
    if not 1 <= command.percent <= 100:
        raise DomainError(
            f"a booth discount is 1 to 100 percent, not {command.percent}",
            code="discount_out_of_range",
        )
    require_admitted(account, command.edition_code)
    contracted = [
        booth
        for _, booth in sorted(booths.items())
        if booth.contract is not None and booth.contract.exhibitor_id == account.exhibitor_id
    ]
    if not contracted:
        raise Conflict(
            f"exhibitor {account.exhibitor_id} holds no booth under contract in"
            f" {command.edition_code}; a sponsor's booth discount lowers a signed booth"
            " contract (a held booth is priced when it is reserved: ask again then)",
            code="no_booth_contract",
        )
    granted_for = f"sponsorship:{command.package_id}:{command.benefit_no}"
    adjustment = PriceAdjustment(
        granted_for=granted_for,
        discount_bp=command.percent * 100,
        reason=(
            f"{command.percent}% booth discount, benefit {command.benefit_no} of"
            f" {command.sponsor_name}'s sponsorship package {command.package_id}"
        )[:2000],
    )
    events: list[DomainEvent] = []
    adjusted: list[AdjustedContract] = []
    for booth in contracted:
        contract = booth.contract
        assert contract is not None
        if contract.terms.granted(granted_for):
            continue  # on this contract already (it moved here with it)
        terms = contract.terms.model_copy(
            update={"adjustments": (*contract.terms.adjustments, adjustment)}
        )
        before, after, paid = contract.terms.price_fen, terms.price_fen, contract.paid_fen
        ids = {"edition_code": booth.edition_code, "booth_code": booth.booth_code}
        adjusted_event = BoothPriceAdjusted(
            **ids, contract_id=contract.contract_id, exhibitor_id=account.exhibitor_id,
            adjustment=adjustment, price_before_fen=before, price_after_fen=after,
            paid_fen=paid, refund_due_fen=max(paid - after, 0),
        )  # fmt: skip
        events.append(adjusted_event)
        if booth.status in PAYABLE and paid >= after:
            events.append(PaidInFull(**ids, contract_id=contract.contract_id, paid_total_fen=paid))
        adjusted.append(AdjustedContract(contract_id=contract.contract_id,
                                         booth_code=booth.booth_code, price_before_fen=before,
                                         price_after_fen=after))  # fmt: skip
    return [
        *events,
        SponsorDiscountGranted(package_id=command.package_id, benefit_no=command.benefit_no,
                               attempt=command.attempt, exhibitor_id=account.exhibitor_id,
                               discount_bp=adjustment.discount_bp, contracts=adjusted),
    ]  # fmt: skip
