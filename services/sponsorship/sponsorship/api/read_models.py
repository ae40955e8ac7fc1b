"""Reads: the public serving schedule (no login, cacheable with an ETag), the inventory
calendar, revenue by tier, channel and month, each sponsor's fulfilment checklist, and the
delivery reports."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fairline_events.dependencies import Pool
from fairline_events.errors import DomainError, NotFound
from fairline_events.reads import Stamps, answer, read_model_stamps, stamps_of, wants_fresh
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from ..domain.values import MAX_DAYS, PRINTABLE, Channel, EditionCode
from ..projections import desk
from .common import TEAM, Team, TeamOrSponsor, may_see, row

router = APIRouter(tags=["read models"])

S = desk.schema


def _range(first_day: date | None, last_day: date | None) -> tuple[date, date]:
    first = first_day or date.today()
    last = last_day or first + timedelta(days=30)
    if last < first:
        raise DomainError("last_day comes before first_day", code="reversed_dates")
    if (last - first).days + 1 > MAX_DAYS:
        raise DomainError(f"ask for at most {MAX_DAYS} days at once", code="range_too_long")
    return first, last


FirstDay = Annotated[date | None, Query(description="from this day (default: today)")]
LastDay = Annotated[date | None, Query(description="to this day (default: 30 days on)")]


# --- serving schedule (public) -----------------------------------------------------------------


class Serving(BaseModel):
    day: date
    channel: str
    placement_code: str
    placement_name: str
    booking_id: str
    sponsor_id: str
    creative_version: int
    image_url: str
    link_url: str
    alt_text: str


SERVING_CACHE = "public, max-age=30"

SERVING = f"""
SELECT d.day, p.channel, p.placement_code, p.name AS placement_name, b.booking_id,
       b.sponsor_id, c.version AS creative_version, c.image_url, c.link_url, c.alt_text
