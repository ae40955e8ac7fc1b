"""Contracts and money: each exhibitor's booths and balance, revenue by venue, hall and zone.

Contracts move between booths, so events of one contract arrive from several booth streams
(several Kafka partitions); each change is written so that arriving late changes nothing:
inserts do nothing when the row exists, payments only ever raise what was paid, and a
cancelled contract stays cancelled.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    BoothAdded,
    BoothConfirmed,
    BoothPriceAdjusted,
    BoothReserved,
    ContractCancelled,
    ContractFlagged,
    ContractMovedIn,
    DepositPaid,
    OnlineBoothOrdered,
    OnlinePaymentReceived,
    PaidInFull,
    PaymentReceived,
    registry,
)

ledger = Projection(
    name="booths_ledger",
    topics=["booths.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS locations (
        edition_code text NOT NULL,
        booth_code   text NOT NULL,
        venue_code   text NOT NULL,
        hall_code    text NOT NULL,
        zone_code    text NOT NULL,
        PRIMARY KEY (edition_code, booth_code)
    );
    CREATE TABLE IF NOT EXISTS contracts (
        contract_id    text PRIMARY KEY,
        edition_code   text NOT NULL,
        exhibitor_id   text NOT NULL,
        kind           text NOT NULL,           -- booth | online
        booth_code     text,
        tier           text,
        venue_code     text NOT NULL,
        hall_code      text,
        zone_code      text,
        status         text NOT NULL,           -- reserved … confirmed | cancelled
        price_fen      bigint NOT NULL,
        deposit_fen    bigint NOT NULL,
        paid_fen       bigint NOT NULL DEFAULT 0,
        fee_fen        bigint NOT NULL DEFAULT 0,
        refund_due_fen bigint NOT NULL DEFAULT 0,
        rule_version   integer NOT NULL,
        flag           text,
        signed_at      timestamptz NOT NULL,
        updated_at     timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS contracts_by_exhibitor ON contracts (exhibitor_id);
    CREATE INDEX IF NOT EXISTS contracts_by_edition ON contracts (edition_code, status);
    """,
)

ACTIVE = "status <> 'cancelled'"


@ledger.on(BoothAdded)
async def located(e: BoothAdded, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "INSERT INTO locations VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        e.edition_code,
        e.booth_code,
        e.spec.venue_code,
        e.spec.hall_code,
        e.spec.zone_code,
    )


@ledger.on(BoothReserved)
async def reserved(e: BoothReserved, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO contracts (contract_id, edition_code, exhibitor_id, kind, booth_code,
             venue_code, hall_code, zone_code, status, price_fen, deposit_fen, rule_version,
             signed_at, updated_at)
           SELECT $1, $2, $3, 'booth', $4, venue_code, hall_code, zone_code, 'reserved', $5, $6,
                  $7, $8, $8
           FROM locations WHERE edition_code = $2 AND booth_code = $4
           ON CONFLICT (contract_id) DO NOTHING""",
        e.terms.contract_id,
        e.edition_code,
        e.terms.exhibitor_id,
        e.booth_code,
        e.terms.price_fen,
        e.terms.deposit_fen,
        e.terms.quote.rule_version,
        env.occurred_at,
    )


@ledger.on(PaymentReceived)
async def paid(e: PaymentReceived, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE contracts SET paid_fen = greatest(paid_fen, $2), updated_at = $3"
        f" WHERE contract_id = $1 AND {ACTIVE}",
        e.contract_id,
        e.paid_total_fen,
        env.occurred_at,
    )


@ledger.on(BoothPriceAdjusted)
async def price_adjusted(e: BoothPriceAdjusted, env: Envelope, tx: ReadModel) -> Sql:
    """Only while the contract is on that booth here: a move that arrived first brought the
    lowered terms already (re-priced for the new booth)."""
    return sql(
        """UPDATE contracts SET price_fen = $2, deposit_fen = least(deposit_fen, $2),
             refund_due_fen = $3, updated_at = $4
           WHERE contract_id = $1 AND booth_code = $5 AND status <> 'cancelled'""",
        e.contract_id,
        e.price_after_fen,
        e.refund_due_fen,
        env.occurred_at,
        e.booth_code,
    )


@ledger.on(DepositPaid)
async def deposit_paid(e: DepositPaid, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE contracts SET status = 'deposit_paid', updated_at = $2"
        " WHERE contract_id = $1 AND status = 'reserved'",
        e.contract_id,
        env.occurred_at,
    )


@ledger.on(PaidInFull)
async def paid_in_full(e: PaidInFull, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE contracts SET status = 'paid_in_full', updated_at = $2"
        " WHERE contract_id = $1 AND status IN ('reserved', 'deposit_paid')",
        e.contract_id,
        env.occurred_at,
    )


@ledger.on(BoothConfirmed)
async def confirmed(e: BoothConfirmed, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE contracts SET status = 'confirmed', updated_at = $2"
        f" WHERE contract_id = $1 AND {ACTIVE}",
        e.contract_id,
        env.occurred_at,
    )


@ledger.on(ContractCancelled)
async def cancelled(e: ContractCancelled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE contracts SET status = 'cancelled', fee_fen = $2, paid_fen = $3,
             refund_due_fen = $4, updated_at = $5 WHERE contract_id = $1""",
        e.contract_id,
        e.fee_fen,
        e.paid_fen,
        e.refund_due_fen,
        env.occurred_at,
    )


