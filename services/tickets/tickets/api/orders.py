"""Orders, payments through the provider port, refunds, and the tickets with their QR code."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fairline_events.auth import Principal
from fairline_events.context import CommandContext
from fairline_events.dependencies import Body, Pool, Store, new_id
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field

from ..domain.commands import CancelOrder, PlaceOrder, RecordPayment, RefundOrder
from ..domain.order import ORDER, Order, order_stream, refundable
from ..domain.qr import payload_of, sign_code
from ..domain.signing import SIGNING_KEYS, signing_keys_stream
from ..domain.ticket import TICKET, Ticket, ticket_stream
from ..domain.values import MAX_POSITIONS, EditionCode, Identifier, ProductCode, Text
from ..handlers import cancel_order, place_order_spread, record_payment, refund_order
from ..payments import DevPay, PaymentProvider
from ..projections import views
from .common import AsBoxOffice, AsBuyer, Buyer, Providers, is_box_office

router = APIRouter(tags=["orders"])


class OrderIn(Body):
    product_code: ProductCode
    visitor_ids: list[Identifier] = Field(min_length=1, max_length=MAX_POSITIONS)
    day: date | None = None
    """For a day pass: the day chosen among the product's days."""
    order_id: Identifier | None = None
    """Send your own id to make a retried request safe: the same id is never placed twice."""


class TicketView(BaseModel):
    ticket_id: str
    status: str
    visitor_id: str
    visitor_class: str
    product_code: str
    days: list[date]
    venues: list[str]
    reentry: bool
    qr: str | None
    """Signed code for the gates; none once revoked."""


class CheckoutView(BaseModel):
    provider: str
    checkout_url: str
    amount: int


class OrderView(BaseModel):
    order_id: str
    status: str
    edition_code: str
    product_code: str
    total: int
    """In fen."""
    currency: str = "CNY"
    expires_at: datetime | None
    visitor_ids: list[str]
    checkout: CheckoutView | None
    tickets: list[TicketView]


async def ticket_views(store: EventStore, pool: Pool, order: Order) -> list[TicketView]:
    if not order.ticket_ids:
        return []
    keys_stream = signing_keys_stream(order.edition_code)
    keys, _ = await store.load(keys_stream, SIGNING_KEYS.evolve, SIGNING_KEYS.initial(keys_stream))
    private = await pool.fetchval(
        "SELECT private_key FROM signing_keys WHERE key_id = $1", keys.active
    )
    views = []
    for ticket_id in order.ticket_ids:
        stream = ticket_stream(ticket_id)
        ticket, _ = await store.load(stream, TICKET.evolve, TICKET.initial(stream))
        views.append(ticket_view(ticket, keys.active, private))
    return views


def ticket_view(ticket: Ticket, key_id: str | None, private: bytes | None) -> TicketView:
    qr = None
    if ticket.status == "issued" and key_id is not None and private is not None:
        payload = payload_of(
            ticket_id=ticket.ticket_id,
            edition_code=ticket.edition_code,
            days=ticket.days,
            venues=ticket.venues,
            visitor_class=ticket.visitor_class,
            reentry=ticket.reentry,
        )
        qr = sign_code(bytes(private), key_id, payload)
    return TicketView(
        ticket_id=ticket.ticket_id,
        status=ticket.status,
        visitor_id=ticket.visitor_id,
        visitor_class=ticket.visitor_class,
        product_code=ticket.product_code,
        days=list(ticket.days),
        venues=list(ticket.venues),
        reentry=ticket.reentry,
        qr=qr,
    )


async def order_view(
    store: EventStore, pool: Pool, order: Order, provider: PaymentProvider | None
) -> OrderView:
    checkout = None
    if order.status == "held" and order.total and provider is not None:
        c = provider.checkout(order.order_id, order.total)
        checkout = CheckoutView(provider=c.provider, checkout_url=c.checkout_url, amount=c.amount)
    return OrderView(
        order_id=order.order_id,
        status=order.status,
        edition_code=order.edition_code,
        product_code=order.product_code,
        total=order.total,
        expires_at=order.expires_at,
        visitor_ids=[p.visitor_id for p in order.positions],
        checkout=checkout,
        tickets=await ticket_views(store, pool, order),
    )


async def load_order(store: EventStore, order_id: str, who: Principal | None) -> Order:
    stream = order_stream(order_id)
    order, _ = await store.load(stream, ORDER.evolve, ORDER.initial(stream))
    if order.status == "new":
        raise NotFound(f"order {order_id} not found", code="order_not_found")
    if who is not None and not is_box_office(who) and order.account != who.subject:
        raise Forbidden(f"order {order_id} is not yours", code="not_your_order")
    return order


