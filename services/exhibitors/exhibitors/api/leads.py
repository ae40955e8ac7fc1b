"""Leads: open one from a card exchange, a meeting or a download; follow it up to won or lost."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fairline_events.context import CommandContext
from fairline_events.dependencies import Body, Pool, Store
from fairline_events.errors import Forbidden, NotFound
from fairline_events.transact import Outcome
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from .. import handlers
from ..domain.company import COMPANY
from ..domain.leads import (
    LEAD,
    STAGES,
    ChangeLeadOwner,
    FollowUp,
    Lead,
    LeadOpened,
    LeadSource,
    MoveLead,
    NoteLead,
    OpenLeadFromSource,
    PlanNextAction,
    Stage,
)
from ..domain.values import Identifier, Text
from ..projections import leads as leads_projection
from .common import AsExhibitor, Exhibitor, actor, known, read

router = APIRouter(tags=["leads"])


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


def lead_view(state: Lead, version: int) -> LeadView:
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


def changed_lead(outcome: Outcome, lead_id: str) -> LeadView:
    stream = LEAD.stream(lead_id)
    return lead_view(outcome.state(stream, Lead), outcome.versions[stream])


@router.post("/companies/{company_id}/leads", status_code=201, summary="open a lead from a source")
async def open_lead(
    company_id: str,
    body: NewLead,
    acting: AsExhibitor,
    response: Response,
) -> LeadView:
    command = OpenLeadFromSource(
        company_id=known(company_id, "company", "company_not_found"),
        source=body.source,
        owner=body.owner or acting.who.subject,
        by=acting.who.subject,
        asked_by=actor(acting.who),
    )
    outcome = await handlers.open_lead(acting.store, command, acting.context)
    lead_id = next(e.lead_id for e in outcome.events if isinstance(e, LeadOpened))
    response.headers["Location"] = f"/leads/{lead_id}"
    return changed_lead(outcome, lead_id)


def _lead(lead_id: str) -> str:
    return known(lead_id, "lead", "lead_not_found")


async def _on_lead(store: Store, command: FollowUp, context: CommandContext) -> LeadView:
    return changed_lead(await handlers.follow_up_lead(store, command, context), command.lead_id)


@router.get("/leads/{lead_id}", summary="a lead with its notes (the company's staff)")
async def get_lead(lead_id: str, who: Exhibitor, store: Store) -> LeadView:
    state, version = await read(store, LEAD, lead_id)
    if not state.opened or state.company_id is None:
        raise NotFound(f"lead {lead_id} not found", code="lead_not_found")
    company, _ = await read(store, COMPANY, state.company_id)
    if not company.is_staff(who.subject) and not who.has_any(("recruitment",)):
        raise Forbidden("only the company's staff see its leads", code="not_company_staff")
    return lead_view(state, version)


@router.post("/leads/{lead_id}/stage", summary="move the lead along the pipeline")
async def move(lead_id: str, body: StageChange, acting: AsExhibitor) -> LeadView:
    command = MoveLead(
        lead_id=_lead(lead_id), by=acting.who.subject, stage=body.stage, asked_by=actor(acting.who)
    )
    return await _on_lead(acting.store, command, acting.context)


@router.put("/leads/{lead_id}/owner", summary="hand the lead to another staff member")
async def change_owner(lead_id: str, body: OwnerChange, acting: AsExhibitor) -> LeadView:
    command = ChangeLeadOwner(
        lead_id=_lead(lead_id), by=acting.who.subject, owner=body.owner, asked_by=actor(acting.who)
    )
    return await _on_lead(acting.store, command, acting.context)


@router.post("/leads/{lead_id}/notes", summary="add a note")
async def add_note(lead_id: str, body: NewNote, acting: AsExhibitor) -> LeadView:
    command = NoteLead(
        lead_id=_lead(lead_id), by=acting.who.subject, text=body.text, asked_by=actor(acting.who)
    )
    return await _on_lead(acting.store, command, acting.context)


@router.put(
    "/leads/{lead_id}/next-action", summary="plan (or clear, with due_on null) the next action"
)
async def plan_next_action(lead_id: str, body: NextAction, acting: AsExhibitor) -> LeadView:
    command = PlanNextAction(
        lead_id=_lead(lead_id),
        by=acting.who.subject,
        due_on=body.due_on,
        action=body.action,
        asked_by=actor(acting.who),
    )
    return await _on_lead(acting.store, command, acting.context)


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
    company, _ = await read(store, COMPANY, company_id)
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
