"""Leads: open one from a card exchange, a meeting or a download; follow it up to won or lost."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fairline_events.auth import Principal
from fairline_events.errors import DomainError, Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Step, Streams, step, stepwise, transact
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from ..domain.company import Company
from ..domain.leads import (
    STAGES,
    ChangeLeadOwner,
    LeadSource,
    MoveLead,
    NoteLead,
    OpenLead,
    PlanNextAction,
    Stage,
    lead_id,
)
from ..domain.values import Identifier, Text
from ..projections import leads as leads_projection
from ..streams import (
    companies,
    company_stream,
    download_stream,
    downloads,
    exchange_stream,
    exchanges,
    lead_stream,
    leads_on,
    meeting_stream,
    meetings_at,
)
from .common import Body, CommandRoute, Correlation, Exhibitor, Now, Pool, Store, context

router = APIRouter(tags=["leads"], route_class=CommandRoute)


class NewLead(Body):
    source: LeadSource
    owner: Identifier | None = None
    """A staff member of the company; the caller when left out."""


class StageChange(Body):
    stage: Stage


class OwnerChange(Body):
    owner: Identifier


class NewNote(Body):
    text: Text


class NextAction(Body):
    due_on: date | None
    action: Text | None = None


class NoteView(BaseModel):
    by: str
    text: str


class LeadView(BaseModel):
    lead_id: str
    company_id: str
    contact: str
    source: LeadSource
    owner: str
    stage: str
    next_action_on: date | None
    next_action: str | None
    notes: list[NoteView]
    version: int


class PipelineEntry(BaseModel):
    lead_id: str
    contact: str
    owner: str
    stage: str
    source_kind: str
    source_ref: str
    next_action_on: date | None
    next_action: str | None
    notes: int
    opened_at: datetime
    updated_at: datetime


class Pipeline(BaseModel):
    company_id: str
    stages: dict[str, int]
    leads: list[PipelineEntry]


def lead_view(state: Any, version: int) -> LeadView:
    return LeadView(
        lead_id=state.lead_id,
        company_id=state.company_id,
        contact=state.contact,
        source=state.source,
        owner=state.owner,
        stage=state.stage,
        next_action_on=state.next_action_on,
        next_action=state.next_action,
        notes=[NoteView(by=n.by, text=n.text) for n in state.notes],
        version=version,
    )


async def _company_of_staff(load: Streams, company_id: str, who: Principal) -> Company:
    company = await load.peek(companies, company_stream(company_id))
    if not company.registered:
        raise NotFound(f"company {company_id} not found", code="company_not_found")
    if not company.is_staff(who.subject) and not who.has_any(("recruitment",)):
        raise Forbidden(f"only the staff of {company_id} see its leads", code="not_company_staff")
    return company


def _not_eligible(message: str, **details: Any) -> DomainError:
    return DomainError(message, code="source_not_eligible", **details)


async def _contact_of(load: Streams, company: Company, source: LeadSource) -> str:
    """Who the source puts the company in touch with; refuses sources that do not."""
    cid = company.company_id
    parties: tuple[str, ...]
    status: str
    if source.kind == "card_exchange":
        x = await load.peek(exchanges, exchange_stream(source.ref))
        if x.status == "new":
            raise NotFound(f"card exchange {source.ref} not found", code="source_not_found")
        owner, status, parties = x.company_id, x.status, x.parties()
        needed = "accepted"
    elif source.kind == "meeting":
        m = await load.peek(meetings_at(datetime.min), meeting_stream(source.ref))
        if m.status == "new":
            raise NotFound(f"meeting {source.ref} not found", code="source_not_found")
        owner, status, parties = m.company_id, m.status, m.parties()
        needed = "confirmed"
    else:
        d = await load.peek(downloads, download_stream(source.ref))
        if d.company_id is None or d.person is None:
            raise NotFound(f"download {source.ref} not found", code="source_not_found")
        owner, status, parties = d.company_id, "recorded", (d.person,)
        needed = "recorded"
    if owner != cid:
        raise DomainError(
            f"{source.kind} {source.ref} belongs to another company",
            code="source_of_another_company",
        )
    if status != needed:
        raise _not_eligible(f"{source.kind} {source.ref} is {status}, not {needed}")
    outside = [p for p in parties if not company.is_staff(p)]
    if not outside:
        raise _not_eligible(f"{source.kind} {source.ref} is between the company's own staff")
    return outside[0]


@router.post("/companies/{company_id}/leads", status_code=201, summary="open a lead from a source")
async def open_lead(
    company_id: str,
    body: NewLead,
    who: Exhibitor,
    store: Store,
    now: Now,
    response: Response,
    correlation: Correlation = None,
) -> LeadView:
    owner = body.owner or who.subject
    holder: dict[str, str] = {}

    async def plan(load: Streams) -> list[Step[Any]]:
        company = await _company_of_staff(load, company_id, who)
        if not company.is_staff(owner):
            raise DomainError(
                f"{owner} is not on the staff of {company_id}", code="owner_not_staff"
            )
        contact = await _contact_of(load, company, body.source)
        lid = holder["lead_id"] = lead_id(company_id, contact)
        command = OpenLead(
            lead_id=lid,
            by=who.subject,
            company_id=company_id,
            contact=contact,
            source=body.source,
            owner=owner,
        )
        return [step(leads_on(now().date()), lead_stream(lid), command)]

    outcome = await transact(store, stepwise(plan), context(who, correlation), command="OpenLead")
    stream = lead_stream(holder["lead_id"])
    response.headers["Location"] = f"/leads/{holder['lead_id']}"
    return lead_view(outcome.states[stream], outcome.versions[stream])


async def _on_lead(
    store: EventStore,
    lid: str,
    make: Any,
    who: Principal,
    today: date,
    correlation: str | None,
) -> LeadView:
    decider = leads_on(today)
    stream = lead_stream(lid)

    async def plan(load: Streams) -> list[Step[Any]]:
        lead = await load(decider, stream)
        if not lead.opened or lead.company_id is None:
            raise NotFound(f"lead {lid} not found", code="lead_not_found")
        company = await _company_of_staff(load, lead.company_id, who)
        return [step(decider, stream, make(company))]

    outcome = await transact(store, stepwise(plan), context(who, correlation))
    return lead_view(outcome.states[stream], outcome.versions[stream])


@router.get("/leads/{lead_id}", summary="a lead with its notes (the company's staff)")
async def get_lead(lead_id: str, who: Exhibitor, store: Store, now: Now) -> LeadView:
    decider = leads_on(now().date())
    stream = lead_stream(lead_id)
    state, version = await store.load(stream, decider.evolve, decider.initial(stream))
    if not state.opened or state.company_id is None:
        raise NotFound(f"lead {lead_id} not found", code="lead_not_found")
    cstream = company_stream(state.company_id)
    company, _ = await store.load(cstream, companies.evolve, companies.initial(cstream))
    if not company.is_staff(who.subject) and not who.has_any(("recruitment",)):
        raise Forbidden("only the company's staff see its leads", code="not_company_staff")
    return lead_view(state, version)


@router.post("/leads/{lead_id}/stage", summary="move the lead along the pipeline")
async def move(
    lead_id: str,
    body: StageChange,
    who: Exhibitor,
    store: Store,
    now: Now,
    correlation: Correlation = None,
) -> LeadView:
    def make(_: Company) -> MoveLead:
        return MoveLead(lead_id=lead_id, by=who.subject, stage=body.stage)

    return await _on_lead(store, lead_id, make, who, now().date(), correlation)


@router.put("/leads/{lead_id}/owner", summary="hand the lead to another staff member")
async def change_owner(
    lead_id: str,
    body: OwnerChange,
    who: Exhibitor,
    store: Store,
    now: Now,
    correlation: Correlation = None,
) -> LeadView:
    def make(company: Company) -> ChangeLeadOwner:
        if not company.is_staff(body.owner):
            raise DomainError(
                f"{body.owner} is not on the staff of {company.company_id}", code="owner_not_staff"
            )
        return ChangeLeadOwner(lead_id=lead_id, by=who.subject, owner=body.owner)

    return await _on_lead(store, lead_id, make, who, now().date(), correlation)


@router.post("/leads/{lead_id}/notes", summary="add a note")
async def add_note(
    lead_id: str,
    body: NewNote,
    who: Exhibitor,
    store: Store,
    now: Now,
    correlation: Correlation = None,
) -> LeadView:
    def make(_: Company) -> NoteLead:
        return NoteLead(lead_id=lead_id, by=who.subject, text=body.text)

    return await _on_lead(store, lead_id, make, who, now().date(), correlation)


@router.put(
    "/leads/{lead_id}/next-action", summary="plan (or clear, with due_on null) the next action"
)
async def plan_next_action(
    lead_id: str,
    body: NextAction,
    who: Exhibitor,
    store: Store,
    now: Now,
    correlation: Correlation = None,
) -> LeadView:
    def make(_: Company) -> PlanNextAction:
        return PlanNextAction(
            lead_id=lead_id, by=who.subject, due_on=body.due_on, action=body.action
        )

    return await _on_lead(store, lead_id, make, who, now().date(), correlation)


@router.get("/companies/{company_id}/leads", summary="the company's lead pipeline")
async def pipeline(
    company_id: str,
    who: Exhibitor,
    store: Store,
    pool: Pool,
    stage: Annotated[list[Stage] | None, Query()] = None,
    owner: str | None = None,
    due_by: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Pipeline:
    cstream = company_stream(company_id)
    company, _ = await store.load(cstream, companies.evolve, companies.initial(cstream))
    if not company.registered:
        raise NotFound(f"company {company_id} not found", code="company_not_found")
    if not company.is_staff(who.subject) and not who.has_any(("recruitment",)):
        raise Forbidden(f"only the staff of {company_id} see its leads", code="not_company_staff")
    schema = leads_projection.schema
    rows = await pool.fetch(
        f"""SELECT * FROM {schema}.leads
            WHERE company_id = $1
              AND ($2::text[] IS NULL OR stage = ANY($2))
              AND ($3::text IS NULL OR owner = $3)
              AND ($4::date IS NULL OR next_action_on <= $4)
            ORDER BY next_action_on NULLS LAST, updated_at DESC
            LIMIT $5""",
        company_id,
        stage,
        owner,
        due_by,
        limit,
    )
    counts = await pool.fetch(
        f"SELECT stage, count(*) AS n FROM {schema}.leads WHERE company_id = $1 GROUP BY stage",
        company_id,
    )
    by_stage = {s: 0 for s in STAGES} | {r["stage"]: r["n"] for r in counts}
    return Pipeline(
        company_id=company_id,
        stages=by_stage,
        leads=[PipelineEntry(**{k: r[k] for k in PipelineEntry.model_fields}) for r in rows],
    )
