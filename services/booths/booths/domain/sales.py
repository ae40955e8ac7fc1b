"""The sale of a booth across streams: the booth, the exhibitor's account, the zone's waitlist.

Each function is a pure decision over the states it needs and returns the events, each of
which names its own stream; the handler appends them all in one transaction with the
versions it loaded. So a booth is never held by two exhibitors (the booth's version), an
exhibitor never exceeds the hold cap (the account's version), and a withdrawal and a hold
never cross (the account's version again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from . import pricing, waitlist
from .account import Account, require_acting_for, require_admitted
from .booth import CONTRACTED, Booth, contract_of, stage
from .catalogue import Catalogue
from .commands import (
    CancelContract,
    ClaimOffer,
    DeclineOffer,
    ExpireHold,
    HoldBooth,
    LapseOffer,
    MoveContract,
    ReleaseHold,
    ReserveBooth,
    WithdrawExhibitor,
)
from .events import (
    BoothHeld,
    BoothReserved,
    ContractCancelled,
    ContractFlagged,
    ContractMovedIn,
    ContractMovedOut,
    ExhibitorContractClosed,
    ExhibitorContractMoved,
    ExhibitorContractOpened,
    ExhibitorHoldClosed,
    ExhibitorHoldOpened,
    ExhibitorWithdrawn,
    HoldExpired,
    HoldReleased,
    OfferLapsed,
)
from .pricing import PriceList
from .values import ContractTerms, share
from .waitlist import Waitlist


@dataclass(frozen=True)
class Market:
    """What every sale is decided against: the edition's catalogue and price rules."""

    catalogue: Catalogue
    prices: PriceList


def _ids(booth: Booth) -> dict[str, str]:
    return {"edition_code": booth.edition_code, "booth_code": booth.booth_code}


def unavailable(booth: Booth) -> Conflict:
    return Conflict(
        f"booth {booth.booth_code} is {booth.status}",
        code="booth_unavailable",
        booth_code=booth.booth_code,
        current_status=booth.status,
    )


def hold(
    command: HoldBooth, *, booth: Booth, account: Account, market: Market, now: datetime
) -> list[DomainEvent]:
    """Hold a free booth (or claim one offered to this exhibitor) at today's price."""
    spec = booth.listed()
    require_admitted(account, booth.edition_code)
    require_acting_for(account, command.by)
    hall = market.catalogue.hall(spec.hall_code)
    if not hall.sellable:
        raise DomainError(
            f"hall {hall.code} is not certified yet; its booths cannot be sold",
            code="hall_not_certified",
            hall_code=hall.code,
        )
    claiming = booth.status == "offered" and booth.holder == command.exhibitor_id
    if booth.status != "free" and not claiming:
        raise unavailable(booth)
    if claiming and booth.offer_until is not None and now >= booth.offer_until:
        raise Conflict(f"the offer of booth {booth.booth_code} has lapsed", code="offer_lapsed")
    terms = market.catalogue.terms
    if len(account.holds) >= terms.max_concurrent_holds:
        raise Conflict(
            f"exhibitor {account.exhibitor_id} already holds {len(account.holds)} booths, "
            f"the most allowed at once",
            code="hold_cap_reached",
            cap=terms.max_concurrent_holds,
            holds=sorted(account.holds),
        )
    quote = pricing.quote(spec, market.prices.current, now)
    return [
        BoothHeld(
            **_ids(booth),
            exhibitor_id=account.exhibitor_id,
            expires_at=now + terms.hold_ttl,
            quote=quote,
        ),
        ExhibitorHoldOpened(exhibitor_id=account.exhibitor_id, booth_code=booth.booth_code),
    ]


def claim(
    command: ClaimOffer, *, booth: Booth, account: Account, market: Market, now: datetime
) -> list[DomainEvent]:
    booth.listed()
    if booth.status != "offered" or booth.holder != account.exhibitor_id:
        raise Conflict(
            f"booth {booth.booth_code} is not offered to exhibitor {account.exhibitor_id}",
            code="no_offer",
            current_status=booth.status,
        )
    held = HoldBooth(
        edition_code=booth.edition_code,
        booth_code=booth.booth_code,
        exhibitor_id=account.exhibitor_id,
        by=command.by,
    )
    return hold(held, booth=booth, account=account, market=market, now=now)


