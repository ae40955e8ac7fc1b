"""Orders (stream `order-<id>`) and the provider's payments (stream
`payment-<provider>.<transaction>`).

    new ─place─▶ held ─paid─▶ issued ─refund─▶ refunded
                  │  └─expire (not paid in time)─▶ expired
                  └─cancel─▶ canceled              (free orders are issued at once)

Placing an order takes its places in the quotas of every day and venue it admits to, for
each visitor's class (`quota.take`); the order holds them for `HOLD_MINUTES`. A payment is
recorded once per provider transaction, whatever the number of notifications; money that
the order cannot use (paid after expiry when the places had gone, or twice) is recorded as
unfulfilled, for a refund, never silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent

from . import quota as quotas_
from .commands import CancelOrder, PlaceOrder, RecordPayment, RefundOrder
from .events import (
    Need,
    OrderCanceled,
    OrderExpired,
    OrderIssued,
    OrderPaid,
    OrderPlaced,
    OrderRefunded,
    PaymentReceived,
    PaymentUnfulfilled,
    Position,
    QuotaClaim,
    QuotaKey,
    TicketIssued,
)
from .product import Product
from .quota import Quotas
from .ticket import Ticket, revoke
from .values import HOLD_MINUTES, fair_day
from .visitor import Visitor

OrderStatus = Literal["new", "held", "issued", "expired", "canceled", "refunded"]


@dataclass(frozen=True)
class Order:
    order_id: str
    status: OrderStatus = "new"
    edition_code: str = ""
    product_code: str = ""
    account: str = ""
    days: tuple[date, ...] = ()
    positions: tuple[Position, ...] = ()
    claims: tuple[QuotaClaim, ...] = ()
    total: int = 0
    expires_at: datetime | None = None
    ticket_ids: tuple[str, ...] = ()
    provider: str | None = None
    transaction_id: str | None = None

    def placed(self) -> Order:
        if self.status == "new":
            raise NotFound(f"order {self.order_id} not found", code="order_not_found")
        return self


@dataclass(frozen=True)
class Payment:
    provider: str
    transaction_id: str
    recorded: bool = False


def order_stream(order_id: str) -> str:
    return f"order-{order_id}"


def payment_stream(provider: str, transaction_id: str) -> str:
    return f"payment-{provider}.{transaction_id}"


def initial_order(stream_id: str) -> Order:
    return Order(stream_id.removeprefix("order-"))


def initial_payment(stream_id: str) -> Payment:
    provider, _, transaction_id = stream_id.removeprefix("payment-").partition(".")
    return Payment(provider, transaction_id)


def needs_for(product: Product, visitors: list[Visitor], days: list[date]) -> list[Need]:
    """The places an order takes: one per visitor, on every day it admits on and every venue
    of the product, from the quota of the visitor's class."""
    places: dict[QuotaKey, int] = {}
    for day in days:
        for venue in product.venues:
            for visitor in visitors:
                key = QuotaKey(day=day, venue=venue, visitor_class=visitor.visitor_class)
                places[key] = places.get(key, 0) + 1
    return [Need(places=n, **key.model_dump()) for key, n in places.items()]


def admissible(
    command: PlaceOrder, *, product: Product, visitors: list[Visitor], now: datetime
) -> None:
    """Refuse an order the shop must not take, whatever the quotas say."""
    product.on_sale()
    if fair_day(now) > product.days_of(command.day)[-1]:
        raise Conflict(f"{product.product_code} was for days now past", code="sales_closed")
    for visitor in visitors:
        visitor.known()
        if not command.box_office and visitor.account != command.account:
            raise Forbidden(
                f"visitor {visitor.visitor_id} was registered by another account",
                code="not_your_visitor",
            )
        if visitor.edition_code != product.edition_code:
            raise DomainError(
                f"visitor {visitor.visitor_id} is registered for {visitor.edition_code}",
                code="other_edition",
            )
        if visitor.visitor_class not in product.classes:
            raise DomainError(
                f"{product.product_code} is not sold to {visitor.visitor_class} visitors",
                code="class_not_admitted",
                visitor_id=visitor.visitor_id,
                classes=list(product.classes),
            )
        if visitor.status != "approved":
            raise Conflict(
                f"visitor {visitor.visitor_id}'s registration is {visitor.status}: it must be"
                " approved first",
                code="visitor_not_approved",
                visitor_id=visitor.visitor_id,
            )


