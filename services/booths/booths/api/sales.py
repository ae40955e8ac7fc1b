"""The sales flow over HTTP: hold, release, reserve, pay, confirm, cancel, move, offers,
waitlists and online packages. Each route names the streams it touches and the decision."""

from __future__ import annotations

import uuid
from typing import Any

from fairline_events.decider import Fold, handle
from fairline_events.store import EventStore
from fastapi import APIRouter
from pydantic import BaseModel

from ..domain import online, sales, streams, waitlist
from ..domain.booth import Booth
from ..domain.commands import (
    CancelContract,
    ClaimOffer,
    ConfirmBooth,
    DeclineOffer,
    HoldBooth,
    JoinWaitlist,
    LeaveWaitlist,
    MoveContract,
    OrderOnlineBooth,
    RecordOnlinePayment,
    RecordPayment,
    ReleaseHold,
    ReserveBooth,
)
from ..domain.values import Code, EditionCode, Identifier, PositiveFen, Text
from ..handling import (
    ACCOUNT,
    BOOTH,
    ONLINE,
    WAITLIST,
    booths,
    decide_across,
    load,
    load_market,
    occupant_of,
    on_occupied,
    same_occupant,
)
from .common import Body as Input
from .common import (
    BoothView,
    Correlation,
    Sales,
    SalesOrExhibitor,
    Store,
    acting_as,
    booth_view,
    context,
    now,
)

router = APIRouter(tags=["sales"])


class HoldRequest(Input):
    exhibitor_id: Identifier


class Reason(Input):
    reason: Text


class Reservation(Input):
    contract_id: Identifier | None = None
    """Send your own id to make a retried request safe; one is made up otherwise."""


class Payment(Input):
    amount_fen: PositiveFen
    reference: Identifier
    """The bank or cashier reference; the same reference twice is recorded once."""


class Move(Input):
    to_booth_code: Code
    reason: Text


class WaitlistRequest(Input):
    exhibitor_id: Identifier


class WaitlistView(BaseModel):
    edition_code: str
    zone_code: str
    line: list[str]


class OnlineOrderRequest(Input):
    exhibitor_id: Identifier
    tier: Code


class OnlineOrderView(BaseModel):
    order_id: str
    edition_code: str
    exhibitor_id: str
    tier: str
    price_fen: int
    rule_version: int
    paid_fen: int


def _booth(edition_code: str, booth_code: str) -> str:
    return streams.booth_stream(edition_code, booth_code)


