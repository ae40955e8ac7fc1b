"""The live floor plan of every hall: each booth's status, holder, price and deadlines.

The sales desk watches it; the expiry jobs read what is due from it. Updated within a second
of the event by the relay and this projection.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    BoothAdded,
    BoothConfirmed,
    BoothHeld,
    BoothOffered,
    BoothPriceAdjusted,
    BoothReserved,
    ContractCancelled,
    ContractFlagged,
    ContractMovedIn,
    ContractMovedOut,
    DepositPaid,
    ExhibitorAdmitted,
    ExhibitorWithdrawn,
    HallAdded,
    HallCertified,
    HoldExpired,
    HoldReleased,
    OfferLapsed,
    PaidInFull,
    PaymentReceived,
    registry,
)

floor_plan = Projection(
    name="booths_floor_plan",
    topics=["booths.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS halls (
        edition_code           text NOT NULL,
        hall_code              text NOT NULL,
        venue_code             text NOT NULL,
        name_zh                text NOT NULL,
        name_en                text NOT NULL,
        structure              text NOT NULL,
        certification_required boolean NOT NULL,
        certificate_no         text,
        PRIMARY KEY (edition_code, hall_code)
    );
    CREATE TABLE IF NOT EXISTS booths (
        edition_code    text NOT NULL,
        booth_code      text NOT NULL,
        venue_code      text NOT NULL,
        hall_code       text NOT NULL,
        zone_code       text NOT NULL,
        booth_type      text NOT NULL,
        area_m2         numeric NOT NULL,
        open_sides      text NOT NULL,
        x               numeric,
        y               numeric,
        width           numeric,
        depth           numeric,
        status          text NOT NULL DEFAULT 'free',
        exhibitor_id    text,
        hold_expires_at timestamptz,
        offer_until     timestamptz,
        price_fen       bigint,
        rule_version    integer,
        contract_id     text,
        paid_fen        bigint NOT NULL DEFAULT 0,
        flag            text,
        updated_at      timestamptz NOT NULL,
        PRIMARY KEY (edition_code, booth_code)
    );
    -- Hall first: the primary key is then the only index led by the edition, so the plan
    -- an update of one booth caches before the table has statistics (a fresh edition, a
    -- rush before autovacuum's first ANALYZE) cannot walk every booth of the edition in
    -- (edition, hall, booth) order, which it picked on a tie and cost ~35 pages a hold.
    DROP INDEX IF EXISTS booths_by_hall;
    CREATE INDEX IF NOT EXISTS booths_in_hall ON booths (hall_code, edition_code, booth_code);
    CREATE INDEX IF NOT EXISTS booths_by_exhibitor ON booths (exhibitor_id);
    CREATE INDEX IF NOT EXISTS booths_holds_due ON booths (hold_expires_at) WHERE status = 'held';
    CREATE INDEX IF NOT EXISTS booths_offers_due ON booths (offer_until) WHERE status = 'offered';
    CREATE TABLE IF NOT EXISTS exhibitors (
        exhibitor_id text PRIMARY KEY,
        edition_code text NOT NULL,
        name_zh      text NOT NULL,
        name_en      text NOT NULL,
        status       text NOT NULL
    );
    """,
)

VACATE = """UPDATE booths SET status = 'free', exhibitor_id = NULL, hold_expires_at = NULL,
    offer_until = NULL, price_fen = NULL, rule_version = NULL, contract_id = NULL, paid_fen = 0,
    flag = NULL, updated_at = $3 WHERE edition_code = $1 AND booth_code = $2"""


@floor_plan.on(HallAdded)
async def hall_added(e: HallAdded, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "INSERT INTO halls VALUES ($1, $2, $3, $4, $5, $6, $7, NULL) ON CONFLICT DO NOTHING",
        e.edition_code,
        e.hall_code,
        e.venue_code,
        e.name_zh,
        e.name_en,
        e.structure,
        e.certification_required,
    )


@floor_plan.on(HallCertified)
async def hall_certified(e: HallCertified, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE halls SET certificate_no = $3 WHERE edition_code = $1 AND hall_code = $2",
        e.edition_code,
        e.hall_code,
        e.certificate_no,
    )


@floor_plan.on(BoothAdded)
async def booth_added(e: BoothAdded, env: Envelope, tx: ReadModel) -> Sql:
    g = e.spec.geometry
    return sql(
        """INSERT INTO booths (edition_code, booth_code, venue_code, hall_code, zone_code,
             booth_type, area_m2, open_sides, x, y, width, depth, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
           ON CONFLICT DO NOTHING""",
        e.edition_code,
        e.booth_code,
        e.spec.venue_code,
        e.spec.hall_code,
        e.spec.zone_code,
        e.spec.booth_type,
        e.spec.area_m2,
        e.spec.open_sides,
        g.x if g else None,
        g.y if g else None,
        g.width if g else None,
        g.depth if g else None,
        env.occurred_at,
    )


