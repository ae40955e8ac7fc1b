"""Each edition's results: the agreements signed by its exhibitors, and which are announced."""

from __future__ import annotations

import json

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Statements, sql

from ..domain.agreements import AgreementAnnounced, AgreementSigned
from ..domain.company import CompanyDetailsChanged, CompanyRegistered
from ..domain.events import registry

results = Projection(
    name="results",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS company_names (
        company_id text PRIMARY KEY,
        name_en    text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS agreements (
        agreement_id   text PRIMARY KEY,
        company_id     text NOT NULL,
        company_name   text,
        edition_code   text NOT NULL,
        counterparties jsonb NOT NULL,
        subject        text NOT NULL,
        amount         numeric(20, 2) NOT NULL,
        currency       text NOT NULL,
        signed_on      date NOT NULL,
        announced_at   timestamptz
    );
    CREATE INDEX IF NOT EXISTS agreements_of_edition ON agreements (edition_code, announced_at);
    """,
)


@results.on(CompanyRegistered)
async def registered(e: CompanyRegistered, env: Envelope, tx: ReadModel) -> Statements:
    return sql("INSERT INTO company_names VALUES ($1, $2)", e.company_id, e.details.name_en)


@results.on(CompanyDetailsChanged)
async def renamed(e: CompanyDetailsChanged, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE company_names SET name_en = coalesce($2, name_en) WHERE company_id = $1",
        e.company_id,
        e.name_en,
    )


@results.on(AgreementSigned)
async def signed(e: AgreementSigned, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO agreements
           SELECT $1, $2, (SELECT name_en FROM company_names WHERE company_id = $2), $3,
                  $4::jsonb, $5, $6, $7, $8, NULL""",
        e.agreement_id,
        e.company_id,
        e.edition_code,
        json.dumps([p.model_dump() for p in e.counterparties]),
        e.subject,
        e.value.amount,
        e.value.currency,
        e.signed_on,
    )


@results.on(AgreementAnnounced)
async def announced(e: AgreementAnnounced, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "UPDATE agreements SET announced_at = $2 WHERE agreement_id = $1",
        e.agreement_id,
        env.occurred_at,
    )
