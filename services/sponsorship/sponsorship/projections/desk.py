"""The sponsorship desk's read model (`proj_sponsorship_desk`): tiers and their packages,
instalments and payments, each package's benefits (the fulfilment checklist), placements,
bookings and the days they run (the inventory calendar), and creatives (whose approved
versions make the serving schedule). The expiry job finds its due offers and holds here.

Every handler is one idempotent change: a redelivered event writes the same row again.
"""

from __future__ import annotations

from datetime import UTC, timedelta

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    BenefitDelivered,
    BenefitFailed,
    BenefitProofRevised,
    BenefitRequested,
    BenefitWithdrawn,
    BookingConfirmed,
    BookingPaid,
    BookingReleased,
    ContractSigned,
    CreativeApproved,
    CreativeReturned,
    CreativeSubmitted,
    OfferExpired,
    PackageCancelled,
    PackageOffered,
    PaymentRecorded,
    PlacementDefined,
    SlotHeld,
    TierDefined,
    registry,
)

desk = Projection(
    name="sponsorship_desk",
    topics=["sponsorship.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS tiers (
        edition_code text NOT NULL,
        tier_code    text NOT NULL,
        name         text NOT NULL,
        quantity     integer NOT NULL,
        exclusivity  text NOT NULL,
        price_fen    bigint NOT NULL,
        benefits     jsonb NOT NULL,
        PRIMARY KEY (edition_code, tier_code)
    );
    CREATE TABLE IF NOT EXISTS packages (
        package_id   text PRIMARY KEY,
        edition_code text NOT NULL,
        tier_code    text NOT NULL,
        sponsor_id   text NOT NULL,
        sponsor_name text NOT NULL,
        category     text NOT NULL,
        price_fen    bigint NOT NULL,
        status       text NOT NULL,
        expires_at   timestamptz NOT NULL,
        offered_at   timestamptz NOT NULL,
        offered_by   text NOT NULL,
        contract_no  text,
        signed_at    timestamptz,
        fee_percent  integer,
        paid_fen     bigint NOT NULL DEFAULT 0,
        fee_fen      bigint,
        refund_fen   bigint,
        closed_why   text
    );
    CREATE INDEX IF NOT EXISTS packages_due ON packages (expires_at) WHERE status = 'offered';
    CREATE INDEX IF NOT EXISTS packages_edition ON packages (edition_code, tier_code);
    CREATE TABLE IF NOT EXISTS instalments (
        package_id text NOT NULL,
        n          integer NOT NULL,
        due_on     date NOT NULL,
        amount_fen bigint NOT NULL,
        PRIMARY KEY (package_id, n)
    );
    CREATE TABLE IF NOT EXISTS payments (
        payment_id   text NOT NULL,
        owner_id     text NOT NULL,
        owner_kind   text NOT NULL,
        edition_code text NOT NULL,
        amount_fen   bigint NOT NULL,
        received_at  timestamptz NOT NULL,
        PRIMARY KEY (owner_kind, owner_id, payment_id)
    );
    CREATE TABLE IF NOT EXISTS benefits (
        package_id text NOT NULL,
        benefit_no integer NOT NULL,
        kind       text NOT NULL,
        quantity   integer NOT NULL,
        detail     text NOT NULL,
        standing   text NOT NULL,
        note       text NOT NULL DEFAULT '',
        since      timestamptz NOT NULL,
        PRIMARY KEY (package_id, benefit_no)
    );
    CREATE TABLE IF NOT EXISTS placements (
        edition_code      text NOT NULL,
        placement_code    text NOT NULL,
        channel           text NOT NULL,
        name              text NOT NULL,
        kind              text NOT NULL,
        shares            integer NOT NULL,
        price_per_day_fen bigint NOT NULL,
        PRIMARY KEY (edition_code, placement_code)
    );
    CREATE TABLE IF NOT EXISTS bookings (
        booking_id     text PRIMARY KEY,
        edition_code   text NOT NULL,
        placement_code text NOT NULL,
        channel        text NOT NULL,
        sponsor_id     text NOT NULL,
        first_day      date NOT NULL,
        last_day       date NOT NULL,
        price_fen      bigint NOT NULL,
        paid_fen       bigint NOT NULL DEFAULT 0,
        status         text NOT NULL,
        expires_at     timestamptz,
        held_at        timestamptz NOT NULL,
        served_version integer
    );
    CREATE INDEX IF NOT EXISTS bookings_due ON bookings (expires_at) WHERE status = 'held';
    CREATE TABLE IF NOT EXISTS booking_days (
        booking_id     text NOT NULL,
        day            date NOT NULL,
        edition_code   text NOT NULL,
        placement_code text NOT NULL,
        day_fen        bigint NOT NULL,
        PRIMARY KEY (booking_id, day)
    );
    CREATE INDEX IF NOT EXISTS booking_days_calendar
        ON booking_days (edition_code, day, placement_code);
    CREATE TABLE IF NOT EXISTS creatives (
        booking_id text NOT NULL,
        version    integer NOT NULL,
        image_url  text NOT NULL,
        link_url   text NOT NULL,
        alt_text   text NOT NULL,
        review     text NOT NULL,
        reason     text,
        PRIMARY KEY (booking_id, version)
    );
    """,
)


# --- tiers and packages ----------------------------------------------------------------------


@desk.on(TierDefined)
async def tier_defined(e: TierDefined, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO tiers VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb)
           ON CONFLICT (edition_code, tier_code) DO UPDATE SET name = $3, quantity = $4,
             exclusivity = $5, price_fen = $6, benefits = $7::jsonb""",
        e.edition_code, e.tier_code, e.name, e.quantity, e.exclusivity, e.price_fen,
        "[" + ",".join(b.model_dump_json() for b in e.benefits) + "]",
    )  # fmt: skip


