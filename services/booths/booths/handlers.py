"""Every booths command, one handler each: read the streams the rule needs, call the rule.

A handler is a plan run inside one transaction by `fairline_events.transact`: the streams it
writes are locked, then read (`streams(...)`, `streams.all(...)`); streams it only reads are
peeked. A stream found from another's state (a booth's holder's account, the booth's zone's
waitlist) is simply read after it: if that state changes before the locks are all held, the
whole plan runs again on fresh state, so the caller gets the rule's own answer, never a bare
conflict. The rule is a pure function in `domain/`, called with named arguments, and returns
events that each name their stream (`BoothsEvent.stream_id()`).

Routes, the deadline jobs and the admissions policy all call these same handlers.
"""

from __future__ import annotations

from typing import Any

from fairline_events.decider import Fold
from fairline_events.registry import DomainEvent
from fairline_events.transact import Streams, command_handler

from .domain import booth as booth_rules
from .domain import catalogue, construction, discounts, online, pricing, sales, waitlist
from .domain.account import ACCOUNT, NOBODY, Account, account_stream
from .domain.account import decide as admit
from .domain.booth import BOOTH, Booth, booth_stream
from .domain.catalogue import CATALOGUE, Catalogue, edition_stream
from .domain.commands import (
    AddBooth,
    AdmitExhibitor,
    ApproveDesign,
    CancelContract,
    CatalogueCommand,
    ClaimOffer,
    ConfirmBooth,
    DeclineOffer,
    ExpireHold,
    GrantSponsorDiscount,
    HoldBooth,
    JoinWaitlist,
    LapseOffer,
    LeaveWaitlist,
    MoveContract,
    OrderOnlineBooth,
    PublishPriceList,
    RecordOnlinePayment,
    RecordPayment,
    ReleaseHold,
    ReserveBooth,
    ReturnDesign,
    SubmitDesign,
    WithdrawExhibitor,
)
from .domain.construction import DESIGN, design_stream
from .domain.discounts import SPONSOR_DISCOUNT, sponsor_discount_stream
from .domain.online import ONLINE, online_stream
from .domain.pricing import PRICES, PriceList, prices_stream
from .domain.sales import Market
from .domain.waitlist import WAITLIST, Waitlist, waitlist_stream

# --- the edition's market: what every sale is decided against ------------------------------


def market_streams(edition_code: str) -> list[tuple[Fold[Any], str]]:
    """The edition's catalogue and price lists: read, never locked, by every sale. Passed as
    `also=` to `streams.all`, they are read in the same query as the streams locked."""
    return [(CATALOGUE, edition_stream(edition_code)), (PRICES, prices_stream(edition_code))]


async def read_market(streams: Streams, edition_code: str) -> Market:
    """The edition's market (no query when `market_streams` came with the locked streams);
    `edition_not_found` when the edition never opened sales."""
    found, prices = await streams.peek_all(*market_streams(edition_code))
    catalogue.require_open(found)
    return Market(catalogue=found, prices=prices)


# --- the catalogue and the price lists -----------------------------------------------------


@command_handler
async def change_catalogue(command: CatalogueCommand, streams: Streams) -> list[DomainEvent]:
    """Open the edition, change its terms, add venues, halls, zones, online packages."""
    state = await streams(CATALOGUE, edition_stream(command.edition_code))
    return catalogue.decide(command, state=state)


@command_handler
async def publish_price_list(command: PublishPriceList, streams: Streams) -> list[DomainEvent]:
    prices: PriceList = await streams(PRICES, prices_stream(command.edition_code))
    await read_market(streams, command.edition_code)  # prices only for an open edition
    return pricing.decide(command, state=prices)


# --- one booth on its own: listing, payments, confirmation --------------------------------


@command_handler
async def add_booth(command: AddBooth, streams: Streams) -> list[DomainEvent]:
    found: Catalogue = await streams.peek(CATALOGUE, edition_stream(command.edition_code))
    booth = await streams(BOOTH, booth_stream(command.edition_code, command.booth_code))
    return booth_rules.add(command, booth=booth, catalogue=found)


@command_handler
async def record_payment(command: RecordPayment, streams: Streams) -> list[DomainEvent]:
    booth = await streams(BOOTH, booth_stream(command.edition_code, command.booth_code))
    return booth_rules.decide(command, booth=booth)


@command_handler
async def confirm_booth(command: ConfirmBooth, streams: Streams) -> list[DomainEvent]:
    booth = await streams(BOOTH, booth_stream(command.edition_code, command.booth_code))
    return booth_rules.decide(command, booth=booth)


# --- the sale: a booth and its holder's account, and the zone's waitlist when freed ----------


