"""Sales: products, quotas (capacity and places taken per day, venue and class) and orders.
Remaining places per product and day are read from here; so are the orders the expiry clock
must release. Counts and money only: an order names visitors by id, never by name.

A part of the one `views` projection (`projections/__init__.py`): its tables and handlers.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.commands import PlaceOrder
from ..domain.events import (
    OrderCanceled,
    OrderExpired,
    OrderIssued,
    OrderPlaced,
    OrderRefunded,
    PaymentUnfulfilled,
    ProductDefined,
    QuotaReturned,
    QuotaSet,
    QuotaTaken,
    registry,
)

sales = Projection(
    name="sales",
    topics=["tickets.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS products (
        edition_code   text NOT NULL,
        product_code   text NOT NULL,
        kind           text NOT NULL,
        name_zh        text NOT NULL,
        name_en        text NOT NULL,
        days           date[] NOT NULL,
        venues         text[] NOT NULL,
        classes        text[] NOT NULL,
        price          bigint NOT NULL,
        reentry        boolean NOT NULL,
        needs_approval boolean NOT NULL,
        PRIMARY KEY (edition_code, product_code)
    );
    CREATE TABLE IF NOT EXISTS quotas (
        edition_code  text NOT NULL,
        day           date NOT NULL,
        venue         text NOT NULL,
        visitor_class text NOT NULL,
        shard         integer NOT NULL,
        capacity      integer NOT NULL DEFAULT 0,
        taken         integer NOT NULL DEFAULT 0,
        PRIMARY KEY (edition_code, day, venue, visitor_class, shard)
    );
    CREATE TABLE IF NOT EXISTS orders (
        order_id     text PRIMARY KEY,
        edition_code text NOT NULL,
        product_code text NOT NULL,
        account      text NOT NULL,
        days         date[] NOT NULL,
        status       text NOT NULL,
        positions    integer NOT NULL,
        total        bigint NOT NULL,
        placed_at    timestamptz NOT NULL,
        expires_at   timestamptz,
        refund_due   bigint NOT NULL DEFAULT 0
    );
    CREATE INDEX IF NOT EXISTS orders_due ON orders (expires_at) WHERE status = 'held';
    CREATE INDEX IF NOT EXISTS orders_product ON orders (edition_code, product_code, status);
    """,
)


@sales.on(ProductDefined)
async def product_defined(e: ProductDefined, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO products VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (edition_code, product_code) DO NOTHING""",
        e.edition_code,
        e.product_code,
        e.kind,
        e.name_zh,
        e.name_en,
        e.days,
        list(e.venues),
        list(e.classes),
        e.price,
        e.reentry,
        e.needs_approval,
    )


_QUOTA_CHANGE = """INSERT INTO quotas VALUES ($1, $2, $3, $4, $5, $6, $7)
                   ON CONFLICT (edition_code, day, venue, visitor_class, shard) DO UPDATE
                   SET capacity = CASE WHEN $8 THEN excluded.capacity ELSE quotas.capacity END,
                       taken = quotas.taken + excluded.taken"""


def _shard(e: QuotaSet | QuotaTaken | QuotaReturned) -> tuple[object, ...]:
    return (e.edition_code, e.day, e.venue, e.visitor_class, e.shard)


@sales.on(QuotaSet)
async def quota_set(e: QuotaSet, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_QUOTA_CHANGE, *_shard(e), e.capacity, 0, True)


@sales.on(QuotaTaken)
async def quota_taken(e: QuotaTaken, env: Envelope, tx: ReadModel) -> Sql | None:
    if env.command == PLACED_WITH_ITS_ORDER:  # counted with its OrderPlaced, which names it
        return None
    return sql(_QUOTA_CHANGE, *_shard(e), 0, e.places, False)


@sales.on(QuotaReturned)
async def quota_returned(e: QuotaReturned, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_QUOTA_CHANGE, *_shard(e), 0, -e.places, False)


PLACED_WITH_ITS_ORDER = PlaceOrder.__name__
"""The command whose QuotaTaken events are its OrderPlaced's claims (`order.place`), counted
when the OrderPlaced is applied: one statement per order instead of two, and the same one
for every order of a batch, so the runner sends a batch's orders as one pipeline (an order's
two statements alternated, and each went alone). Places retaken by a late payment still
count on their own QuotaTaken."""

_ORDER_PLACED = """
WITH placed AS (
    INSERT INTO orders VALUES ($1, $2, $3, $4, $5, 'held', $6, $7, $8, $9, 0)
    ON CONFLICT (order_id) DO NOTHING
    RETURNING order_id
)
INSERT INTO quotas AS q (edition_code, day, venue, visitor_class, shard, capacity, taken)
SELECT $2, c.day, c.venue, c.visitor_class, c.shard, 0, c.places
FROM unnest($10::date[], $11::text[], $12::text[], $13::int[], $14::int[])
    AS c(day, venue, visitor_class, shard, places)
WHERE EXISTS (SELECT FROM placed)
ON CONFLICT (edition_code, day, venue, visitor_class, shard) DO UPDATE
SET taken = q.taken + excluded.taken
"""
"""The order, and the places it holds in each shard, counted once: only when the order is new."""


@sales.on(OrderPlaced)
async def order_placed(e: OrderPlaced, env: Envelope, tx: ReadModel) -> Sql:
    claims = e.claims if env.command == PLACED_WITH_ITS_ORDER else []
    return sql(
        _ORDER_PLACED,
        e.order_id,
        e.edition_code,
        e.product_code,
        e.account,
        e.days,
        len(e.positions),
        e.total,
        env.occurred_at,
        e.expires_at,
        [c.day for c in claims],
        [c.venue for c in claims],
        [c.visitor_class for c in claims],
        [c.shard for c in claims],
        [c.places for c in claims],
    )


_STATUS = "UPDATE orders SET status = $2 WHERE order_id = $1"


@sales.on(OrderIssued)
async def order_issued(e: OrderIssued, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STATUS, e.order_id, "issued")


@sales.on(OrderExpired)
async def order_expired(e: OrderExpired, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STATUS, e.order_id, "expired")


@sales.on(OrderCanceled)
async def order_canceled(e: OrderCanceled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STATUS, e.order_id, "canceled")


@sales.on(OrderRefunded)
async def order_refunded(e: OrderRefunded, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STATUS, e.order_id, "refunded")


@sales.on(PaymentUnfulfilled)
async def payment_unfulfilled(e: PaymentUnfulfilled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE orders SET refund_due = refund_due + $2 WHERE order_id = $1", e.order_id, e.amount
    )