@desk.on(PackageOffered)
async def package_offered(e: PackageOffered, env: Envelope, tx: ReadModel) -> list[Sql]:
    return [
        sql(
            """INSERT INTO packages (package_id, edition_code, tier_code, sponsor_id,
                 sponsor_name, category, price_fen, status, expires_at, offered_at, offered_by)
               VALUES ($1, $2, $3, $4, $5, $6, $7, 'offered', $8, $9, $10)
               ON CONFLICT (package_id) DO NOTHING""",
            e.package_id,
            e.edition_code,
            e.tier_code,
            e.sponsor_id,
            e.sponsor_name,
            e.category,
            e.price_fen,
            e.expires_at,
            env.occurred_at,
            e.by,
        ),
        *(
            sql(
                """INSERT INTO benefits VALUES ($1, $2, $3, $4, $5, 'pending', '', $6)
                   ON CONFLICT (package_id, benefit_no) DO NOTHING""",
                e.package_id,
                n,
                b.kind,
                b.quantity,
                b.detail,
                env.occurred_at,
            )
            for n, b in enumerate(e.benefits, start=1)
        ),
    ]


@desk.on(ContractSigned)
async def contract_signed(e: ContractSigned, env: Envelope, tx: ReadModel) -> list[Sql]:
    return [
        sql(
            """UPDATE packages SET status = 'contracted', contract_no = $2, signed_at = $3,
                 fee_percent = $4 WHERE package_id = $1""",
            e.package_id,
            e.contract_no,
            env.occurred_at,
            e.cancellation_fee_percent,
        ),
        *(
            sql(
                """INSERT INTO instalments VALUES ($1, $2, $3, $4)
                   ON CONFLICT (package_id, n) DO NOTHING""",
                e.package_id,
                n,
                i.due_on,
                i.amount_fen,
            )
            for n, i in enumerate(e.instalments, start=1)
        ),
    ]


@desk.on(PaymentRecorded)
async def payment_recorded(e: PaymentRecorded, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """WITH new AS (
             INSERT INTO payments SELECT $1, $2, 'package', p.edition_code, $3, $4
             FROM packages p WHERE p.package_id = $2
             ON CONFLICT DO NOTHING RETURNING amount_fen)
           UPDATE packages SET paid_fen = paid_fen + (SELECT coalesce(sum(amount_fen), 0) FROM new)
           WHERE package_id = $2""",
        e.payment_id, e.package_id, e.amount_fen, e.received_at,
    )  # fmt: skip


@desk.on(OfferExpired)
async def offer_expired(e: OfferExpired, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE packages SET status = 'expired', closed_why = 'offer expired'"
        " WHERE package_id = $1",
        e.package_id,
    )


