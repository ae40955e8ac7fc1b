"""Each exhibitor's lead pipeline: one row per lead, its stage, owner and next action."""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Statements, sql

from ..domain.events import registry
from ..domain.leads import (
    CLOSED,
    LeadNextActionPlanned,
    LeadNoted,
    LeadOpened,
    LeadOwnerChanged,
    LeadStageChanged,
)

leads = Projection(
    name="leads",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS leads (
        lead_id        text PRIMARY KEY,
        company_id     text NOT NULL,
        contact        text NOT NULL,
        owner          text NOT NULL,
        stage          text NOT NULL,
        source_kind    text NOT NULL,
        source_ref     text NOT NULL,
        next_action_on date,
        next_action    text,
        notes          integer NOT NULL DEFAULT 0,
        opened_at      timestamptz NOT NULL,
        updated_at     timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS leads_of_company ON leads (company_id, stage, next_action_on);
    """,
)


@leads.on(LeadOpened)
async def opened(e: LeadOpened, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "INSERT INTO leads VALUES ($1, $2, $3, $4, 'new', $5, $6, NULL, NULL, 0, $7, $7)",
        e.lead_id,
        e.company_id,
        e.contact,
        e.owner,
        e.source.kind,
        e.source.ref,
        env.occurred_at,
    )


@leads.on(LeadStageChanged)
async def moved(e: LeadStageChanged, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE leads SET stage = $2, updated_at = $3,
             next_action_on = CASE WHEN $4 THEN NULL ELSE next_action_on END,
             next_action = CASE WHEN $4 THEN NULL ELSE next_action END
           WHERE lead_id = $1""",
        e.lead_id,
        e.to_stage,
        env.occurred_at,
        e.to_stage in CLOSED,
    )


@leads.on(LeadOwnerChanged)
async def owner_changed(e: LeadOwnerChanged, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE leads SET owner = $2, updated_at = $3 WHERE lead_id = $1",
        e.lead_id,
        e.owner,
        env.occurred_at,
    )


@leads.on(LeadNoted)
async def noted(e: LeadNoted, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE leads SET notes = notes + 1, updated_at = $2 WHERE lead_id = $1",
        e.lead_id,
        env.occurred_at,
    )


@leads.on(LeadNextActionPlanned)
async def planned(e: LeadNextActionPlanned, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE leads SET next_action_on = $2, next_action = $3, updated_at = $4
           WHERE lead_id = $1""",
        e.lead_id,
        e.due_on,
        e.action,
        env.occurred_at,
    )