def _freed(booth: Booth, line: Waitlist, market: Market, now: datetime) -> list[DomainEvent]:
    """A booth just became free: offer it to the zone's next in line."""
    return waitlist.offer_next(line, booth.booth_code, market.catalogue.terms.claim_window, now)


def _require_held(booth: Booth) -> str:
    if booth.status != "held" or booth.holder is None:
        raise Conflict(
            f"booth {booth.booth_code} is not held (it is {booth.status})",
            code="not_held",
            current_status=booth.status,
        )
    return booth.holder


def release(
    command: ReleaseHold,
    *,
    booth: Booth,
    account: Account,
    line: Waitlist,
    market: Market,
    now: datetime,
) -> list[DomainEvent]:
    booth.listed()
    holder = _require_held(booth)
    require_acting_for(account, command.by)
    return [
        HoldReleased(**_ids(booth), exhibitor_id=holder, reason=command.reason),
        ExhibitorHoldClosed(exhibitor_id=holder, booth_code=booth.booth_code, outcome="released"),
        *_freed(booth, line, market, now),
    ]


def expire(
    command: ExpireHold,
    *,
    booth: Booth,
    account: Account,
    line: Waitlist,
    market: Market,
    now: datetime,
) -> list[DomainEvent]:
    """The hold ran out. Nothing to do when it was released, reserved or is not yet due."""
    if booth.status != "held" or booth.hold_expires_at is None or now < booth.hold_expires_at:
        return []
    holder = _require_held(booth)
    return [
        HoldExpired(**_ids(booth), exhibitor_id=holder, expired_at=booth.hold_expires_at),
        ExhibitorHoldClosed(exhibitor_id=holder, booth_code=booth.booth_code, outcome="expired"),
        *_freed(booth, line, market, now),
    ]


def reserve(
    command: ReserveBooth, *, booth: Booth, account: Account, market: Market, now: datetime
) -> list[DomainEvent]:
    """Reserve the held booth under a contract at the held price (the hold fixes the price)."""
    booth.listed()
    if booth.contract is not None and booth.contract.contract_id == command.contract_id:
        return []
    holder = _require_held(booth)
    require_admitted(account, booth.edition_code)
    assert booth.hold_quote is not None and booth.hold_expires_at is not None
    if now >= booth.hold_expires_at:
        raise Conflict(f"the hold on booth {booth.booth_code} has expired", code="hold_expired")
    rules = market.prices.version(booth.hold_quote.rule_version)
    terms = ContractTerms(
        contract_id=command.contract_id,
        exhibitor_id=holder,
        quote=booth.hold_quote,
        opens_on=market.catalogue.opens_on,
        cancellation=rules.cancellation,
    )
    return [
        BoothReserved(**_ids(booth), terms=terms),
        ExhibitorHoldClosed(exhibitor_id=holder, booth_code=booth.booth_code, outcome="reserved"),
        ExhibitorContractOpened(
            exhibitor_id=holder, contract_id=command.contract_id, booth_code=booth.booth_code
        ),
    ]


def cancel(
    command: CancelContract,
    *,
    booth: Booth,
    account: Account,
    line: Waitlist,
    market: Market,
    now: datetime,
) -> list[DomainEvent]:
    """End the contract with the fee its terms set for today; the booth is free again."""
    booth.listed()
    contract = contract_of(booth)
    terms = contract.terms
    fee_bp = terms.fee_bp(now.date())
    fee = share(terms.price_fen, fee_bp)
    paid = contract.paid_fen
    return [
        ContractCancelled(
            **_ids(booth),
            contract_id=terms.contract_id,
            exhibitor_id=terms.exhibitor_id,
            reason=command.reason,
            price_fen=terms.price_fen,
            fee_bp=fee_bp,
            fee_fen=fee,
            paid_fen=paid,
            refund_due_fen=max(paid - fee, 0),
            owed_fen=max(fee - paid, 0),
        ),
        ExhibitorContractClosed(
            exhibitor_id=terms.exhibitor_id, contract_id=terms.contract_id, outcome="cancelled"
        ),
        *_freed(booth, line, market, now),
    ]