@desk.on(PackageCancelled)
async def package_cancelled(e: PackageCancelled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE packages SET status = 'cancelled', fee_fen = $2, refund_fen = $3,
             closed_why = $4 WHERE package_id = $1""",
        e.package_id, e.fee_fen, e.refund_fen, e.reason,
    )  # fmt: skip


def _standing(package_id: str, number: int, standing: str, note: str, env: Envelope) -> Sql:
    return sql(
        """UPDATE benefits SET standing = $3, note = $4, since = $5
           WHERE package_id = $1 AND benefit_no = $2""",
        package_id, number, standing, note, env.occurred_at,
    )  # fmt: skip


@desk.on(BenefitRequested)
async def benefit_requested(e: BenefitRequested, env: Envelope, tx: ReadModel) -> Sql:
    return _standing(e.package_id, e.benefit_no, "requested", "", env)


@desk.on(BenefitDelivered)
async def benefit_delivered(e: BenefitDelivered, env: Envelope, tx: ReadModel) -> Sql:
    return _standing(e.package_id, e.benefit_no, "delivered", e.proof, env)


@desk.on(BenefitProofRevised)
async def benefit_proof_revised(e: BenefitProofRevised, env: Envelope, tx: ReadModel) -> Sql:
    # still delivered since it was: only the proof moved with what delivered it
    return sql(
        "UPDATE benefits SET note = $3 WHERE package_id = $1 AND benefit_no = $2",
        e.package_id, e.benefit_no, e.proof,
    )  # fmt: skip


@desk.on(BenefitFailed)
async def benefit_failed(e: BenefitFailed, env: Envelope, tx: ReadModel) -> Sql:
    return _standing(e.package_id, e.benefit_no, "failed", e.reason, env)


@desk.on(BenefitWithdrawn)
async def benefit_withdrawn(e: BenefitWithdrawn, env: Envelope, tx: ReadModel) -> Sql:
    # the sponsor reads who took back what it paid for, when, and why
    when = f"{e.withdrawn_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    note = f"{e.reason} (by {e.withdrawn_by} at the {e.service} service, {when})"
    return _standing(e.package_id, e.benefit_no, "withdrawn", note, env)


# --- placements, bookings, creatives --------------------------------------------------------


@desk.on(PlacementDefined)
async def placement_defined(e: PlacementDefined, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO placements VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (edition_code, placement_code) DO UPDATE SET name = $4, kind = $5,
             shares = $6, price_per_day_fen = $7""",
        e.edition_code, e.placement_code, e.channel, e.name, e.kind, e.shares,
        e.price_per_day_fen,
    )  # fmt: skip


@desk.on(SlotHeld)
async def slot_held(e: SlotHeld, env: Envelope, tx: ReadModel) -> list[Sql]:
    days = (e.last_day - e.first_day).days + 1
    day_fen = e.price_fen // days
    return [
        sql(
            """INSERT INTO bookings (booking_id, edition_code, placement_code, channel,
                 sponsor_id, first_day, last_day, price_fen, status, expires_at, held_at)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9, $10)
               ON CONFLICT (booking_id) DO NOTHING""",
            e.booking_id,
            e.edition_code,
            e.placement_code,
            e.channel,
            e.sponsor_id,
            e.first_day,
            e.last_day,
            e.price_fen,
            e.expires_at,
            env.occurred_at,
        ),
        *(
            sql(
                """INSERT INTO booking_days VALUES ($1, $2, $3, $4, $5)
                   ON CONFLICT (booking_id, day) DO NOTHING""",
                e.booking_id,
                e.first_day + timedelta(days=n),
                e.edition_code,
                e.placement_code,
                day_fen,
            )
            for n in range(days)
        ),
    ]


@desk.on(BookingConfirmed)
async def booking_confirmed(e: BookingConfirmed, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE bookings SET status = 'confirmed', expires_at = NULL WHERE booking_id = $1",
        e.booking_id,
    )


@desk.on(BookingPaid)
async def booking_paid(e: BookingPaid, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """WITH new AS (
             INSERT INTO payments SELECT $1, $2, 'booking', b.edition_code, $3, $4
             FROM bookings b WHERE b.booking_id = $2
             ON CONFLICT DO NOTHING RETURNING amount_fen)
           UPDATE bookings SET paid_fen = paid_fen + (SELECT coalesce(sum(amount_fen), 0) FROM new)
           WHERE booking_id = $2""",
        e.payment_id, e.booking_id, e.amount_fen, env.occurred_at,
    )  # fmt: skip


@desk.on(BookingReleased)
async def booking_released(e: BookingReleased, env: Envelope, tx: ReadModel) -> list[Sql]:
    return [
        sql("UPDATE bookings SET status = 'released' WHERE booking_id = $1", e.booking_id),
        sql("DELETE FROM booking_days WHERE booking_id = $1", e.booking_id),
    ]


@desk.on(CreativeSubmitted)
async def creative_submitted(e: CreativeSubmitted, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO creatives VALUES ($1, $2, $3, $4, $5, 'submitted', NULL)
           ON CONFLICT (booking_id, version) DO NOTHING""",
        e.booking_id, e.version, e.image_url, e.link_url, e.alt_text,
    )  # fmt: skip


@desk.on(CreativeApproved)
async def creative_approved(e: CreativeApproved, env: Envelope, tx: ReadModel) -> list[Sql]:
    return [
        sql(
            "UPDATE creatives SET review = 'approved' WHERE booking_id = $1 AND version = $2",
            e.booking_id,
            e.version,
        ),
        sql(
            """UPDATE bookings SET served_version = greatest(coalesce(served_version, 0), $2)
               WHERE booking_id = $1""",
            e.booking_id,
            e.version,
        ),
    ]


@desk.on(CreativeReturned)
async def creative_returned(e: CreativeReturned, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE creatives SET review = 'returned', reason = $3
           WHERE booking_id = $1 AND version = $2""",
        e.booking_id, e.version, e.reason,
    )  # fmt: skip
