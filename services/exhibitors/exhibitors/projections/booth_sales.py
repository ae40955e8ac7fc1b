"""Where each exhibitor stands: its physical booth and online package, from booth sales.

A projection over the booths service's `booths.events` topic, decoding only the events it
needs with its own registry (`consumed`): models that read the fields used here and ignore
the rest, so booths may add fields freely. It never reads the booths database. Booths knows
an exhibitor by its participation's id (our application id), which is how the public pages
join it to the directory.

A booth is shown from its contract (签约, `BoothReserved`) on, marked confirmed once booths
confirms it; a move (`ContractMovedIn`) puts the contract on its new booth and needs a new
confirmation; a cancellation takes it off. The booth stream's events arrive in order; a
move's two halves sit on two booth streams (two partitions), so each change is applied
only while the contract is still on the booth the event speaks of.
"""

from __future__ import annotations

from typing import Literal

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, Statements, sql
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from .stamps import STAMPS_SQL, bump

consumed = EventRegistry()


class _Consumed(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    edition_code: str


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    venue_code: str
    hall_code: str
    zone_code: str


class _Terms(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    contract_id: str
    exhibitor_id: str


@consumed.event("booths.VenueAdded", version=1)
class VenueAdded(_Consumed):
    venue_code: str
    name_zh: str
    name_en: str


@consumed.event("booths.HallAdded", version=1)
class HallAdded(_Consumed):
    venue_code: str
    hall_code: str
    name_zh: str
    name_en: str


@consumed.event("booths.BoothAdded", version=1)
class BoothAdded(_Consumed):
    booth_code: str
    spec: _Spec


@consumed.event("booths.BoothReserved", version=1)
class BoothReserved(_Consumed):
    booth_code: str
    terms: _Terms


@consumed.event("booths.BoothConfirmed", version=1)
class BoothConfirmed(_Consumed):
    booth_code: str
    contract_id: str


@consumed.event("booths.ContractMovedIn", version=1)
class ContractMovedIn(_Consumed):
    booth_code: str
    terms: _Terms
    from_booth_code: str


@consumed.event("booths.ContractCancelled", version=1)
class ContractCancelled(_Consumed):
    booth_code: str
    contract_id: str
    exhibitor_id: str


@consumed.event("booths.OnlinePackageDefined", version=1)
class OnlinePackageDefined(_Consumed):
    tier: str
    name_zh: str
    name_en: str


@consumed.event("booths.OnlineBoothOrdered", version=1)
class OnlineBoothOrdered(_Consumed):
    order_id: str
    exhibitor_id: str
    tier: str


booth_sales = Projection(
    name="booth_sales",
    topics=["booths.events"],
    registry=consumed,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS venues (
        edition_code text NOT NULL,
        venue_code   text NOT NULL,
        name_zh      text NOT NULL,
        name_en      text NOT NULL,
        PRIMARY KEY (edition_code, venue_code)
    );
    CREATE TABLE IF NOT EXISTS halls (
        edition_code text NOT NULL,
        hall_code    text NOT NULL,
        venue_code   text NOT NULL,
        name_zh      text NOT NULL,
        name_en      text NOT NULL,
        PRIMARY KEY (edition_code, hall_code)
    );
    CREATE TABLE IF NOT EXISTS booths (
        edition_code text NOT NULL,
        booth_code   text NOT NULL,
        venue_code   text NOT NULL,
        hall_code    text NOT NULL,
        zone_code    text NOT NULL,
        PRIMARY KEY (edition_code, booth_code)
    );
    CREATE TABLE IF NOT EXISTS contracts (
        contract_id  text PRIMARY KEY,
        exhibitor_id text NOT NULL,
        edition_code text NOT NULL,
        booth_code   text NOT NULL,
        status       text NOT NULL,
        changed_at   timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS contracts_of_exhibitor ON contracts (exhibitor_id)
        WHERE status <> 'cancelled';
    CREATE TABLE IF NOT EXISTS packages (
        edition_code text NOT NULL,
        tier         text NOT NULL,
        name_zh      text NOT NULL,
        name_en      text NOT NULL,
        PRIMARY KEY (edition_code, tier)
    );
    CREATE TABLE IF NOT EXISTS online_orders (
        order_id     text PRIMARY KEY,
        exhibitor_id text NOT NULL,
        edition_code text NOT NULL,
        tier         text NOT NULL,
        ordered_at   timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS online_orders_of_exhibitor ON online_orders (exhibitor_id);
    """
    + STAMPS_SQL,
)

STAMP = bump(
    """SELECT k, 1, $2::timestamptz FROM unnest(ARRAY['all', 'exhibitor:' || $1::text]) AS k"""
)
STAMP_OF_CONTRACT = bump(
    """SELECT k, 1, $2::timestamptz FROM contracts c,
              unnest(ARRAY['all', 'exhibitor:' || c.exhibitor_id]) AS k
       WHERE c.contract_id = $1"""
)


STAMP_OF_EDITION = bump(
    """SELECT k, 1, $2::timestamptz FROM (
           SELECT 'all'
           UNION SELECT 'exhibitor:' || exhibitor_id FROM contracts WHERE edition_code = $1
           UNION SELECT 'exhibitor:' || exhibitor_id FROM online_orders WHERE edition_code = $1
       ) AS t(k)"""
)


def _stamp_edition(edition_code: str, env: Envelope) -> Sql:
    """A venue's, hall's or package's names show on the pages of the edition's exhibitors
    (they may arrive after the contracts: another stream, another partition)."""
    return sql(STAMP_OF_EDITION, edition_code, env.occurred_at)


ContractStatus = Literal["reserved", "confirmed", "cancelled"]


@booth_sales.on(VenueAdded)
async def venue(e: VenueAdded, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """INSERT INTO venues VALUES ($1, $2, $3, $4) ON CONFLICT (edition_code, venue_code)
               DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en""",
            e.edition_code,
            e.venue_code,
            e.name_zh,
            e.name_en,
        ),
        _stamp_edition(e.edition_code, env),
    ]


@booth_sales.on(HallAdded)
async def hall(e: HallAdded, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """INSERT INTO halls VALUES ($1, $2, $3, $4, $5) ON CONFLICT (edition_code, hall_code)
               DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en""",
            e.edition_code,
            e.hall_code,
            e.venue_code,
            e.name_zh,
            e.name_en,
        ),
        _stamp_edition(e.edition_code, env),
    ]


@booth_sales.on(BoothAdded)
async def booth(e: BoothAdded, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO booths VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (edition_code, booth_code) DO NOTHING""",
        e.edition_code,
        e.booth_code,
        e.spec.venue_code,
        e.spec.hall_code,
        e.spec.zone_code,
    )


@booth_sales.on(BoothReserved)
async def reserved(e: BoothReserved, env: Envelope, tx: ReadModel) -> Statements:
    # DO NOTHING: the contract's move may have been read first (another partition).
    return [
        sql(
            """INSERT INTO contracts VALUES ($1, $2, $3, $4, 'reserved', $5)
               ON CONFLICT (contract_id) DO NOTHING""",
            e.terms.contract_id,
            e.terms.exhibitor_id,
            e.edition_code,
            e.booth_code,
            env.occurred_at,
        ),
        sql(STAMP, e.terms.exhibitor_id, env.occurred_at),
    ]


@booth_sales.on(BoothConfirmed)
async def confirmed(e: BoothConfirmed, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """UPDATE contracts SET status = 'confirmed', changed_at = $3
               WHERE contract_id = $1 AND booth_code = $2 AND status = 'reserved'""",
            e.contract_id,
            e.booth_code,
            env.occurred_at,
        ),
        sql(STAMP_OF_CONTRACT, e.contract_id, env.occurred_at),
    ]


@booth_sales.on(ContractMovedIn)
async def moved_in(e: ContractMovedIn, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """INSERT INTO contracts VALUES ($1, $2, $3, $4, 'reserved', $5)
               ON CONFLICT (contract_id) DO UPDATE SET booth_code = excluded.booth_code,
                 status = 'reserved', changed_at = excluded.changed_at
               WHERE contracts.status <> 'cancelled'""",
            e.terms.contract_id,
            e.terms.exhibitor_id,
            e.edition_code,
            e.booth_code,
            env.occurred_at,
        ),
        sql(STAMP, e.terms.exhibitor_id, env.occurred_at),
    ]


@booth_sales.on(ContractCancelled)
async def cancelled(e: ContractCancelled, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """UPDATE contracts SET status = 'cancelled', changed_at = $3
               WHERE contract_id = $1 AND booth_code = $2""",
            e.contract_id,
            e.booth_code,
            env.occurred_at,
        ),
        sql(STAMP, e.exhibitor_id, env.occurred_at),
    ]


@booth_sales.on(OnlinePackageDefined)
async def package(e: OnlinePackageDefined, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """INSERT INTO packages VALUES ($1, $2, $3, $4) ON CONFLICT (edition_code, tier)
               DO UPDATE SET name_zh = excluded.name_zh, name_en = excluded.name_en""",
            e.edition_code,
            e.tier,
            e.name_zh,
            e.name_en,
        ),
        _stamp_edition(e.edition_code, env),
    ]


@booth_sales.on(OnlineBoothOrdered)
async def ordered(e: OnlineBoothOrdered, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """INSERT INTO online_orders VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (order_id) DO NOTHING""",
            e.order_id,
            e.exhibitor_id,
            e.edition_code,
            e.tier,
            env.occurred_at,
        ),
        sql(STAMP, e.exhibitor_id, env.occurred_at),
    ]
