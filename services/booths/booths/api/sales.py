"""The sales flow over HTTP: hold, release, reserve, pay, confirm, cancel, move, offers,
waitlists and online packages. Each route builds its command and calls its handler."""

from __future__ import annotations

from fairline_events.dependencies import Body, Store, new_id
from fairline_events.transact import Outcome
from fastapi import APIRouter
from pydantic import BaseModel

from ..domain.booth import Booth, booth_stream
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
from ..domain.online import OnlineOrder, online_stream
from ..domain.values import Code, EditionCode, Identifier, PositiveFen, Text
from ..domain.waitlist import WAITLIST, Waitlist, waitlist_stream
from ..handlers import (
    cancel_contract,
    change_waitlist,
    claim_offer,
    confirm_booth,
    decline_offer,
    hold_booth,
    move_contract,
    order_online_booth,
    record_online_payment,
    record_payment,
    release_hold,
    reserve_booth,
)
from .common import (
    AsSales,
    AsSalesOrExhibitor,
    BoothView,
    Sales,
    acting_as,
    booth_view,
    current,
    market_now,
)

router = APIRouter(tags=["sales"])


class HoldRequest(Body):
    exhibitor_id: Identifier


class Reason(Body):
    reason: Text


class Reservation(Body):
    contract_id: Identifier | None = None
    """Send your own id to make a retried request safe; one is made up otherwise."""


class Payment(Body):
    amount_fen: PositiveFen
    reference: Identifier
    """The bank or cashier reference; the same reference twice is recorded once."""


class Move(Body):
    to_booth_code: Code
    reason: Text


class WaitlistRequest(Body):
    exhibitor_id: Identifier


class WaitlistView(BaseModel):
    edition_code: str
    zone_code: str
    line: list[str]


class OnlineOrderRequest(Body):
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


def _booth(outcome: Outcome, edition_code: str, booth_code: str) -> BoothView:
    return booth_view(outcome.state(booth_stream(edition_code, booth_code), Booth))


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/hold",
    summary="hold a booth for an approved exhibitor (expires after the edition's hold time)",
)
async def hold(
    edition_code: EditionCode,
    booth_code: Code,
    body: HoldRequest,
    acting: AsSalesOrExhibitor,
) -> BoothView:
    command = HoldBooth(
        edition_code=edition_code,
        booth_code=booth_code,
        exhibitor_id=body.exhibitor_id,
        by=acting_as(acting.who),
    )
    return _booth(await hold_booth(acting.store, command, acting.context), edition_code, booth_code)


@router.post("/editions/{edition_code}/booths/{booth_code}/release", summary="release a hold")
async def release(
    edition_code: EditionCode,
    booth_code: Code,
    body: Reason,
    acting: AsSalesOrExhibitor,
) -> BoothView:
    command = ReleaseHold(
        edition_code=edition_code,
        booth_code=booth_code,
        reason=body.reason,
        by=acting_as(acting.who),
    )
    outcome = await release_hold(acting.store, command, acting.context.because(body.reason))
    return _booth(outcome, edition_code, booth_code)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/reserve",
    summary="reserve the held booth under a contract at the held price",
)
async def reserve(
    edition_code: EditionCode,
    booth_code: Code,
    body: Reservation,
    acting: AsSales,
) -> BoothView:
    command = ReserveBooth(
        edition_code=edition_code,
        booth_code=booth_code,
        contract_id=body.contract_id or new_id("c"),
    )
    return _booth(
        await reserve_booth(acting.store, command, acting.context), edition_code, booth_code
    )


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/payments",
    summary="record a payment on the booth's contract (deposit paid, paid in full)",
)
async def pay(
    edition_code: EditionCode,
    booth_code: Code,
    body: Payment,
    acting: AsSales,
) -> BoothView:
    command = RecordPayment(edition_code=edition_code, booth_code=booth_code, **body.model_dump())
    return _booth(
        await record_payment(acting.store, command, acting.context), edition_code, booth_code
    )


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/confirm",
    summary="confirm a booth paid in full",
)
async def confirm(
    edition_code: EditionCode,
    booth_code: Code,
    acting: AsSales,
) -> BoothView:
    command = ConfirmBooth(edition_code=edition_code, booth_code=booth_code)
    return _booth(
        await confirm_booth(acting.store, command, acting.context), edition_code, booth_code
    )


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/cancel",
    summary="cancel the contract with the fee its terms set; the booth is released",
)
async def cancel(
    edition_code: EditionCode,
    booth_code: Code,
    body: Reason,
    acting: AsSales,
) -> BoothView:
    command = CancelContract(edition_code=edition_code, booth_code=booth_code, reason=body.reason)
    outcome = await cancel_contract(acting.store, command, acting.context.because(body.reason))
    return _booth(outcome, edition_code, booth_code)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/move",
    summary="move the exhibitor's contract to another free booth (re-priced, payments kept)",
)
async def move(
    edition_code: EditionCode,
    booth_code: Code,
    body: Move,
    acting: AsSales,
) -> BoothView:
    command = MoveContract(edition_code=edition_code, booth_code=booth_code, **body.model_dump())
    outcome = await move_contract(acting.store, command, acting.context.because(body.reason))
    return _booth(outcome, edition_code, body.to_booth_code)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/claim",
    summary="claim a booth offered from the waitlist: it becomes a hold",
)
async def claim(
    edition_code: EditionCode,
    booth_code: Code,
    acting: AsSalesOrExhibitor,
) -> BoothView:
    command = ClaimOffer(edition_code=edition_code, booth_code=booth_code, by=acting_as(acting.who))
    return _booth(
        await claim_offer(acting.store, command, acting.context), edition_code, booth_code
    )


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/decline",
    summary="decline a booth offered from the waitlist: the next in line gets it",
)
async def decline(
    edition_code: EditionCode,
    booth_code: Code,
    acting: AsSalesOrExhibitor,
) -> BoothView:
    command = DeclineOffer(
        edition_code=edition_code, booth_code=booth_code, by=acting_as(acting.who)
    )
    return _booth(
        await decline_offer(acting.store, command, acting.context), edition_code, booth_code
    )