@ledger.on(ContractFlagged)
async def flagged(e: ContractFlagged, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE contracts SET flag = $2, updated_at = $3 WHERE contract_id = $1",
        e.contract_id,
        e.reason,
        env.occurred_at,
    )


@ledger.on(ContractMovedIn)
async def moved_in(e: ContractMovedIn, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO contracts (contract_id, edition_code, exhibitor_id, kind, booth_code,
             venue_code, hall_code, zone_code, status, price_fen, deposit_fen, paid_fen,
             rule_version, signed_at, updated_at)
           SELECT $1, $2, $3, 'booth', $4, venue_code, hall_code, zone_code, $5, $6, $7, $8,
                  $9, $10, $10
           FROM locations WHERE edition_code = $2 AND booth_code = $4
           ON CONFLICT (contract_id) DO UPDATE SET booth_code = excluded.booth_code,
             venue_code = excluded.venue_code, hall_code = excluded.hall_code,
             zone_code = excluded.zone_code, status = excluded.status,
             price_fen = excluded.price_fen, deposit_fen = excluded.deposit_fen,
             paid_fen = greatest(contracts.paid_fen, excluded.paid_fen),
             updated_at = excluded.updated_at
           WHERE contracts.status <> 'cancelled'""",
        e.terms.contract_id,
        e.edition_code,
        e.terms.exhibitor_id,
        e.booth_code,
        e.stage,
        e.terms.price_fen,
        e.terms.deposit_fen,
        e.paid_total_fen,
        e.terms.quote.rule_version,
        env.occurred_at,
    )


@ledger.on(OnlineBoothOrdered)
async def online_ordered(e: OnlineBoothOrdered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO contracts (contract_id, edition_code, exhibitor_id, kind, tier,
             venue_code, status, price_fen, deposit_fen, rule_version, signed_at, updated_at)
           VALUES ($1, $2, $3, 'online', $4, 'online', 'reserved', $5, 0, $6, $7, $7)
           ON CONFLICT (contract_id) DO NOTHING""",
        e.order_id,
        e.edition_code,
        e.exhibitor_id,
        e.tier,
        e.price_fen,
        e.rule_version,
        env.occurred_at,
    )


@ledger.on(OnlinePaymentReceived)
async def online_paid(e: OnlinePaymentReceived, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE contracts SET paid_fen = greatest(paid_fen, $2),
             status = CASE WHEN greatest(paid_fen, $2) >= price_fen THEN 'paid_in_full'
                           ELSE status END,
             updated_at = $3
           WHERE contract_id = $1""",
        e.order_id,
        e.paid_total_fen,
        env.occurred_at,
    )