@command_handler
async def hold_booth(command: HoldBooth, streams: Streams) -> list[DomainEvent]:
    wanted = (
        (BOOTH, booth_stream(command.edition_code, command.booth_code)),
        (ACCOUNT, account_stream(command.exhibitor_id)),
    )
    seen = streams.known(BOOTH, wanted[0][1])
    if seen is not None and not sales.may_hold(seen, command.exhibitor_id):
        # A rush on a booth this process saw taken: read it all unlocked first, and when the
        # rule refuses on that committed state, answer at once instead of queueing behind
        # the lock's holders. When it does not, the locks below read it all again.
        booth, account, *_ = await streams.peek_all(*wanted, *market_streams(command.edition_code))
        market = await read_market(streams, command.edition_code)
        sales.hold(command, booth=booth, account=account, market=market, now=streams.now)
    booth, account, *_ = await streams.all(*wanted, also=market_streams(command.edition_code))
    market = await read_market(streams, command.edition_code)
    return sales.hold(command, booth=booth, account=account, market=market, now=streams.now)


async def _held(
    streams: Streams, command: ReserveBooth | ClaimOffer
) -> tuple[Booth, Account, Market]:
    """The booth, then its holder's account: found from the booth, locked in the same attempt
    (a holder that changed meanwhile is read afresh on the retry, never refused)."""
    booth, *_ = await streams.all(
        (BOOTH, booth_stream(command.edition_code, command.booth_code)),
        also=market_streams(command.edition_code),
    )
    account = await streams(ACCOUNT, account_stream(booth.holder or NOBODY))
    return booth, account, await read_market(streams, command.edition_code)


@command_handler
async def reserve_booth(command: ReserveBooth, streams: Streams) -> list[DomainEvent]:
    booth, account, market = await _held(streams, command)
    return sales.reserve(command, booth=booth, account=account, market=market, now=streams.now)


@command_handler
async def claim_offer(command: ClaimOffer, streams: Streams) -> list[DomainEvent]:
    booth, account, market = await _held(streams, command)
    return sales.claim(command, booth=booth, account=account, market=market, now=streams.now)


Freeing = ReleaseHold | ExpireHold | CancelContract | DeclineOffer


async def _freeing(streams: Streams, command: Freeing) -> tuple[Booth, Account, Waitlist, Market]:
    """The booth, its holder's account and its zone's waitlist (offered the booth when it is
    freed): the last two found from the booth, and locked in the same attempt."""
    booth, *_ = await streams.all(
        (BOOTH, booth_stream(command.edition_code, command.booth_code)),
        also=market_streams(command.edition_code),
    )
    account, line = await streams.all(
        (ACCOUNT, account_stream(booth.holder or NOBODY)),
        (WAITLIST, waitlist_stream(command.edition_code, booth.listed().zone_code)),
    )
    return booth, account, line, await read_market(streams, command.edition_code)


@command_handler
async def release_hold(command: ReleaseHold, streams: Streams) -> list[DomainEvent]:
    booth, account, line, market = await _freeing(streams, command)
    return sales.release(
        command, booth=booth, account=account, line=line, market=market, now=streams.now
    )


@command_handler
async def expire_hold(command: ExpireHold, streams: Streams) -> list[DomainEvent]:
    booth, account, line, market = await _freeing(streams, command)
    return sales.expire(
        command, booth=booth, account=account, line=line, market=market, now=streams.now
    )


@command_handler
async def cancel_contract(command: CancelContract, streams: Streams) -> list[DomainEvent]:
    booth, account, line, market = await _freeing(streams, command)
    return sales.cancel(
        command, booth=booth, account=account, line=line, market=market, now=streams.now
    )


@command_handler
async def decline_offer(command: DeclineOffer, streams: Streams) -> list[DomainEvent]:
    booth, account, line, market = await _freeing(streams, command)
    return sales.decline(
        command, booth=booth, account=account, line=line, market=market, now=streams.now
    )


@command_handler
async def lapse_offer(command: LapseOffer, streams: Streams) -> list[DomainEvent]:
    """The claim window closed: only the booth and its zone's line change."""
    booth, *_ = await streams.all(
        (BOOTH, booth_stream(command.edition_code, command.booth_code)),
        also=market_streams(command.edition_code),
    )
    line = await streams(WAITLIST, waitlist_stream(command.edition_code, booth.listed().zone_code))
    market = await read_market(streams, command.edition_code)
    return sales.lapse(command, booth=booth, line=line, market=market, now=streams.now)


@command_handler
async def move_contract(command: MoveContract, streams: Streams) -> list[DomainEvent]:
    source, target, *_ = await streams.all(
        (BOOTH, booth_stream(command.edition_code, command.booth_code)),
        (BOOTH, booth_stream(command.edition_code, command.to_booth_code)),
        also=market_streams(command.edition_code),
    )
    market = await read_market(streams, command.edition_code)
    account, line = await streams.all(
        (ACCOUNT, account_stream(source.holder or NOBODY)),
        (WAITLIST, waitlist_stream(command.edition_code, source.listed().zone_code)),
    )
    return sales.move(
        command,
        source=source,
        target=target,
        account=account,
        line=line,
        market=market,
        now=streams.now,
    )