FROM {S}.booking_days d
JOIN {S}.bookings b ON b.booking_id = d.booking_id AND b.status = 'confirmed'
JOIN {S}.creatives c ON c.booking_id = b.booking_id AND c.version = b.served_version
JOIN {S}.placements p ON p.edition_code = d.edition_code AND p.placement_code = d.placement_code
WHERE d.edition_code = $1 AND d.day BETWEEN $2 AND $3 AND ($4::text IS NULL OR p.channel = $4)
ORDER BY d.day, p.channel, p.placement_code, b.booking_id
"""


def _stamps(request: Request) -> Stamps:
    return stamps_of(request, "desk", lambda: read_model_stamps([S]))


@router.get(
    "/public/editions/{edition_code}/serving-schedule",
    response_model=list[Serving],
    summary="What runs where each day (public: the website and mini-program teams; ETag)",
    responses={304: {"description": "unchanged since the ETag sent in If-None-Match"}},
)
async def serving_schedule(
    request: Request,
    edition_code: EditionCode,
    pool: Pool,
    channel: Channel | None = None,
    first_day: FirstDay = None,
    last_day: LastDay = None,
) -> Response:
    """Only confirmed bookings with an approved creative, each with its latest approved
    version. Answered with an ETag of the body: a client that sends it back in
    If-None-Match gets 304 and no body until the schedule changes. Rendered once per stamp
    of the desk's read model (the schedule is the busiest read and changes a few times a
    day), so a read costs no query."""
    first, last = _range(first_day, last_day)

    async def render() -> bytes:
        records = await pool.fetch(SERVING, edition_code, first, last, channel)
        rows = [Serving(**dict(r)).model_dump(mode="json") for r in records]
        return json.dumps(rows, separators=(",", ":")).encode()

    stamp = await _stamps(request).get(pool, S, fresh=wants_fresh(request))
    variant = f"serving|{edition_code}|{channel}|{first}|{last}"
    return await answer(request, stamp, render, variant=variant, cache_control=SERVING_CACHE)


# --- inventory calendar ------------------------------------------------------------------------


class InventoryDay(BaseModel):
    day: date
    placement_code: str
    channel: str
    kind: str
    shares: int
    booked: int
    held: int
    free: int
    price_per_day_fen: int


@router.get(
    "/editions/{edition_code}/inventory",
    summary="The inventory calendar: each placement's shares booked, held and free per day",
)
async def inventory(
    edition_code: EditionCode, who: Team, pool: Pool, channel: Channel | None = None,
    first_day: FirstDay = None, last_day: LastDay = None,
) -> list[InventoryDay]:  # fmt: skip
    first, last = _range(first_day, last_day)
    records = await pool.fetch(
        f"""SELECT g.day::date AS day, p.placement_code, p.channel, p.kind, p.shares,
                 count(b.*) FILTER (WHERE b.status = 'confirmed') AS booked,
                 count(b.*) FILTER (WHERE b.status = 'held' AND b.expires_at > now()) AS held,
                 p.price_per_day_fen
            FROM {S}.placements p
            CROSS JOIN generate_series($2::date, $3::date, interval '1 day') AS g(day)
            LEFT JOIN {S}.booking_days d ON d.edition_code = p.edition_code
                 AND d.placement_code = p.placement_code AND d.day = g.day::date
            LEFT JOIN {S}.bookings b ON b.booking_id = d.booking_id
            WHERE p.edition_code = $1 AND ($4::text IS NULL OR p.channel = $4)
            GROUP BY g.day, p.placement_code, p.channel, p.kind, p.shares, p.price_per_day_fen
            ORDER BY g.day, p.channel, p.placement_code""",
        edition_code, first, last, channel,
    )  # fmt: skip
    return [
        InventoryDay(**dict(r), free=max(0, r["shares"] - r["booked"] - r["held"])) for r in records
    ]


# --- revenue ---------------------------------------------------------------------------------


class RevenueLine(BaseModel):
    by: str
    """`tier` (packages) or `channel` (ad bookings)."""
    key: str
    month: str
    contracted_fen: int
    """Signed packages by the month signed (a cancelled one by its fee); confirmed ad
    bookings by the month each day runs."""
    received_fen: int
    """Payments by the month received."""


@router.get(
    "/editions/{edition_code}/revenue",
    summary="Revenue by tier, channel and month: contracted and received, in fen",
)
async def revenue(edition_code: EditionCode, who: Team, pool: Pool) -> list[RevenueLine]:
    records = await pool.fetch(
        f"""WITH contracted AS (
              SELECT 'tier' AS by, tier_code AS key, to_char(signed_at, 'YYYY-MM') AS month,
                     CASE WHEN status = 'cancelled' THEN coalesce(fee_fen, 0) ELSE price_fen
                     END AS fen, 0::bigint AS received
              FROM {S}.packages WHERE edition_code = $1 AND signed_at IS NOT NULL
              UNION ALL
              SELECT 'channel', b.channel, to_char(d.day, 'YYYY-MM'), d.day_fen, 0
              FROM {S}.booking_days d JOIN {S}.bookings b USING (booking_id)
              WHERE d.edition_code = $1 AND b.status = 'confirmed'
              UNION ALL
              SELECT 'tier', p.tier_code, to_char(m.received_at, 'YYYY-MM'), 0, m.amount_fen
              FROM {S}.payments m JOIN {S}.packages p ON p.package_id = m.owner_id
              WHERE m.owner_kind = 'package' AND m.edition_code = $1
              UNION ALL
              SELECT 'channel', b.channel, to_char(m.received_at, 'YYYY-MM'), 0, m.amount_fen
              FROM {S}.payments m JOIN {S}.bookings b ON b.booking_id = m.owner_id
              WHERE m.owner_kind = 'booking' AND m.edition_code = $1)
            SELECT by, key, month, sum(fen)::bigint AS contracted_fen,
                   sum(received)::bigint AS received_fen
            FROM contracted GROUP BY by, key, month ORDER BY by, key, month""",
        edition_code,
    )
    return [RevenueLine(**dict(r)) for r in records]


# --- fulfilment checklist --------------------------------------------------------------------


class ChecklistItem(BaseModel):
    benefit_no: int
    kind: str
    quantity: int
    detail: str
    standing: str
    note: str
    """The proof of delivery, or the reason it failed or was withdrawn (and by whom, when)."""
    since: datetime


class Checklist(BaseModel):
    package_id: str
    edition_code: str
    tier_code: str
    sponsor_id: str
    sponsor_name: str
    category: str
    status: str
    price_fen: int
    paid_fen: int
    items: list[ChecklistItem]


async def _checklists(pool: Pool, where: str, *args: Any) -> list[Checklist]:
    packages = await pool.fetch(f"SELECT * FROM {S}.packages WHERE {where}", *args)
    ids = [p["package_id"] for p in packages]
    items = await pool.fetch(
        f"SELECT * FROM {S}.benefits WHERE package_id = any($1) ORDER BY benefit_no", ids
    )
    by_package: dict[str, list[ChecklistItem]] = {}
    for item in items:
        by_package.setdefault(item["package_id"], []).append(ChecklistItem(**row(item)))
    return [
        Checklist(**{k: p[k] for k in Checklist.model_fields if k != "items"},
                  items=by_package.get(p["package_id"], []))
        for p in packages
    ]  # fmt: skip


@router.get("/packages/{package_id}/checklist", summary="A package's fulfilment checklist")
async def checklist(
    who: TeamOrSponsor, pool: Pool,
    package_id: str = Path(max_length=64, pattern=PRINTABLE),
) -> Checklist:  # fmt: skip
    found = await _checklists(pool, "package_id = $1", package_id)
    if not found:
        raise NotFound(f"no package {package_id}", code="unknown_package")
    may_see(who, found[0].sponsor_id)
    return found[0]


@router.get(
    "/sponsors/{sponsor_id}/checklist", summary="Every package of a sponsor, benefit by benefit"
)
async def sponsor_checklist(
    who: TeamOrSponsor, pool: Pool, sponsor_id: str = Path(max_length=64, pattern=PRINTABLE)
) -> list[Checklist]:
    may_see(who, sponsor_id)
    return await _checklists(pool, "sponsor_id = $1 ORDER BY offered_at", sponsor_id)


# --- delivery reports ----------------------------------------------------------------------


class DeliveryLine(BaseModel):
    booking_id: str
    sponsor_id: str
    placement_code: str
    channel: str
    first_day: date
    last_day: date
    impressions: int
    clicks: int
    click_through_percent: float


@router.get(
    "/editions/{edition_code}/delivery",
    summary="Delivery per booking: impressions, clicks, click-through (a sponsor: its own)",
)
async def delivery(
    edition_code: EditionCode, who: TeamOrSponsor, pool: Pool, sponsor_id: str | None = None
) -> list[DeliveryLine]:
    if not who.has_any((TEAM,)):
        sponsor_id = who.subject
    records = await pool.fetch(
        f"""SELECT b.booking_id, b.sponsor_id, b.placement_code, b.channel, b.first_day,
                 b.last_day, coalesce(sum(c.impressions), 0)::bigint AS impressions,
                 coalesce(sum(c.clicks), 0)::bigint AS clicks
            FROM {S}.bookings b LEFT JOIN delivery_counts c USING (booking_id)
            WHERE b.edition_code = $1 AND ($2::text IS NULL OR b.sponsor_id = $2)
              AND b.status = 'confirmed'
            GROUP BY b.booking_id ORDER BY b.sponsor_id, b.booking_id""",
        edition_code, sponsor_id,
    )  # fmt: skip
    return [
        DeliveryLine(
            **dict(r),
            click_through_percent=round(100 * r["clicks"] / r["impressions"], 2)
            if r["impressions"]
            else 0.0,
        )
        for r in records
    ]
