"""Read models: sales and remaining places, quotas, admissions per venue, entrance and hour,
conflicts from offline gates, and visitor statistics for the fair's reports."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fairline_events.dependencies import Pool
from fastapi import APIRouter, Query
from pydantic import BaseModel

from ..domain.values import FAIR_TIME, EditionCode
from ..projections import views
from .common import BoxOffice, Gate

router = APIRouter(tags=["read models"])


class ProductDaySales(BaseModel):
    product_code: str
    name_en: str
    day: date
    price: int
    sold: int
    """Tickets issued (paid, or free) valid on this day."""
    held: int
    """Places held by orders not paid yet."""
    remaining: dict[str, int]
    """Places left for each class the product is sold to: the tightest of its venues."""


class ProductSales(BaseModel):
    product_code: str
    orders_issued: int
    tickets_issued: int
    revenue: int
    """Fen, of issued orders (refunded ones left out)."""
    refund_due: int
    """Fen paid that no order could use: to be refunded by the box office."""


class SalesView(BaseModel):
    days: list[ProductDaySales]
    products: list[ProductSales]


@router.get(
    "/editions/{edition_code}/sales", summary="sales and remaining places per product and day"
)
async def sales_view(edition_code: EditionCode, who: BoxOffice, pool: Pool) -> SalesView:
    s = views.schema
    days = await pool.fetch(
        f"""SELECT p.product_code, p.name_en, d.day, p.price, p.venues, p.classes,
                   coalesce(sum(o.positions) FILTER (WHERE o.status = 'issued'), 0) AS sold,
                   coalesce(sum(o.positions) FILTER (WHERE o.status = 'held'), 0) AS held
            FROM {s}.products p CROSS JOIN LATERAL unnest(p.days) AS d(day)
            LEFT JOIN {s}.orders o
              ON o.edition_code = p.edition_code AND o.product_code = p.product_code
             AND d.day = ANY(o.days)
            WHERE p.edition_code = $1
            GROUP BY p.product_code, p.name_en, d.day, p.price, p.venues, p.classes
            ORDER BY d.day, p.product_code""",
        edition_code,
    )
    quotas = {
        (r["day"], r["venue"], r["visitor_class"]): max(0, r["capacity"] - r["taken"])
        for r in await pool.fetch(
            f"SELECT day, venue, visitor_class, sum(capacity) AS capacity, sum(taken) AS taken"
            f" FROM {s}.quotas WHERE edition_code = $1 GROUP BY 1, 2, 3",
            edition_code,
        )
    }
    products = await pool.fetch(
        f"""SELECT product_code,
                   count(*) FILTER (WHERE status = 'issued') AS orders_issued,
                   coalesce(sum(positions) FILTER (WHERE status = 'issued'), 0) AS tickets,
                   coalesce(sum(total) FILTER (WHERE status = 'issued'), 0) AS revenue,
                   coalesce(sum(refund_due), 0) AS refund_due
            FROM {s}.orders WHERE edition_code = $1 GROUP BY product_code ORDER BY product_code""",
        edition_code,
    )
    return SalesView(
        days=[
            ProductDaySales(
                product_code=r["product_code"],
                name_en=r["name_en"],
                day=r["day"],
                price=r["price"],
                sold=r["sold"],
                held=r["held"],
                remaining={
                    c: min(quotas.get((r["day"], v, c), 0) for v in r["venues"])
                    for c in r["classes"]
                },
            )
            for r in days
        ],
        products=[
            ProductSales(
                product_code=r["product_code"],
                orders_issued=r["orders_issued"],
                tickets_issued=r["tickets"],
                revenue=r["revenue"],
                refund_due=r["refund_due"],
            )
            for r in products
        ],
    )


class QuotaRow(BaseModel):
    day: date
    venue: str
    visitor_class: str
    capacity: int
    taken: int
    left: int


@router.get(
    "/editions/{edition_code}/quotas", summary="capacity and places taken per day, venue, class"
)
async def quotas_view(edition_code: EditionCode, who: BoxOffice, pool: Pool) -> list[QuotaRow]:
    rows = await pool.fetch(
        f"""SELECT day, venue, visitor_class, sum(capacity)::int AS capacity,
                   sum(taken)::int AS taken
            FROM {views.schema}.quotas WHERE edition_code = $1
            GROUP BY 1, 2, 3 ORDER BY day, venue, visitor_class""",
        edition_code,
    )
    return [QuotaRow(**dict(r), left=max(0, r["capacity"] - r["taken"])) for r in rows]


class HourCount(BaseModel):
    venue: str
    entrance: str
    hour: datetime
    """Start of the hour, fair time (UTC+8)."""
    admitted: int
    conflicts: int


@router.get(
    "/editions/{edition_code}/admissions",
    summary="entries per venue, entrance and hour (live), conflicts beside them",
)
async def admissions_view(
    edition_code: EditionCode,
    who: Gate,
    pool: Pool,
    day: Annotated[date | None, Query()] = None,
) -> list[HourCount]:
    rows = await pool.fetch(
        f"""SELECT s.venue, s.entrance,
                   date_trunc('hour', s.scanned_at AT TIME ZONE 'Asia/Shanghai')
                     AT TIME ZONE 'Asia/Shanghai' AS hour,
                   count(*) FILTER (WHERE s.conflict IS NULL) AS admitted,
                   count(*) FILTER (WHERE s.conflict IS NOT NULL) AS conflicts
            FROM {views.schema}.scans s
            JOIN {views.schema}.tickets t USING (ticket_id)
            WHERE t.edition_code = $1 AND ($2::date IS NULL OR s.day = $2)
            GROUP BY 1, 2, 3 ORDER BY 3, 1, 2""",
        edition_code,
        day,
    )
    return [HourCount(**(dict(r) | {"hour": r["hour"].astimezone(FAIR_TIME)})) for r in rows]


class ConflictView(BaseModel):
    scan_id: str
    ticket_id: str
    conflict: str
    venue: str
    entrance: str
    gate_id: str
    scanned_at: datetime
    first_gate_id: str | None
    first_scanned_at: datetime | None


@router.get(
    "/editions/{edition_code}/admission-conflicts",
    summary="entries offline gates made that they should not have: for the venue's security",
)
async def conflicts_view(
    edition_code: EditionCode,
    who: Gate,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[ConflictView]:
    rows = await pool.fetch(
        f"""SELECT s.scan_id, s.ticket_id, s.conflict, s.venue, s.entrance, s.gate_id,
                   s.scanned_at, s.first_gate_id, s.first_scanned_at
            FROM {views.schema}.scans s
            JOIN {views.schema}.tickets t USING (ticket_id)
            WHERE t.edition_code = $1 AND s.conflict IS NOT NULL
            ORDER BY s.scanned_at, s.scan_id LIMIT $2""",
        edition_code,
        limit,
    )
    return [ConflictView(**dict(r)) for r in rows]


class Count(BaseModel):
    key: str
    visitors: int


class VisitorStatistics(BaseModel):
    edition_code: str
    registered: int
    by_class: list[Count]
    by_status: list[Count]
    by_country_region: list[Count]
    admitted_visitors: int
    """Distinct tickets that entered at least once."""


@router.get(
    "/editions/{edition_code}/visitor-statistics",
    summary="visitors per class, status, country or region: what the fair statistics use",
)
async def statistics(edition_code: EditionCode, who: BoxOffice, pool: Pool) -> VisitorStatistics:
    v = views.schema

    async def counts(column: str) -> list[Count]:
        rows = await pool.fetch(
            f"""SELECT {column} AS key, count(*) AS visitors FROM {v}.visitors
                WHERE edition_code = $1 GROUP BY 1 ORDER BY 2 DESC, 1""",
            edition_code,
        )
        return [Count(**dict(r)) for r in rows]

    by_class = await counts("visitor_class")
    admitted = await pool.fetchval(
        f"""SELECT count(DISTINCT s.ticket_id) FROM {views.schema}.scans s
            JOIN {views.schema}.tickets t USING (ticket_id) WHERE t.edition_code = $1""",
        edition_code,
    )
    return VisitorStatistics(
        edition_code=edition_code,
        registered=sum(c.visitors for c in by_class),
        by_class=by_class,
        by_status=await counts("status"),
        by_country_region=await counts("country_region"),
        admitted_visitors=admitted,
    )
