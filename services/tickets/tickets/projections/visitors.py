"""Visitors: the review queues (trade visitors for the organiser, media for the press
centre) and the statistics per edition (classes, countries and regions) the fair reports.

Names and organisations are kept sealed, as the events carry them, and opened only when an
authorised reader asks; an erased visitor's sealed values are dropped here as well.

A part of the one `views` projection (`projections/__init__.py`): its tables and handlers.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    VisitorApproved,
    VisitorErased,
    VisitorRegistered,
    VisitorRejected,
    registry,
)

visitors = Projection(
    name="visitors",
    topics=["tickets.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS visitors (
        visitor_id     text PRIMARY KEY,
        edition_code   text NOT NULL,
        account        text NOT NULL,
        visitor_class  text NOT NULL,
        status         text NOT NULL,
        country_region text NOT NULL,
        document_type  text NOT NULL,
        name           jsonb,
        organisation   jsonb,
        registered_at  timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS visitors_queue ON visitors (edition_code, status, visitor_class);
    """,
)


@visitors.on(VisitorRegistered)
async def visitor_registered(e: VisitorRegistered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO visitors VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, $10)
           ON CONFLICT (visitor_id) DO NOTHING""",
        e.visitor_id,
        e.edition_code,
        e.account,
        e.visitor_class,
        "approved" if e.approved else "pending",
        e.country_region,
        e.document_type,
        e.name.model_dump_json(),
        e.organisation.model_dump_json() if e.organisation else None,
        env.occurred_at,
    )


_STATUS = "UPDATE visitors SET status = $2 WHERE visitor_id = $1"


@visitors.on(VisitorApproved)
async def visitor_approved(e: VisitorApproved, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STATUS, e.visitor_id, "approved")


@visitors.on(VisitorRejected)
async def visitor_rejected(e: VisitorRejected, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STATUS, e.visitor_id, "rejected")


@visitors.on(VisitorErased)
async def visitor_erased(e: VisitorErased, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE visitors SET status = 'erased', name = NULL, organisation = NULL
           WHERE visitor_id = $1""",
        e.visitor_id,
    )