# --- waitlists ----------------------------------------------------------------------------


def _line(line: Waitlist) -> WaitlistView:
    return WaitlistView(edition_code=line.edition_code, zone_code=line.zone_code, line=line.line)


@router.post(
    "/editions/{edition_code}/zones/{zone_code}/waitlist",
    summary="join the zone's waitlist: released booths are offered in turn",
)
async def join_waitlist(
    edition_code: EditionCode,
    zone_code: Code,
    body: WaitlistRequest,
    acting: AsSalesOrExhibitor,
) -> WaitlistView:
    command = JoinWaitlist(
        edition_code=edition_code,
        zone_code=zone_code,
        exhibitor_id=body.exhibitor_id,
        by=acting_as(acting.who),
    )
    outcome = await change_waitlist(acting.store, command, acting.context)
    return _line(outcome.state(waitlist_stream(edition_code, zone_code), Waitlist))


@router.delete(
    "/editions/{edition_code}/zones/{zone_code}/waitlist/{exhibitor_id}",
    summary="leave the zone's waitlist",
)
async def leave_waitlist(
    edition_code: EditionCode,
    zone_code: Code,
    exhibitor_id: Identifier,
    acting: AsSalesOrExhibitor,
) -> WaitlistView:
    command = LeaveWaitlist(
        edition_code=edition_code,
        zone_code=zone_code,
        exhibitor_id=exhibitor_id,
        by=acting_as(acting.who),
    )
    outcome = await change_waitlist(acting.store, command, acting.context)
    return _line(outcome.state(waitlist_stream(edition_code, zone_code), Waitlist))


@router.get(
    "/editions/{edition_code}/zones/{zone_code}/waitlist", summary="the line, first in line first"
)
async def get_waitlist(
    edition_code: EditionCode, zone_code: Code, who: Sales, store: Store
) -> WaitlistView:
    market = await market_now(store, edition_code)
    market.catalogue.zone(zone_code)
    return _line(await current(store, WAITLIST, waitlist_stream(edition_code, zone_code)))


# --- online booths ------------------------------------------------------------------------


def _order_view(outcome: Outcome, edition_code: str, order_id: str) -> OnlineOrderView:
    order = outcome.state(online_stream(edition_code, order_id), OnlineOrder)
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
    acting: AsSalesOrExhibitor,
) -> OnlineOrderView:
    command = OrderOnlineBooth(
        edition_code=edition_code,
        order_id=new_id("o"),
        exhibitor_id=body.exhibitor_id,
        tier=body.tier,
        by=acting_as(acting.who),
    )
    outcome = await order_online_booth(acting.store, command, acting.context)
    return _order_view(outcome, edition_code, command.order_id)


@router.post(
    "/editions/{edition_code}/online-booths/{order_id}/payments",
    summary="record a payment for an online booth",
)
async def pay_online(
    edition_code: EditionCode,
    order_id: Identifier,
    body: Payment,
    acting: AsSales,
) -> OnlineOrderView:
    command = RecordOnlinePayment(edition_code=edition_code, order_id=order_id, **body.model_dump())
    outcome = await record_online_payment(acting.store, command, acting.context)
    return _order_view(outcome, edition_code, order_id)
