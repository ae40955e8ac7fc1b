"""The booth pages: every item of every company, its status and content, for the page and
for the staff's list of drafts; what the public sees of it; the moderators' queue.

`content` is the company's working copy; `public_content` the revision the organiser last
approved, shown only while the item is published (`public_content` is cleared by a
takedown). `stamps` moves on with every change a visitor could see, per company and for
all (`all`): the public API's ETags and Last-Modified come from it, one indexed read.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, Statements, sql

from ..domain.booth import (
    ActivityContent,
    BoothContent,
    BoothItemApproved,
    BoothItemDrafted,
    BoothItemPublished,
    BoothItemReturned,
    BoothItemRevised,
    BoothItemSubmitted,
    BoothItemTakenDown,
    BoothItemUnpublished,
    ServiceContent,
)
from ..domain.events import registry
from .stamps import STAMPS_SQL, bump

showcase = Projection(
    name="showcase",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS items (
        item_id      text PRIMARY KEY,
        company_id   text NOT NULL,
        kind         text NOT NULL,
        status       text NOT NULL,
        content      jsonb NOT NULL,
        starts_at    timestamptz,
        published_at timestamptz,
        updated_at   timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS items_of_company ON items (company_id, status, kind);
    -- Moderation (在线布展审核): added in place on existing tables.
    ALTER TABLE items ADD COLUMN IF NOT EXISTS revision integer NOT NULL DEFAULT 1;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS review text NOT NULL DEFAULT 'none';
    ALTER TABLE items ADD COLUMN IF NOT EXISTS submitted_at timestamptz;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS public_content jsonb;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS public_revision integer;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS approved_at timestamptz;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS moderated_by text;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS moderation_reason text;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS taken_down_at timestamptz;
    ALTER TABLE items ADD COLUMN IF NOT EXISTS sector text;
    CREATE INDEX IF NOT EXISTS items_awaiting_review ON items (submitted_at)
        WHERE review = 'pending';
    CREATE INDEX IF NOT EXISTS items_public_services ON items (sector, company_id)
        WHERE kind = 'service' AND status = 'published' AND public_content IS NOT NULL;
    """
    + STAMPS_SQL,
)

STAMP_OF_ITEM = bump(
    """SELECT k, 1, $2::timestamptz FROM items i,
              unnest(ARRAY['all', 'company:' || i.company_id]) AS k
       WHERE i.item_id = $1"""
)


def _starts(content: BoothContent) -> object:
    return content.starts_at if isinstance(content, ActivityContent) else None


def _sector(content: BoothContent) -> str | None:
    return content.sector if isinstance(content, ServiceContent) else None


def _stamp(item_id: str, env: Envelope) -> Sql:
    return sql(STAMP_OF_ITEM, item_id, env.occurred_at)


@showcase.on(BoothItemDrafted)
async def drafted(e: BoothItemDrafted, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO items (item_id, company_id, kind, status, content, starts_at,
             published_at, updated_at, revision, review, sector)
           VALUES ($1, $2, $3, 'draft', $4::jsonb, $5, NULL, $6, 1, 'none', $7)""",
        e.item_id,
        e.company_id,
        e.content.kind,
        e.content.model_dump_json(),
        _starts(e.content),
        env.occurred_at,
        _sector(e.content),
    )


@showcase.on(BoothItemRevised)
async def revised(e: BoothItemRevised, env: Envelope, tx: ReadModel) -> Statements:
    # The working copy only: what the public sees changes on approval.
    return sql(
        """UPDATE items SET content = $2::jsonb, updated_at = $3,
             revision = revision + 1, review = 'none'
           WHERE item_id = $1""",
        e.item_id,
        e.content.model_dump_json(),
        env.occurred_at,
    )


@showcase.on(BoothItemSubmitted)
async def submitted(e: BoothItemSubmitted, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE items SET review = 'pending', submitted_at = $2, moderation_reason = NULL
           WHERE item_id = $1""",
        e.item_id,
        env.occurred_at,
    )


@showcase.on(BoothItemApproved)
async def approved(e: BoothItemApproved, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """UPDATE items SET review = 'approved', public_content = $2::jsonb,
                 public_revision = $3, approved_at = $4, moderated_by = $5,
                 moderation_reason = NULL, taken_down_at = NULL, starts_at = $6,
                 sector = $7, updated_at = $4
               WHERE item_id = $1""",
            e.item_id,
            e.content.model_dump_json(),
            e.revision,
            env.occurred_at,
            e.moderator,
            _starts(e.content),
            _sector(e.content),
        ),
        _stamp(e.item_id, env),
    ]


@showcase.on(BoothItemReturned)
async def returned(e: BoothItemReturned, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE items SET review = 'returned', moderated_by = $2, moderation_reason = $3,
             updated_at = $4
           WHERE item_id = $1""",
        e.item_id,
        e.moderator,
        e.reason,
        env.occurred_at,
    )


@showcase.on(BoothItemTakenDown)
async def taken_down(e: BoothItemTakenDown, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """UPDATE items SET status = 'unpublished', review = 'none', public_content = NULL,
                 public_revision = NULL, taken_down_at = $2, moderated_by = $3,
                 moderation_reason = $4, updated_at = $2
               WHERE item_id = $1""",
            e.item_id,
            env.occurred_at,
            e.moderator,
            e.reason,
        ),
        _stamp(e.item_id, env),
    ]


@showcase.on(BoothItemPublished)
async def published(e: BoothItemPublished, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            """UPDATE items SET status = 'published', published_at = $2, updated_at = $2
               WHERE item_id = $1""",
            e.item_id,
            env.occurred_at,
        ),
        _stamp(e.item_id, env),
    ]


@showcase.on(BoothItemUnpublished)
async def unpublished(e: BoothItemUnpublished, env: Envelope, tx: ReadModel) -> Statements:
    return [
        sql(
            "UPDATE items SET status = 'unpublished', updated_at = $2 WHERE item_id = $1",
            e.item_id,
            env.occurred_at,
        ),
        _stamp(e.item_id, env),
    ]