def place(
    command: PlaceOrder,
    *,
    order: Order,
    product: Product,
    visitors: list[Visitor],
    claims: list[QuotaClaim] | None,
    quotas: Quotas,
    now: datetime,
) -> list[DomainEvent]:
    """`claims` are the shards the order takes its places from, `quotas` those shards'
    states under their locks (every shard of the quota when `claims` is None: none fits)."""
    if order.status != "new":
        raise Conflict(f"order {order.order_id} already exists", code="order_exists")
    admissible(command, product=product, visitors=visitors, now=now)
    days = product.days_of(command.day)
    edition_code = product.edition_code
    if claims is None or not quotas_.fits(claims, quotas=quotas, edition_code=edition_code):
        quotas_.shortfall(
            needs_for(product, visitors, days), quotas=quotas, edition_code=edition_code
        )
        raise Conflict("sold out", code="sold_out")
    taken = quotas_.take(claims, order_id=command.order_id, edition_code=edition_code)
    total = product.price * len(visitors)
    placed = OrderPlaced(
        order_id=command.order_id,
        edition_code=product.edition_code,
        product_code=product.product_code,
        account=command.account,
        days=days,
        positions=[
            Position(visitor_id=v.visitor_id, visitor_class=v.visitor_class) for v in visitors
        ],
        claims=claims,
        total=total,
        expires_at=now + timedelta(minutes=HOLD_MINUTES) if total else None,
    )
    events: list[DomainEvent] = [placed, *taken]
    if not total:  # a free pass needs no payment: issued at once
        events += issue(evolve(order, placed), product=product)
    return events


def ticket_ids(order: Order) -> list[str]:
    return ticket_ids_for(order.order_id, len(order.positions))


def ticket_ids_for(order_id: str, positions: int) -> list[str]:
    """A ticket per position, named after its order: `o-1-1`, `o-1-2` ..."""
    return [f"{order_id}-{n}" for n in range(1, positions + 1)]


def issue(order: Order, *, product: Product) -> list[DomainEvent]:
    ids = ticket_ids(order)
    return [
        OrderIssued(order_id=order.order_id, ticket_ids=ids),
        *(
            TicketIssued(
                ticket_id=ticket_id,
                order_id=order.order_id,
                edition_code=order.edition_code,
                product_code=order.product_code,
                visitor_id=position.visitor_id,
                visitor_class=position.visitor_class,
                days=list(order.days),
                venues=list(product.venues),
                reentry=product.reentry,
            )
            for ticket_id, position in zip(ids, order.positions, strict=True)
        ),
    ]


def pay(
    command: RecordPayment,
    *,
    payment: Payment,
    order: Order,
    product: Product,
    quotas: Quotas,
) -> list[DomainEvent]:
    """Record the provider's transaction once; issue the tickets if the order can use it."""
    if payment.recorded:
        return []  # the provider repeats notifications until it hears 200: one payment
    order.placed()
    if command.amount != order.total:
        raise DomainError(
            f"order {order.order_id} costs {order.total} fen, the provider says {command.amount}",
            code="amount_mismatch",
            total=order.total,
            amount=command.amount,
        )
    received = PaymentReceived(
        provider=command.provider,
        transaction_id=command.transaction_id,
        order_id=order.order_id,
        amount=command.amount,
    )
    paid = OrderPaid(
        order_id=order.order_id,
        provider=command.provider,
        transaction_id=command.transaction_id,
        amount=command.amount,
    )
    retaken: list[DomainEvent] = []
    why = None
    if order.status in ("expired", "canceled"):  # paid late: the places may still be free
        if quotas_.fits(order.claims, quotas=quotas, edition_code=order.edition_code):
            retaken = quotas_.take(
                order.claims, order_id=order.order_id, edition_code=order.edition_code
            )
        else:
            why = f"paid after the order was {order.status}, and its places had gone"
    elif order.status != "held":
        why = f"paid again: the order was already {order.status}"
    if why is not None:
        return [
            received,
            PaymentUnfulfilled(
                order_id=order.order_id,
                provider=command.provider,
                transaction_id=command.transaction_id,
                amount=command.amount,
                why=why,
            ),
        ]
    return [received, *retaken, paid, *issue(evolve(order, paid), product=product)]