@router.post(
    "/editions/{edition_code}/orders",
    status_code=201,
    summary="order tickets: places are held for 15 minutes until paid (free passes: issued)",
)
async def create_order(
    edition_code: EditionCode,
    body: OrderIn,
    acting: AsBuyer,
    providers: Providers,
) -> OrderView:
    order_id = body.order_id or new_id("o")
    command = PlaceOrder(
        order_id=order_id,
        edition_code=edition_code,
        product_code=body.product_code,
        account=acting.who.subject,
        visitor_ids=body.visitor_ids,
        day=body.day,
        box_office=is_box_office(acting.who),
    )
    outcome = await place_order_spread(acting.store, command, acting.context)
    order = outcome.state(order_stream(order_id), Order)
    # the store's pool, not a dependency of its own: only a free pass's tickets read it
    return await order_view(acting.store, acting.store.pool, order, providers["devpay"])


class OrderLine(BaseModel):
    order_id: str
    product_code: str
    status: str
    days: list[date]
    positions: int
    total: int
    placed_at: datetime
    expires_at: datetime | None


@router.get(
    "/editions/{edition_code}/orders",
    summary="my orders (the box office: any account's, or all)",
)
async def list_orders(
    edition_code: EditionCode,
    who: Buyer,
    pool: Pool,
    account: Annotated[Identifier | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[OrderLine]:
    if not is_box_office(who):
        account = who.subject
    rows = await pool.fetch(
        f"""SELECT order_id, product_code, status, days, positions, total, placed_at, expires_at
            FROM {views.schema}.orders
            WHERE edition_code = $1 AND ($2::text IS NULL OR account = $2)
            ORDER BY placed_at DESC, order_id LIMIT $3""",
        edition_code,
        account,
        limit,
    )
    return [OrderLine(**dict(r)) for r in rows]


@router.get("/orders/{order_id}", summary="an order, with its tickets and their QR codes")
async def get_order(
    order_id: Identifier, who: Buyer, store: Store, pool: Pool, providers: Providers
) -> OrderView:
    order = await load_order(store, order_id, who)
    return await order_view(store, pool, order, providers["devpay"])


@router.post("/orders/{order_id}/cancellation", summary="cancel an unpaid or a free order")
async def cancel(order_id: Identifier, acting: AsBuyer, pool: Pool) -> OrderView:
    account = None if is_box_office(acting.who) else acting.who.subject
    outcome = await cancel_order(
        acting.store, CancelOrder(order_id=order_id, account=account), acting.context
    )
    return await order_view(acting.store, pool, outcome.state(order_stream(order_id), Order), None)


class RefundIn(Body):
    reason: Text


@router.post(
    "/orders/{order_id}/refund",
    summary="refund a paid order through its provider; its tickets are revoked at every gate",
)
async def refund(
    order_id: Identifier,
    body: RefundIn,
    acting: AsBoxOffice,
    pool: Pool,
    providers: Providers,
) -> OrderView:
    order = refundable(await load_order(acting.store, order_id, None))
    provider = providers[order.provider or "devpay"]
    # The order id is the provider's idempotency key: a retried refund never pays out twice.
    refund_id = await provider.refund(order.transaction_id or "", order.total, order_id)
    command = RefundOrder(order_id=order_id, refund_id=refund_id)
    outcome = await refund_order(acting.store, command, acting.context.because(body.reason))
    return await order_view(acting.store, pool, outcome.state(order_stream(order_id), Order), None)


class NotificationAnswer(BaseModel):
    status: Literal["recorded", "already_recorded"]
    order_id: str
    transaction_id: str


async def accept_notification(
    store: EventStore, provider: PaymentProvider, body: bytes, signature: str | None
) -> NotificationAnswer:
    """Verify, then record once: what the callback endpoint does with every notification."""
    notification = provider.verify(body, signature)
    command = RecordPayment(
        provider=provider.name,
        transaction_id=notification.transaction_id,
        order_id=notification.order_id,
        amount=notification.amount,
    )
    context = CommandContext.system(f"payments-{provider.name}")
    outcome = await record_payment(store, command, context)
    return NotificationAnswer(
        status="recorded" if outcome.events else "already_recorded",
        order_id=notification.order_id,
        transaction_id=notification.transaction_id,
    )


@router.post(
    "/payments/{provider}/notifications",
    tags=["payments"],
    summary="the payment provider's signed callback (idempotent by its transaction id)",
)
async def notification(
    provider: str,
    request: Request,
    store: Store,
    providers: Providers,
    signature: str | None = Header(default=None, alias="X-DevPay-Signature"),
) -> NotificationAnswer:
    known = providers.get(provider)
    if known is None:
        raise NotFound(f"no payment provider {provider!r}", code="unknown_provider")
    body = await request.body()
    if len(body) > 10_000:
        raise Forbidden("a notification is a few hundred bytes", code="notification_too_large")
    return await accept_notification(store, known, body, signature)


@router.post(
    "/dev-pay/checkouts/{order_id}/pay",
    tags=["payments"],
    summary="development only: pay at the dev provider, which then notifies the shop, signed",
)
async def dev_pay(
    order_id: Identifier, who: Buyer, store: Store, pool: Pool, providers: Providers
) -> OrderView:
    order = await load_order(store, order_id, who)
    devpay = providers["devpay"]
    assert isinstance(devpay, DevPay)
    body, signature = devpay.notify(order_id, order.total)
    await accept_notification(store, devpay, body, signature)
    return await order_view(store, pool, await load_order(store, order_id, who), None)
