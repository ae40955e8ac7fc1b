"""The public directory: approved exhibitors of each edition, without contact details."""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Statements, sql

from ..domain.events import (
    ApplicationApproved,
    ApplicationEdited,
    ApplicationWithdrawn,
    ExhibitorRegistered,
    ParticipationChanged,
    registry,
)

directory = Projection(
    name="directory",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS exhibitors (
        application_id     text PRIMARY KEY,
        edition_code       text NOT NULL,
        name_zh            text NOT NULL,
        name_en            text NOT NULL,
        country_or_region  text NOT NULL,
        sector             text NOT NULL,
        participation_mode text NOT NULL,
        listed             boolean NOT NULL DEFAULT false,
        approved_at        timestamptz
    );
    CREATE INDEX IF NOT EXISTS exhibitors_listed ON exhibitors (edition_code, listed, name_en);
    -- Added with companies and placements; existing tables gain them in place.
    ALTER TABLE exhibitors ADD COLUMN IF NOT EXISTS company_id text;
    ALTER TABLE exhibitors ADD COLUMN IF NOT EXISTS venue text;
    ALTER TABLE exhibitors ADD COLUMN IF NOT EXISTS zone text;
    ALTER TABLE exhibitors ADD COLUMN IF NOT EXISTS theme text;
    """,
)


@directory.on(ExhibitorRegistered)
async def registered(e: ExhibitorRegistered, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO exhibitors (application_id, edition_code, name_zh, name_en,
             country_or_region, sector, participation_mode, listed, approved_at, company_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, false, NULL, $8)""",
        e.application_id,
        e.edition_code,
        e.company.name_zh,
        e.company.name_en,
        e.company.country_or_region,
        e.company.sector,
        e.company.participation_mode,
        e.company_id,
    )


@directory.on(ApplicationEdited)
async def edited(e: ApplicationEdited, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE exhibitors SET name_zh = coalesce($2, name_zh), name_en = coalesce($3, name_en),
             country_or_region = coalesce($4, country_or_region), sector = coalesce($5, sector),
             participation_mode = coalesce($6, participation_mode)
           WHERE application_id = $1""",
        e.application_id,
        e.name_zh,
        e.name_en,
        e.country_or_region,
        e.sector,
        e.participation_mode,
    )


@directory.on(ApplicationApproved)
async def approved(e: ApplicationApproved, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE exhibitors SET listed = true, approved_at = $2 WHERE application_id = $1",
        e.application_id,
        env.occurred_at,
    )


@directory.on(ApplicationWithdrawn)
async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: ReadModel) -> Statements:
    return sql("UPDATE exhibitors SET listed = false WHERE application_id = $1", e.application_id)


@directory.on(ParticipationChanged)
async def placed(e: ParticipationChanged, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE exhibitors SET participation_mode = $2, venue = $3, zone = $4, theme = $5
           WHERE application_id = $1""",
        e.application_id,
        e.participation_mode,
        e.venue,
        e.zone,
        e.theme,
    )