def expire(order: Order, *, now: datetime) -> list[DomainEvent]:
    """An unpaid order past its hold gives its places back (a late job changes nothing)."""
    if order.status != "held" or order.expires_at is None or order.expires_at > now:
        return []
    return [
        OrderExpired(order_id=order.order_id),
        *quotas_.give_back(
            order.claims,
            order_id=order.order_id,
            edition_code=order.edition_code,
            why="expired",
        ),
    ]


def cancel(command: CancelOrder, *, order: Order, tickets: list[Ticket]) -> list[DomainEvent]:
    order.placed()
    if command.account is not None and command.account != order.account:
        raise Forbidden(f"order {order.order_id} is not yours", code="not_your_order")
    if order.status == "issued" and order.total:
        raise Conflict("a paid order is refunded, not cancelled", code="refund_instead")
    if order.status not in ("held", "issued"):
        raise Conflict(f"order {order.order_id} is {order.status}", code="order_closed")
    return [
        OrderCanceled(order_id=order.order_id),
        *quotas_.give_back(
            order.claims,
            order_id=order.order_id,
            edition_code=order.edition_code,
            why="canceled",
        ),
        *(e for t in tickets for e in revoke(t, why="order canceled")),
    ]


def refundable(order: Order) -> Order:
    order.placed()
    if order.status != "issued" or not order.total or order.transaction_id is None:
        raise Conflict(
            f"order {order.order_id} is {order.status}{' and free' if not order.total else ''}:"
            " only a paid order is refunded",
            code="not_refundable",
        )
    return order


def refund(command: RefundOrder, *, order: Order, tickets: list[Ticket]) -> list[DomainEvent]:
    refundable(order)
    return [
        OrderRefunded(
            order_id=order.order_id,
            provider=order.provider or "",
            refund_id=command.refund_id,
            amount=order.total,
        ),
        *quotas_.give_back(
            order.claims,
            order_id=order.order_id,
            edition_code=order.edition_code,
            why="refunded",
        ),
        *(e for t in tickets for e in revoke(t, why="order refunded")),
    ]


def evolve(order: Order, event: DomainEvent) -> Order:
    match event:
        case OrderPlaced():
            return replace(
                order,
                status="held",
                edition_code=event.edition_code,
                product_code=event.product_code,
                account=event.account,
                days=tuple(event.days),
                positions=tuple(event.positions),
                claims=tuple(event.claims),
                total=event.total,
                expires_at=event.expires_at,
            )
        case OrderPaid():
            return replace(order, provider=event.provider, transaction_id=event.transaction_id)
        case OrderIssued():
            return replace(order, status="issued", ticket_ids=tuple(event.ticket_ids))
        case OrderExpired():
            return replace(order, status="expired")
        case OrderCanceled():
            return replace(order, status="canceled")
        case OrderRefunded():
            return replace(order, status="refunded")
        case _:
            return order


def evolve_payment(payment: Payment, event: DomainEvent) -> Payment:
    if isinstance(event, PaymentReceived):
        return replace(payment, recorded=True)
    return payment


ORDER: Fold[Order] = Fold(initial_order, evolve)
PAYMENT: Fold[Payment] = Fold(initial_payment, evolve_payment)
