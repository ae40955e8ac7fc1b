"""The booth pages: every item of every company, its status and content, for the page and
for the staff's list of drafts."""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Statements, sql

from ..domain.booth import (
    ActivityContent,
    BoothItemDrafted,
    BoothItemPublished,
    BoothItemRevised,
    BoothItemUnpublished,
)
from ..domain.events import registry

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
    """,
)


@showcase.on(BoothItemDrafted)
async def drafted(e: BoothItemDrafted, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "INSERT INTO items VALUES ($1, $2, $3, 'draft', $4::jsonb, $5, NULL, $6)",
        e.item_id,
        e.company_id,
        e.content.kind,
        e.content.model_dump_json(),
        e.content.starts_at if isinstance(e.content, ActivityContent) else None,
        env.occurred_at,
    )


@showcase.on(BoothItemRevised)
async def revised(e: BoothItemRevised, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE items SET content = $2::jsonb, starts_at = $3, updated_at = $4 WHERE item_id = $1",
        e.item_id,
        e.content.model_dump_json(),
        e.content.starts_at if isinstance(e.content, ActivityContent) else None,
        env.occurred_at,
    )


@showcase.on(BoothItemPublished)
async def published(e: BoothItemPublished, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE items SET status = 'published', published_at = $2, updated_at = $2
           WHERE item_id = $1""",
        e.item_id,
        env.occurred_at,
    )


@showcase.on(BoothItemUnpublished)
async def unpublished(e: BoothItemUnpublished, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE items SET status = 'unpublished', updated_at = $2 WHERE item_id = $1",
        e.item_id,
        env.occurred_at,
    )