def move(
    command: MoveContract,
    *,
    source: Booth,
    target: Booth,
    account: Account,
    line: Waitlist,
    market: Market,
    now: datetime,
) -> list[DomainEvent]:
    """Move the exhibitor's contract to another free booth, re-priced by the same rules and
    day; payments carry over, confirmation is redone, the old booth is free again."""
    source.listed()
    spec = target.listed()
    contract = contract_of(source)
    if target.booth_code == source.booth_code:
        raise DomainError("a contract cannot move to the booth it is on", code="same_booth")
    if target.status != "free":
        raise unavailable(target)
    hall = market.catalogue.hall(spec.hall_code)
    if not hall.sellable:
        raise DomainError(
            f"hall {hall.code} is not certified yet", code="hall_not_certified", hall_code=hall.code
        )
    old = contract.terms
    rules = market.prices.version(old.quote.rule_version)
    terms = old.model_copy(update={"quote": pricing.requote(spec, rules, old.quote)})
    return [
        ContractMovedOut(
            **_ids(source),
            contract_id=old.contract_id,
            exhibitor_id=old.exhibitor_id,
            to_booth_code=target.booth_code,
            reason=command.reason,
        ),
        ContractMovedIn(
            **_ids(target),
            terms=terms,
            from_booth_code=source.booth_code,
            paid_total_fen=contract.paid_fen,
            references=contract.references,
            stage=stage(contract.paid_fen, terms),
        ),
        ExhibitorContractMoved(
            exhibitor_id=old.exhibitor_id,
            contract_id=old.contract_id,
            from_booth_code=source.booth_code,
            to_booth_code=target.booth_code,
        ),
        *_freed(source, line, market, now),
    ]


def decline(
    command: DeclineOffer,
    *,
    booth: Booth,
    account: Account,
    line: Waitlist,
    market: Market,
    now: datetime,
) -> list[DomainEvent]:
    if booth.status != "offered" or booth.holder != account.exhibitor_id:
        raise Conflict(
            f"booth {booth.booth_code} is not offered to exhibitor {account.exhibitor_id}",
            code="no_offer",
            current_status=booth.status,
        )
    require_acting_for(account, command.by)
    return [
        OfferLapsed(**_ids(booth), exhibitor_id=account.exhibitor_id, outcome="declined"),
        *_freed(booth, line, market, now),
    ]


def lapse(
    command: LapseOffer, *, booth: Booth, line: Waitlist, market: Market, now: datetime
) -> list[DomainEvent]:
    """The claim window closed unclaimed: the next in line gets the offer, or it is free."""
    if booth.status != "offered" or booth.offer_until is None or now < booth.offer_until:
        return []
    assert booth.holder is not None
    return [
        OfferLapsed(**_ids(booth), exhibitor_id=booth.holder, outcome="lapsed"),
        *_freed(booth, line, market, now),
    ]


def withdraw(
    command: WithdrawExhibitor,
    *,
    account: Account,
    booths: Mapping[str, Booth],
    lines: Mapping[str, Waitlist],
    market: Market,
    now: datetime,
) -> list[DomainEvent]:
    """The exhibitor withdrew from the edition: release its holds, flag its contracts.

    `booths` holds every booth the account holds or has under contract; `lines` the
    waitlists of their zones. Nothing happens for an exhibitor never admitted or gone.
    """
    if account.status != "admitted":
        return []
    reason = f"exhibitor withdrew: {command.reason}"
    events: list[DomainEvent] = [
        ExhibitorWithdrawn(exhibitor_id=account.exhibitor_id, reason=command.reason)
    ]
    queues = dict(lines)
    for code in sorted(account.holds):
        booth = booths[code]
        if booth.status != "held" or booth.holder != account.exhibitor_id:
            continue
        events.append(HoldReleased(**_ids(booth), exhibitor_id=account.exhibitor_id, reason=reason))
        zone = booth.listed().zone_code
        offers = _freed(booth, queues[zone], market, now)
        for offer in offers:
            queues[zone] = waitlist.evolve(queues[zone], offer)
        events += offers
    for contract_id, booth_code in sorted(account.contracts.items()):
        if booth_code is None:
            continue
        booth = booths[booth_code]
        if booth.contract is None or booth.contract.contract_id != contract_id:
            continue
        assert booth.status in CONTRACTED
        events.append(
            ContractFlagged(
                **_ids(booth),
                contract_id=contract_id,
                exhibitor_id=account.exhibitor_id,
                reason=reason,
            )
        )
    return events
