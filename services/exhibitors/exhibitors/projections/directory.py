"""The public directory: approved exhibitors of each edition, without contact details.

`search_text` holds both names, the Chinese name's pinyin (whole and initials) and the
English name in lower case, so one trigram-indexed LIKE finds 华为 by 华为, 为, huawei, hw
or Huawei. `stamps` moves on with each change the public sees (see showcase).
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, Statements, sql
from pypinyin import Style, lazy_pinyin

from ..domain.events import (
    ApplicationApproved,
    ApplicationEdited,
    ApplicationWithdrawn,
    ExhibitorRegistered,
    ParticipationChanged,
    registry,
)
from .stamps import STAMPS_SQL, bump

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
    -- The online fair (issue 16): search, and the stamps behind the public ETags. The
    -- service's migration creates pg_trgm first; this covers a read model made without it.
    CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    ALTER TABLE exhibitors ADD COLUMN IF NOT EXISTS search_text text NOT NULL DEFAULT '';
    ALTER TABLE exhibitors ADD COLUMN IF NOT EXISTS changed_at timestamptz;
    CREATE INDEX IF NOT EXISTS exhibitors_search ON exhibitors
        USING gin (search_text public.gin_trgm_ops);
    CREATE INDEX IF NOT EXISTS exhibitors_of_zone ON exhibitors (edition_code, zone, name_en)
        WHERE listed;
    CREATE INDEX IF NOT EXISTS exhibitors_of_company ON exhibitors (company_id);
    """
    + STAMPS_SQL,
)

STAMP = bump(
    """SELECT k, 1, $2::timestamptz FROM exhibitors x,
              unnest(ARRAY['all', 'company:' || coalesce(x.company_id, '')]) AS k
       WHERE x.application_id = $1"""
)


def search_text(name_zh: str, name_en: str) -> str:
    """What a name is searched by: both names, pinyin in full and by initials, lower case."""
    syllables = lazy_pinyin(name_zh, errors="ignore")
    initials = lazy_pinyin(name_zh, style=Style.FIRST_LETTER, errors="ignore")
    parts = [name_zh, name_en, "".join(syllables), " ".join(syllables), "".join(initials)]
    return " | ".join(parts).lower()


def _stamp(application_id: str, env: Envelope) -> Sql:
    return sql(STAMP, application_id, env.occurred_at)


@directory.on(ExhibitorRegistered)
async def registered(e: ExhibitorRegistered, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO exhibitors (application_id, edition_code, name_zh, name_en,
             country_or_region, sector, participation_mode, listed, approved_at, company_id,
             search_text, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, false, NULL, $8, $9, $10)""",
        e.application_id,
        e.edition_code,
        e.company.name_zh,
        e.company.name_en,
        e.company.country_or_region,
        e.company.sector,
        e.company.participation_mode,
        e.company_id,
        search_text(e.company.name_zh, e.company.name_en),
        env.occurred_at,
    )


@directory.on(ApplicationEdited)
async def edited(e: ApplicationEdited, env: Envelope, tx: ReadModel) -> Statements:
    names = None
    if e.name_zh is not None or e.name_en is not None:
        row = await tx.fetchrow(
            "SELECT name_zh, name_en FROM exhibitors WHERE application_id = $1", e.application_id
        )
        if row is not None:
            names = search_text(e.name_zh or row["name_zh"], e.name_en or row["name_en"])
    return [
        sql(
            """UPDATE exhibitors SET name_zh = coalesce($2, name_zh),
                 name_en = coalesce($3, name_en),
                 country_or_region = coalesce($4, country_or_region),
                 sector = coalesce($5, sector),
                 participation_mode = coalesce($6, participation_mode),
                 search_text = coalesce($7, search_text), changed_at = $8
               WHERE application_id = $1""",
            e.application_id,
            e.name_zh,
            e.name_en,
            e.country_or_region,
            e.sector,
            e.participation_mode,
            names,
            env.occurred_at,
        ),
        _stamp(e.application_id, env),
    ]


@directory.on(ApplicationApproved)
async def approved(e: ApplicationApproved, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """UPDATE exhibitors SET listed = true, approved_at = $2, changed_at = $2
               WHERE application_id = $1""",
            e.application_id,
            env.occurred_at,
        ),
        _stamp(e.application_id, env),
    ]


@directory.on(ApplicationWithdrawn)
async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            "UPDATE exhibitors SET listed = false, changed_at = $2 WHERE application_id = $1",
            e.application_id,
            env.occurred_at,
        ),
        _stamp(e.application_id, env),
    ]


@directory.on(ParticipationChanged)
async def placed(e: ParticipationChanged, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """UPDATE exhibitors SET participation_mode = $2, venue = $3, zone = $4, theme = $5,
                 changed_at = $6
               WHERE application_id = $1""",
            e.application_id,
            e.participation_mode,
            e.venue,
            e.zone,
            e.theme,
            env.occurred_at,
        ),
        _stamp(e.application_id, env),
    ]