# --- waitlists ----------------------------------------------------------------------------


@command_handler
async def change_waitlist(
    command: JoinWaitlist | LeaveWaitlist, streams: Streams
) -> list[DomainEvent]:
    """Join or leave a zone's waitlist."""
    line, account, *_ = await streams.all(
        (WAITLIST, waitlist_stream(command.edition_code, command.zone_code)),
        (ACCOUNT, account_stream(command.exhibitor_id)),
        also=market_streams(command.edition_code),
    )
    market = await read_market(streams, command.edition_code)
    return waitlist.decide(command, waitlist=line, account=account, catalogue=market.catalogue)


# --- online booths ------------------------------------------------------------------------


@command_handler
async def order_online_booth(command: OrderOnlineBooth, streams: Streams) -> list[DomainEvent]:
    order, account, *_ = await streams.all(
        (ONLINE, online_stream(command.edition_code, command.order_id)),
        (ACCOUNT, account_stream(command.exhibitor_id)),
        also=market_streams(command.edition_code),
    )
    market = await read_market(streams, command.edition_code)
    return online.order(command, state=order, account=account, market=market, now=streams.now)


@command_handler
async def record_online_payment(
    command: RecordOnlinePayment, streams: Streams
) -> list[DomainEvent]:
    order = await streams(ONLINE, online_stream(command.edition_code, command.order_id))
    return online.pay(command, state=order)


# --- construction review ------------------------------------------------------------------


@command_handler
async def review_design(
    command: SubmitDesign | ApproveDesign | ReturnDesign, streams: Streams
) -> list[DomainEvent]:
    """Submit a design, approve or return it. The booth is locked with the design, so its
    contract cannot end while a design is decided on it."""
    design, booth, *_ = await streams.all(
        (DESIGN, design_stream(command.edition_code, command.booth_code)),
        (BOOTH, booth_stream(command.edition_code, command.booth_code)),
        also=market_streams(command.edition_code),
    )
    market = await read_market(streams, command.edition_code)
    # who submits is named; a reviewer acts on the booth's holder's design
    exhibitor = command.exhibitor_id if isinstance(command, SubmitDesign) else booth.holder
    account = await streams.peek(ACCOUNT, account_stream(exhibitor or NOBODY))
    return construction.decide(
        command,
        design=design,
        booth=booth,
        account=account,
        catalogue=market.catalogue,
        now=streams.now,
    )


# --- admission and withdrawal (issued by the admissions policy) ----------------------------


@command_handler
async def admit_exhibitor(command: AdmitExhibitor, streams: Streams) -> list[DomainEvent]:
    account = await streams(ACCOUNT, account_stream(command.exhibitor_id))
    return admit(command, account=account)


@command_handler
async def withdraw_exhibitor(command: WithdrawExhibitor, streams: Streams) -> list[DomainEvent]:
    """Close the account, release its holds and flag its contracts, in one append: the
    booths and their zones' waitlists are found from the account, then the booths."""
    account = await streams(ACCOUNT, account_stream(command.exhibitor_id))
    if account.status != "admitted" or account.edition_code is None:
        return []
    edition = account.edition_code
    codes = sorted(set(account.holds) | {code for code in account.contracts.values() if code})
    found: list[Booth] = await streams.all(*((BOOTH, booth_stream(edition, c)) for c in codes))
    zones = sorted({booth.listed().zone_code for booth in found})
    lines = await streams.all(*((WAITLIST, waitlist_stream(edition, zone)) for zone in zones))
    market = (
        await read_market(streams, edition)
        if codes
        else Market(Catalogue(edition_code=edition), PriceList(edition_code=edition))
    )
    return sales.withdraw(
        command,
        account=account,
        booths={booth.booth_code: booth for booth in found},
        lines={line.zone_code: line for line in lines},
        market=market,
        now=streams.now,
    )


# --- a sponsor's booth discount (issued by the sponsorship policy) -------------------------


@command_handler
async def grant_sponsor_discount(
    command: GrantSponsorDiscount, streams: Streams
) -> list[DomainEvent]:
    """The request's answer stream and the company's account (locked: a contract opened,
    cancelled or moved meanwhile queues behind it), then the booths of its contracts."""
    request, account = await streams.all(
        (SPONSOR_DISCOUNT, sponsor_discount_stream(command.package_id, command.benefit_no)),
        (ACCOUNT, account_stream(command.exhibitor_id)),
    )
    codes = sorted({code for code in account.contracts.values() if code})
    edition = account.edition_code or command.edition_code
    found: list[Booth] = await streams.all(*((BOOTH, booth_stream(edition, c)) for c in codes))
    return discounts.grant(
        command,
        request=request,
        account=account,
        booths={booth.booth_code: booth for booth in found},
    )
