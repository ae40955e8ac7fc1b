"""The sales desk's views: live floor plans, availability, the pipeline and revenue, each
exhibitor's booths and balance, and the full history of any booth."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fairline_events.dependencies import Pool, Store
from fairline_events.errors import Forbidden, NotFound
from fastapi import APIRouter, Query
from pydantic import BaseModel

from ..domain.account import ACCOUNT, account_stream
from ..domain.booth import STATUSES, booth_stream
from ..domain.values import Code, EditionCode, Identifier
from ..projections import floor_plan, ledger
from .common import Anyone, Sales, SalesOrExhibitor, SalesOrOps, acting_as, current

router = APIRouter(tags=["read models"])

FLOOR = f"{floor_plan.schema}"
LEDGER = f"{ledger.schema}"
Status = Literal["free", "offered", "held", "reserved", "deposit_paid", "paid_in_full", "confirmed"]


class FloorBooth(BaseModel):
    booth_code: str
    zone_code: str
    booth_type: str
    area_m2: Decimal
    open_sides: str
    x: Decimal | None
    y: Decimal | None
    width: Decimal | None
    depth: Decimal | None
    status: str
    exhibitor_id: str | None
    exhibitor_name_zh: str | None
    exhibitor_name_en: str | None
    hold_expires_at: datetime | None
    offer_until: datetime | None
    price_fen: int | None
    paid_fen: int
    contract_id: str | None
    rule_version: int | None
    flag: str | None
    updated_at: datetime


class FloorPlan(BaseModel):
    edition_code: str
    hall_code: str
    venue_code: str
    name_zh: str
    name_en: str
    structure: str
    sellable: bool
    counts: dict[str, int]
    booths: list[FloorBooth]


class Availability(BaseModel):
    booth_code: str
    venue_code: str
    hall_code: str
    zone_code: str
    booth_type: str
    area_m2: Decimal
    open_sides: str
    status: str


class PipelineRow(BaseModel):
    key: str
    booths: int
    area_m2: Decimal
    by_status: dict[str, int]
    held_value_fen: int
    contracted_fen: int
    collected_fen: int
    outstanding_fen: int
    cancellation_fees_fen: int


class ExhibitorBooth(BaseModel):
    booth_code: str
    hall_code: str
    zone_code: str
    status: str
    hold_expires_at: datetime | None
    offer_until: datetime | None
    price_fen: int | None


class ExhibitorContract(BaseModel):
    contract_id: str
    kind: str
    booth_code: str | None
    tier: str | None
    status: str
    price_fen: int
    deposit_fen: int
    paid_fen: int
    fee_fen: int
    refund_due_fen: int
    rule_version: int
    flag: str | None


class ExhibitorAccount(BaseModel):
    exhibitor_id: str
    edition_code: str | None
    status: str
    name_zh: str
    name_en: str
    holds: list[ExhibitorBooth]
    contracts: list[ExhibitorContract]
    charged_fen: int
    """Prices of the live contracts plus fees of the cancelled ones."""
    paid_fen: int
    balance_fen: int
    """What the exhibitor still owes; negative when a refund is due."""


class ExhibitorSummary(BaseModel):
    exhibitor_id: str
    name_zh: str
    name_en: str
    status: str
    holds: int
    contracts: int
    balance_fen: int


class HistoryEntry(BaseModel):
    version: int
    event_type: str
    occurred_at: datetime
    actor: str
    reason: str | None
    exhibitor_id: str | None
    contract_id: str | None
    price_fen: int | None
    rule_version: int | None
    data: dict[str, Any]


@router.get(
    "/editions/{edition_code}/halls/{hall_code}/floor-plan",
    summary="the live floor plan of a hall: every booth's status and holder",
)
async def get_floor_plan(
    edition_code: EditionCode, hall_code: Code, who: SalesOrOps, pool: Pool
) -> FloorPlan:
    hall = await pool.fetchrow(
        f"SELECT * FROM {FLOOR}.halls WHERE edition_code = $1 AND hall_code = $2",
        edition_code,
        hall_code,
    )
    if hall is None:
        raise NotFound(f"hall {hall_code} not found", code="hall_not_found")
    rows = await pool.fetch(
        f"""SELECT b.*, e.name_zh AS exhibitor_name_zh, e.name_en AS exhibitor_name_en
            FROM {FLOOR}.booths b LEFT JOIN {FLOOR}.exhibitors e USING (exhibitor_id)
            WHERE b.edition_code = $1 AND b.hall_code = $2 ORDER BY b.booth_code""",
        edition_code,
        hall_code,
    )
    booths = [FloorBooth(**{k: r[k] for k in FloorBooth.model_fields}) for r in rows]
    counts = {s: sum(b.status == s for b in booths) for s in STATUSES}
    return FloorPlan(
        edition_code=edition_code,
        hall_code=hall_code,
        venue_code=hall["venue_code"],
        name_zh=hall["name_zh"],
        name_en=hall["name_en"],
        structure=hall["structure"],
        sellable=not hall["certification_required"] or hall["certificate_no"] is not None,
        counts=counts,
        booths=booths,
    )


@router.get("/editions/{edition_code}/booths", summary="booths and their availability")
async def availability(
    edition_code: EditionCode,
    who: Anyone,
    pool: Pool,
    hall_code: str | None = None,
    zone_code: str | None = None,
    status: Status | None = None,
    booth_type: Literal["shell_scheme", "raw_space", "outdoor"] | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[Availability]:
    rows = await pool.fetch(
        f"""SELECT * FROM {FLOOR}.booths WHERE edition_code = $1
              AND ($2::text IS NULL OR hall_code = $2) AND ($3::text IS NULL OR zone_code = $3)
              AND ($4::text IS NULL OR status = $4) AND ($5::text IS NULL OR booth_type = $5)
            ORDER BY booth_code LIMIT $6""",
        edition_code,
        hall_code,
        zone_code,
        status,
        booth_type,
        limit,
    )
    return [Availability(**{k: r[k] for k in Availability.model_fields}) for r in rows]


@router.get(
    "/editions/{edition_code}/pipeline",
    summary="the sales pipeline and revenue by venue, hall or zone",
)
async def pipeline(
    edition_code: EditionCode,
    who: Sales,
    pool: Pool,
    by: Literal["venue", "hall", "zone"] = "venue",
) -> list[PipelineRow]:
    column = f"{by}_code"
    rows = await pool.fetch(
        f"""SELECT {column} AS key, status, count(*) AS n, sum(area_m2) AS area,
                   coalesce(sum(price_fen), 0) AS price, coalesce(sum(paid_fen), 0) AS paid
            FROM {FLOOR}.booths WHERE edition_code = $1 GROUP BY {column}, status""",
        edition_code,
    )
    extra = await pool.fetch(
        f"""SELECT coalesce({column}, venue_code) AS key,
                   coalesce(sum(fee_fen) FILTER (WHERE status = 'cancelled'), 0) AS fees,
                   coalesce(sum(price_fen) FILTER (WHERE kind = 'online'
                            AND status <> 'cancelled'), 0) AS online_price,
                   coalesce(sum(paid_fen) FILTER (WHERE kind = 'online'
                            AND status <> 'cancelled'), 0) AS online_paid,
                   count(*) FILTER (WHERE kind = 'online' AND status <> 'cancelled') AS online
            FROM {LEDGER}.contracts WHERE edition_code = $1 GROUP BY 1""",
        edition_code,
    )
    table: dict[str, dict[str, Any]] = {}

    def entry(key: str) -> dict[str, Any]:
        return table.setdefault(
            key,
            {
                "booths": 0,
                "area": Decimal(0),
                "by": dict.fromkeys(STATUSES, 0),
                "held": 0,
                "contracted": 0,
                "collected": 0,
                "fees": 0,
            },
        )

    for r in rows:
        e = entry(r["key"])
        e["booths"] += r["n"]
        e["area"] += r["area"] or 0
        e["by"][r["status"]] += r["n"]
        if r["status"] == "held":
            e["held"] += r["price"]
        elif r["status"] not in ("free", "offered"):
            e["contracted"] += r["price"]
            e["collected"] += r["paid"]
    for r in extra:
        e = entry(r["key"])
        e["fees"] += r["fees"]
        e["contracted"] += r["online_price"]
        e["collected"] += r["online_paid"]
    return [
        PipelineRow(
            key=key,
            booths=e["booths"],
            area_m2=e["area"],
            by_status=e["by"],
            held_value_fen=e["held"],
            contracted_fen=e["contracted"],
            collected_fen=e["collected"],
            outstanding_fen=e["contracted"] - e["collected"],
            cancellation_fees_fen=e["fees"],
        )
        for key, e in sorted(table.items())
    ]


@router.get("/exhibitors/{exhibitor_id}/account", summary="an exhibitor's booths and balance")
async def exhibitor_account(
    exhibitor_id: Identifier, who: SalesOrExhibitor, store: Store, pool: Pool
) -> ExhibitorAccount:
    account = await current(store, ACCOUNT, account_stream(exhibitor_id))
    if account.status == "unknown":
        raise NotFound(f"exhibitor {exhibitor_id} is not admitted", code="exhibitor_not_found")
    by = acting_as(who)
    if by is not None and by != account.applicant:
        raise Forbidden("this account belongs to another company", code="not_your_exhibitor")
    holds = await pool.fetch(
        f"""SELECT * FROM {FLOOR}.booths WHERE exhibitor_id = $1
              AND status IN ('held', 'offered') ORDER BY booth_code""",
        exhibitor_id,
    )
    contracts = await pool.fetch(
        f"SELECT * FROM {LEDGER}.contracts WHERE exhibitor_id = $1 ORDER BY signed_at",
        exhibitor_id,
    )
    charged = sum(c["fee_fen"] if c["status"] == "cancelled" else c["price_fen"] for c in contracts)
    paid = sum(c["paid_fen"] for c in contracts)
    return ExhibitorAccount(
        exhibitor_id=exhibitor_id,
        edition_code=account.edition_code,
        status=account.status,
        name_zh=account.name_zh,
        name_en=account.name_en,
        holds=[ExhibitorBooth(**{k: r[k] for k in ExhibitorBooth.model_fields}) for r in holds],
        contracts=[
            ExhibitorContract(**{k: r[k] for k in ExhibitorContract.model_fields})
            for r in contracts
        ],
        charged_fen=charged,
        paid_fen=paid,
        balance_fen=charged - paid,
    )


@router.get("/editions/{edition_code}/exhibitors", summary="admitted exhibitors and balances")
async def exhibitors(
    edition_code: EditionCode,
    who: Sales,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> list[ExhibitorSummary]:
    rows = await pool.fetch(
        f"""SELECT e.exhibitor_id, e.name_zh, e.name_en, e.status,
              (SELECT count(*) FROM {FLOOR}.booths b
                 WHERE b.exhibitor_id = e.exhibitor_id AND b.status = 'held') AS holds,
              (SELECT count(*) FROM {LEDGER}.contracts c
                 WHERE c.exhibitor_id = e.exhibitor_id AND c.status <> 'cancelled') AS contracts,
              (SELECT coalesce(sum(CASE WHEN c.status = 'cancelled' THEN c.fee_fen
                                        ELSE c.price_fen END - c.paid_fen), 0)
                 FROM {LEDGER}.contracts c WHERE c.exhibitor_id = e.exhibitor_id) AS balance_fen
            FROM {FLOOR}.exhibitors e WHERE e.edition_code = $1
            ORDER BY e.name_en, e.exhibitor_id LIMIT $2""",
        edition_code,
        limit,
    )
    return [ExhibitorSummary(**dict(r)) for r in rows]


@router.get(
    "/editions/{edition_code}/booths/{booth_code}/history",
    summary="everything that happened to a booth: who held it, when, at what price, "
    "under which contract",
)
async def history(
    edition_code: EditionCode, booth_code: Code, who: SalesOrOps, store: Store
) -> list[HistoryEntry]:
    envelopes = await store.read_stream(booth_stream(edition_code, booth_code))
    if not envelopes:
        raise NotFound(f"booth {booth_code} not found", code="booth_not_found")
    entries = []
    for env in envelopes:
        data = env.data
        terms = data.get("terms") or {}
        quote = data.get("quote") or terms.get("quote") or {}
        entries.append(
            HistoryEntry(
                version=env.stream_version,
                event_type=env.event_type,
                occurred_at=env.occurred_at,
                actor=env.actor,
                reason=env.reason,
                exhibitor_id=data.get("exhibitor_id") or terms.get("exhibitor_id"),
                contract_id=data.get("contract_id") or terms.get("contract_id"),
                price_fen=quote.get("total_fen") or data.get("price_fen"),
                rule_version=quote.get("rule_version"),
                data=data,
            )
        )
    return entries