async def _on_occupied(
    store: EventStore,
    edition_code: str,
    booth_code: str,
    decide: Any,
    ctx: Any,
    command: str,
    *,
    waitlist: bool = True,
) -> Booth:
    return await on_occupied(
        store, edition_code, booth_code, decide, ctx, command, now, waitlist=waitlist
    )


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/hold",
    summary="hold a booth for an approved exhibitor (expires after the edition's hold time)",
)
async def hold(
    edition_code: EditionCode,
    booth_code: Code,
    body: HoldRequest,
    who: SalesOrExhibitor,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = HoldBooth(
        edition_code=edition_code,
        booth_code=booth_code,
        exhibitor_id=body.exhibitor_id,
        by=acting_as(who),
    )
    [booth, _], _ = await decide_across(
        store,
        [
            (_booth(edition_code, booth_code), BOOTH),
            (streams.account_stream(body.exhibitor_id), ACCOUNT),
        ],
        lambda b, a, market: sales.hold(command, b, a, market, now()),
        context(who, correlation),
        command="HoldBooth",
        market=edition_code,
    )
    return booth_view(booth)


@router.post("/editions/{edition_code}/booths/{booth_code}/release", summary="release a hold")
async def release(
    edition_code: EditionCode,
    booth_code: Code,
    body: Reason,
    who: SalesOrExhibitor,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = ReleaseHold(
        edition_code=edition_code, booth_code=booth_code, reason=body.reason, by=acting_as(who)
    )
    booth = await _on_occupied(
        store,
        edition_code,
        booth_code,
        lambda *state: sales.release(command, *state),
        context(who, correlation, body.reason),
        "ReleaseHold",
    )
    return booth_view(booth)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/reserve",
    summary="reserve the held booth under a contract at the held price",
)
async def reserve(
    edition_code: EditionCode,
    booth_code: Code,
    body: Reservation,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = ReserveBooth(
        edition_code=edition_code,
        booth_code=booth_code,
        contract_id=body.contract_id or f"c-{uuid.uuid4().hex[:12]}",
    )
    booth = await _on_occupied(
        store,
        edition_code,
        booth_code,
        lambda b, a, market, at: sales.reserve(command, b, a, market, at),
        context(who, correlation),
        "ReserveBooth",
        waitlist=False,
    )
    return booth_view(booth)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/payments",
    summary="record a payment on the booth's contract (deposit paid, paid in full)",
)
async def pay(
    edition_code: EditionCode,
    booth_code: Code,
    body: Payment,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = RecordPayment(edition_code=edition_code, booth_code=booth_code, **body.model_dump())
    ctx = context(who, correlation)
    state, _ = await handle(store, booths, _booth(edition_code, booth_code), command, ctx)
    return booth_view(state)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/confirm",
    summary="confirm a booth paid in full",
)
async def confirm(
    edition_code: EditionCode,
    booth_code: Code,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = ConfirmBooth(edition_code=edition_code, booth_code=booth_code)
    ctx = context(who, correlation)
    state, _ = await handle(store, booths, _booth(edition_code, booth_code), command, ctx)
    return booth_view(state)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/cancel",
    summary="cancel the contract with the fee its terms set; the booth is released",
)
async def cancel(
    edition_code: EditionCode,
    booth_code: Code,
    body: Reason,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = CancelContract(edition_code=edition_code, booth_code=booth_code, reason=body.reason)
    booth = await _on_occupied(
        store,
        edition_code,
        booth_code,
        lambda *state: sales.cancel(command, *state),
        context(who, correlation, body.reason),
        "CancelContract",
    )
    return booth_view(booth)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/move",
    summary="move the exhibitor's contract to another free booth (re-priced, payments kept)",
)
async def move(
    edition_code: EditionCode,
    booth_code: Code,
    body: Move,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    market = await load_market(store, edition_code)
    occupant, zone = await occupant_of(store, edition_code, booth_code)
    command = MoveContract(edition_code=edition_code, booth_code=booth_code, **body.model_dump())

    def decision(source: Booth, target: Booth, account: Any, line: Any) -> Any:
        same_occupant(source, occupant)
        return sales.move(command, source, target, account, line, market, now())

    [_, target, _, _], _ = await decide_across(
        store,
        [
            (_booth(edition_code, booth_code), BOOTH),
            (_booth(edition_code, body.to_booth_code), BOOTH),
            (streams.account_stream(occupant), ACCOUNT),
            (streams.waitlist_stream(edition_code, zone), WAITLIST),
        ],
        decision,
        context(who, correlation, body.reason),
        command="MoveContract",
    )
    return booth_view(target)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/claim",
    summary="claim a booth offered from the waitlist: it becomes a hold",
)
async def claim(
    edition_code: EditionCode,
    booth_code: Code,
    who: SalesOrExhibitor,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = ClaimOffer(edition_code=edition_code, booth_code=booth_code, by=acting_as(who))
    booth = await _on_occupied(
        store,
        edition_code,
        booth_code,
        lambda b, a, market, at: sales.claim(command, b, a, market, at),
        context(who, correlation),
        "ClaimOffer",
        waitlist=False,
    )
    return booth_view(booth)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/decline",
    summary="decline a booth offered from the waitlist: the next in line gets it",
)
async def decline(
    edition_code: EditionCode,
    booth_code: Code,
    who: SalesOrExhibitor,
    store: Store,
    correlation: Correlation = None,
) -> BoothView:
    command = DeclineOffer(edition_code=edition_code, booth_code=booth_code, by=acting_as(who))
    booth = await _on_occupied(
        store,
        edition_code,
        booth_code,
        lambda *state: sales.decline(command, *state),
        context(who, correlation),
        "DeclineOffer",
    )
    return booth_view(booth)


# --- waitlists ----------------------------------------------------------------------------


async def _waitlist(
    store: EventStore,
    command: JoinWaitlist | LeaveWaitlist,
    who: Any,
    correlation: str | None,
) -> WaitlistView:
    market = await load_market(store, command.edition_code)
    [line, _], _ = await decide_across(
        store,
        [
            (streams.waitlist_stream(command.edition_code, command.zone_code), WAITLIST),
            (streams.account_stream(command.exhibitor_id), ACCOUNT),
        ],
        lambda w, a: waitlist.decide(command, w, a, market.catalogue),
        context(who, correlation),
        command=type(command).__name__,
    )
    return WaitlistView(edition_code=line.edition_code, zone_code=line.zone_code, line=line.line)


@router.post(
    "/editions/{edition_code}/zones/{zone_code}/waitlist",
    summary="join the zone's waitlist: released booths are offered in turn",
)
async def join_waitlist(
    edition_code: EditionCode,
    zone_code: Code,
    body: WaitlistRequest,
    who: SalesOrExhibitor,
    store: Store,
    correlation: Correlation = None,
) -> WaitlistView:
    command = JoinWaitlist(
        edition_code=edition_code,
        zone_code=zone_code,
        exhibitor_id=body.exhibitor_id,
        by=acting_as(who),
    )
    return await _waitlist(store, command, who, correlation)


@router.delete(
    "/editions/{edition_code}/zones/{zone_code}/waitlist/{exhibitor_id}",
    summary="leave the zone's waitlist",
)
async def leave_waitlist(
    edition_code: EditionCode,
    zone_code: Code,
    exhibitor_id: Identifier,
    who: SalesOrExhibitor,
    store: Store,
    correlation: Correlation = None,
) -> WaitlistView:
    command = LeaveWaitlist(
        edition_code=edition_code,
        zone_code=zone_code,
        exhibitor_id=exhibitor_id,
        by=acting_as(who),
    )
    return await _waitlist(store, command, who, correlation)


@router.get(
    "/editions/{edition_code}/zones/{zone_code}/waitlist", summary="the line, first in line first"
)
async def get_waitlist(
    edition_code: EditionCode, zone_code: Code, who: Sales, store: Store
) -> WaitlistView:
    market = await load_market(store, edition_code)
    market.catalogue.zone(zone_code)
    line: waitlist.Waitlist = await load(
        store, WAITLIST, streams.waitlist_stream(edition_code, zone_code)
    )
    return WaitlistView(edition_code=edition_code, zone_code=zone_code, line=list(line.line))


# --- online booths ------------------------------------------------------------------------


def _order_view(order: online.OnlineOrder) -> OnlineOrderView:
    assert order.ordered is not None
    o = order.ordered
    return OnlineOrderView(
        order_id=order.order_id,
        edition_code=order.edition_code,
        exhibitor_id=o.exhibitor_id,
        tier=o.tier,
        price_fen=o.price_fen,
        rule_version=o.rule_version,
        paid_fen=order.paid_fen,
    )


@router.post(
    "/editions/{edition_code}/online-booths",
    status_code=201,
    summary="order an online booth package (unbounded)",
)
async def order_online(
    edition_code: EditionCode,
    body: OnlineOrderRequest,
    who: SalesOrExhibitor,
    store: Store,
    correlation: Correlation = None,
) -> OnlineOrderView:
    market = await load_market(store, edition_code)
    order_id = f"o-{uuid.uuid4().hex[:12]}"
    command = OrderOnlineBooth(
        edition_code=edition_code,
        order_id=order_id,
        exhibitor_id=body.exhibitor_id,
        tier=body.tier,
        by=acting_as(who),
    )
    [order, _], _ = await decide_across(
        store,
        [
            (streams.online_stream(edition_code, order_id), ONLINE),
            (streams.account_stream(body.exhibitor_id), ACCOUNT),
        ],
        lambda o, a: online.order(command, o, a, market, now()),
        context(who, correlation),
        command="OrderOnlineBooth",
    )
    return _order_view(order)


@router.post(
    "/editions/{edition_code}/online-booths/{order_id}/payments",
    summary="record a payment for an online booth",
)
async def pay_online(
    edition_code: EditionCode,
    order_id: Identifier,
    body: Payment,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> OnlineOrderView:
    command = RecordOnlinePayment(edition_code=edition_code, order_id=order_id, **body.model_dump())
    sources: list[tuple[str, Fold[Any]]] = [(streams.online_stream(edition_code, order_id), ONLINE)]
    [order], _ = await decide_across(
        store,
        sources,
        lambda o: online.pay(command, o),
        context(who, correlation),
        command="RecordOnlinePayment",
    )
    return _order_view(order)
