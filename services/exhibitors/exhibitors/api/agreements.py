"""Cloud signing: record a signed agreement, announce it, list an edition's results."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import asyncpg
from fairline_events.dependencies import Body, Pool, Store, new_id
from fairline_events.errors import NotFound
from fairline_events.transact import Outcome
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from .. import handlers
from ..domain.agreements import (
    AGREEMENT,
    Agreement,
    AnnounceAgreement,
    Money,
    Party,
    SignAgreement,
)
from ..domain.company import COMPANY
from ..domain.values import EditionCode, Identifier, Name
from ..projections import results as results_projection
from .common import Anyone, AsExhibitor, AsRecruiter, actor, known, read

router = APIRouter(tags=["agreements"])


class Signing(Body):
    edition_code: EditionCode
    counterparties: Annotated[list[Party], Field(min_length=1, max_length=20)]
    subject: Name
    value: Money
    signed_on: date
    meeting_id: Identifier | None = None


class AgreementView(BaseModel):
    agreement_id: str
    status: str
    company_id: str
    edition_code: str
    counterparties: list[Party]
    subject: str
    value: Money
    signed_on: date
    meeting_id: str | None
    version: int


class Result(BaseModel):
    agreement_id: str
    company_id: str
    company_name: str | None
    counterparties: list[Party]
    subject: str
    value: Money
    signed_on: date
    announced_at: datetime


class Results(BaseModel):
    edition_code: str
    agreements: int
    value_by_currency: dict[str, Decimal]
    results: list[Result]


def _view(state: Agreement, version: int) -> AgreementView:
    signed = state.signed
    assert signed is not None
    return AgreementView(
        agreement_id=state.agreement_id,
        status=state.status,
        company_id=signed.company_id,
        edition_code=signed.edition_code,
        counterparties=signed.counterparties,
        subject=signed.subject,
        value=signed.value,
        signed_on=signed.signed_on,
        meeting_id=signed.meeting_id,
        version=version,
    )


@router.post(
    "/companies/{company_id}/agreements",
    status_code=201,
    summary="record an agreement signed online (云签约)",
)
async def sign(
    company_id: str,
    body: Signing,
    acting: AsExhibitor,
    response: Response,
) -> AgreementView:
    agreement_id = new_id("agr")
    command = SignAgreement(
        agreement_id=agreement_id,
        company_id=known(company_id, "company", "company_not_found"),
        asked_by=actor(acting.who),
        **body.model_dump(),
    )
    outcome = await handlers.sign_agreement(acting.store, command, acting.context)
    response.headers["Location"] = f"/agreements/{agreement_id}"
    return _changed(outcome, agreement_id)


def _changed(outcome: Outcome, agreement_id: str) -> AgreementView:
    stream = AGREEMENT.stream(agreement_id)
    return _view(outcome.state(stream, Agreement), outcome.versions[stream])


@router.post("/agreements/{agreement_id}/announce", summary="announce as a result of the edition")
async def announce(agreement_id: str, acting: AsRecruiter) -> AgreementView:
    command = AnnounceAgreement(agreement_id=agreement_id, by=acting.who.subject)
    return _changed(
        await handlers.announce_agreement(acting.store, command, acting.context), agreement_id
    )


@router.get("/agreements/{agreement_id}", summary="an agreement: announced ones for all")
async def get_agreement(agreement_id: str, who: Anyone, store: Store) -> AgreementView:
    state, version = await read(store, AGREEMENT, agreement_id)
    if state.signed is None:
        raise NotFound(f"agreement {agreement_id} not found", code="agreement_not_found")
    if state.status != "announced" and not who.has_any(("recruitment",)):
        company, _ = await read(store, COMPANY, state.signed.company_id)
        if not company.is_staff(who.subject):
            raise NotFound(f"agreement {agreement_id} not found", code="agreement_not_found")
    return _view(state, version)


@router.get(
    "/editions/{edition_code}/results", summary="agreements announced as the edition's results"
)
async def results(
    edition_code: EditionCode,
    who: Anyone,
    pool: Pool,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Results:
    schema = results_projection.schema
    # One snapshot for the list and the totals: a projection commit between two statements
    # would count an agreement the list does not show yet.
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        rows, totals = await _results(conn, schema, edition_code, limit)
    return Results(
        edition_code=edition_code,
        agreements=sum(r["n"] for r in totals),
        value_by_currency={r["currency"]: r["total"] for r in totals},
        results=[
            Result(
                agreement_id=r["agreement_id"],
                company_id=r["company_id"],
                company_name=r["company_name"],
                counterparties=json.loads(r["counterparties"]),
                subject=r["subject"],
                value=Money(amount=r["amount"], currency=r["currency"]),
                signed_on=r["signed_on"],
                announced_at=r["announced_at"],
            )
            for r in rows
        ],
    )


async def _results(
    conn: asyncpg.Connection, schema: str, edition_code: str, limit: int
) -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
    rows = await conn.fetch(
        f"""SELECT agreement_id, company_id, company_name, counterparties::text AS counterparties,
                   subject, amount, currency, signed_on, announced_at
            FROM {schema}.agreements
            WHERE edition_code = $1 AND announced_at IS NOT NULL
            ORDER BY announced_at DESC LIMIT $2""",
        edition_code,
        limit,
    )
    totals = await conn.fetch(
        f"""SELECT currency, count(*) AS n, sum(amount) AS total FROM {schema}.agreements
            WHERE edition_code = $1 AND announced_at IS NOT NULL GROUP BY currency""",
        edition_code,
    )
    return rows, totals