@floor_plan.on(BoothHeld)
async def held(e: BoothHeld, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE booths SET status = 'held', exhibitor_id = $3, hold_expires_at = $4,
             offer_until = NULL, price_fen = $5, rule_version = $6, contract_id = NULL,
             paid_fen = 0, flag = NULL, updated_at = $7
           WHERE edition_code = $1 AND booth_code = $2""",
        e.edition_code,
        e.booth_code,
        e.exhibitor_id,
        e.expires_at,
        e.quote.total_fen,
        e.quote.rule_version,
        env.occurred_at,
    )


@floor_plan.on(HoldReleased)
async def released(e: HoldReleased, env: Envelope, tx: ReadModel) -> Sql:
    return sql(VACATE, e.edition_code, e.booth_code, env.occurred_at)


@floor_plan.on(HoldExpired)
async def expired(e: HoldExpired, env: Envelope, tx: ReadModel) -> Sql:
    return sql(VACATE, e.edition_code, e.booth_code, env.occurred_at)


@floor_plan.on(OfferLapsed)
async def lapsed(e: OfferLapsed, env: Envelope, tx: ReadModel) -> Sql:
    return sql(VACATE, e.edition_code, e.booth_code, env.occurred_at)


@floor_plan.on(ContractCancelled)
async def cancelled(e: ContractCancelled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(VACATE, e.edition_code, e.booth_code, env.occurred_at)


@floor_plan.on(ContractMovedOut)
async def moved_out(e: ContractMovedOut, env: Envelope, tx: ReadModel) -> Sql:
    return sql(VACATE, e.edition_code, e.booth_code, env.occurred_at)


@floor_plan.on(BoothReserved)
async def reserved(e: BoothReserved, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE booths SET status = 'reserved', exhibitor_id = $3, hold_expires_at = NULL,
             price_fen = $4, rule_version = $5, contract_id = $6, paid_fen = 0, updated_at = $7
           WHERE edition_code = $1 AND booth_code = $2""",
        e.edition_code,
        e.booth_code,
        e.terms.exhibitor_id,
        e.terms.price_fen,
        e.terms.quote.rule_version,
        e.terms.contract_id,
        env.occurred_at,
    )


@floor_plan.on(BoothPriceAdjusted)
async def price_adjusted(e: BoothPriceAdjusted, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE booths SET price_fen = $3, updated_at = $4 WHERE edition_code = $1"
        " AND booth_code = $2 AND contract_id = $5",
        e.edition_code,
        e.booth_code,
        e.price_after_fen,
        env.occurred_at,
        e.contract_id,
    )


@floor_plan.on(PaymentReceived)
async def paid(e: PaymentReceived, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE booths SET paid_fen = $3, updated_at = $4 WHERE edition_code = $1"
        " AND booth_code = $2",
        e.edition_code,
        e.booth_code,
        e.paid_total_fen,
        env.occurred_at,
    )


def _status(env: Envelope, ed: str, code: str, status: str) -> Sql:
    return sql(
        "UPDATE booths SET status = $3, updated_at = $4 WHERE edition_code = $1"
        " AND booth_code = $2",
        ed,
        code,
        status,
        env.occurred_at,
    )


@floor_plan.on(DepositPaid)
async def deposit_paid(e: DepositPaid, env: Envelope, tx: ReadModel) -> Sql:
    return _status(env, e.edition_code, e.booth_code, "deposit_paid")


@floor_plan.on(PaidInFull)
async def paid_in_full(e: PaidInFull, env: Envelope, tx: ReadModel) -> Sql:
    return _status(env, e.edition_code, e.booth_code, "paid_in_full")


@floor_plan.on(BoothConfirmed)
async def confirmed(e: BoothConfirmed, env: Envelope, tx: ReadModel) -> Sql:
    return _status(env, e.edition_code, e.booth_code, "confirmed")


@floor_plan.on(ContractFlagged)
async def flagged(e: ContractFlagged, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE booths SET flag = $3, updated_at = $4 WHERE edition_code = $1 AND booth_code = $2",
        e.edition_code,
        e.booth_code,
        e.reason,
        env.occurred_at,
    )


@floor_plan.on(ContractMovedIn)
async def moved_in(e: ContractMovedIn, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE booths SET status = $3, exhibitor_id = $4, hold_expires_at = NULL,
             offer_until = NULL, price_fen = $5, rule_version = $6, contract_id = $7,
             paid_fen = $8, flag = NULL, updated_at = $9
           WHERE edition_code = $1 AND booth_code = $2""",
        e.edition_code,
        e.booth_code,
        e.stage,
        e.terms.exhibitor_id,
        e.terms.price_fen,
        e.terms.quote.rule_version,
        e.terms.contract_id,
        e.paid_total_fen,
        env.occurred_at,
    )


@floor_plan.on(BoothOffered)
async def offered(e: BoothOffered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE booths SET status = 'offered', exhibitor_id = $3, offer_until = $4,
             hold_expires_at = NULL, price_fen = NULL, rule_version = NULL, contract_id = NULL,
             paid_fen = 0, flag = NULL, updated_at = $5
           WHERE edition_code = $1 AND booth_code = $2""",
        e.edition_code,
        e.booth_code,
        e.exhibitor_id,
        e.claim_until,
        env.occurred_at,
    )


@floor_plan.on(ExhibitorAdmitted)
async def admitted(e: ExhibitorAdmitted, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "INSERT INTO exhibitors VALUES ($1, $2, $3, $4, 'admitted') ON CONFLICT DO NOTHING",
        e.exhibitor_id,
        e.edition_code,
        e.name_zh,
        e.name_en,
    )


@floor_plan.on(ExhibitorWithdrawn)
async def withdrawn(e: ExhibitorWithdrawn, env: Envelope, tx: ReadModel) -> Sql:
    return sql("UPDATE exhibitors SET status = 'withdrawn' WHERE exhibitor_id = $1", e.exhibitor_id)
