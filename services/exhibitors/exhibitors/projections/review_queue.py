"""The recruitment team's review queue: every application, its status and how long it waits."""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, Statements, sql

from ..domain.edition import ReviewSlaSet
from ..domain.events import (
    ApplicationApproved,
    ApplicationEdited,
    ApplicationRejected,
    ApplicationReturned,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ExhibitorRegistered,
    ParticipationChanged,
    ReviewerAssigned,
    ReviewStarted,
    registry,
)

review_queue = Projection(
    name="review_queue",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS applications (
        application_id     text PRIMARY KEY,
        edition_code       text NOT NULL,
        applicant          text NOT NULL,
        name_zh            text NOT NULL,
        name_en            text NOT NULL,
        country_or_region  text NOT NULL,
        sector             text NOT NULL,
        participation_mode text NOT NULL,
        contact_name       text NOT NULL,
        contact_email      text NOT NULL,
        contact_phone      text NOT NULL,
        status             text NOT NULL,
        reviewer           text,
        submissions        integer NOT NULL DEFAULT 0,
        waiting_since      timestamptz,
        last_reason        text,
        registered_at      timestamptz NOT NULL,
        updated_at         timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS applications_queue
        ON applications (edition_code, status, waiting_since);
    -- Added with companies and placements; existing tables gain them in place.
    ALTER TABLE applications ADD COLUMN IF NOT EXISTS company_id text;
    ALTER TABLE applications ADD COLUMN IF NOT EXISTS venue text;
    ALTER TABLE applications ADD COLUMN IF NOT EXISTS zone text;
    ALTER TABLE applications ADD COLUMN IF NOT EXISTS theme text;
    -- Each edition's review deadline; editions without a row use the default.
    CREATE TABLE IF NOT EXISTS review_slas (
        edition_code text PRIMARY KEY,
        hours        integer NOT NULL
    );
    """,
)


@review_queue.on(ExhibitorRegistered)
async def registered(e: ExhibitorRegistered, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO applications (application_id, edition_code, applicant, name_zh, name_en,
             country_or_region, sector, participation_mode, contact_name, contact_email,
             contact_phone, status, reviewer, submissions, waiting_since, last_reason,
             registered_at, updated_at, company_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
             'draft', NULL, 0, NULL, NULL, $12, $12, $13)""",
        e.application_id,
        e.edition_code,
        e.applicant,
        e.company.name_zh,
        e.company.name_en,
        e.company.country_or_region,
        e.company.sector,
        e.company.participation_mode,
        e.contact.name,
        e.contact.email,
        e.contact.phone,
        env.occurred_at,
        e.company_id,
    )


@review_queue.on(ApplicationEdited)
async def edited(e: ApplicationEdited, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE applications SET
             name_zh = coalesce($2, name_zh), name_en = coalesce($3, name_en),
             country_or_region = coalesce($4, country_or_region), sector = coalesce($5, sector),
             participation_mode = coalesce($6, participation_mode),
             contact_name = coalesce($7, contact_name), contact_email = coalesce($8, contact_email),
             contact_phone = coalesce($9, contact_phone), updated_at = $10
           WHERE application_id = $1""",
        e.application_id,
        e.name_zh,
        e.name_en,
        e.country_or_region,
        e.sector,
        e.participation_mode,
        e.contact_name,
        e.contact_email,
        e.contact_phone,
        env.occurred_at,
    )


@review_queue.on(ApplicationSubmitted)
async def submitted(e: ApplicationSubmitted, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE applications SET status = 'submitted', reviewer = NULL, submissions = $2,
             waiting_since = $3, updated_at = $3 WHERE application_id = $1""",
        e.application_id,
        e.submission_number,
        env.occurred_at,
    )


@review_queue.on(ReviewStarted)
async def review_started(e: ReviewStarted, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE applications SET status = 'under_review', reviewer = $2, updated_at = $3
           WHERE application_id = $1""",
        e.application_id,
        e.reviewer,
        env.occurred_at,
    )


def _decided(env: Envelope, application_id: str, status: str, reason: str | None) -> Sql:
    return sql(
        """UPDATE applications SET status = $2, last_reason = coalesce($3, last_reason),
             waiting_since = NULL, updated_at = $4 WHERE application_id = $1""",
        application_id,
        status,
        reason,
        env.occurred_at,
    )


@review_queue.on(ApplicationApproved)
async def approved(e: ApplicationApproved, env: Envelope, tx: ReadModel) -> Statements:
    return _decided(env, e.application_id, "approved", None)


@review_queue.on(ApplicationRejected)
async def rejected(e: ApplicationRejected, env: Envelope, tx: ReadModel) -> Statements:
    return _decided(env, e.application_id, "rejected", e.reason)


@review_queue.on(ApplicationReturned)
async def returned(e: ApplicationReturned, env: Envelope, tx: ReadModel) -> Statements:
    return _decided(env, e.application_id, "returned", e.reason)


@review_queue.on(ApplicationWithdrawn)
async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: ReadModel) -> Statements:
    return _decided(env, e.application_id, "withdrawn", e.reason)


@review_queue.on(ReviewerAssigned)
async def assigned(e: ReviewerAssigned, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE applications SET reviewer = $2, updated_at = $3 WHERE application_id = $1",
        e.application_id,
        e.reviewer,
        env.occurred_at,
    )


@review_queue.on(ParticipationChanged)
async def placed(e: ParticipationChanged, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE applications SET participation_mode = $2, venue = $3, zone = $4, theme = $5,
             updated_at = $6 WHERE application_id = $1""",
        e.application_id,
        e.participation_mode,
        e.venue,
        e.zone,
        e.theme,
        env.occurred_at,
    )


@review_queue.on(ReviewSlaSet)
async def sla_set(e: ReviewSlaSet, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO review_slas VALUES ($1, $2)
           ON CONFLICT (edition_code) DO UPDATE SET hours = excluded.hours""",
        e.edition_code,
        e.hours,
    )
