"""Commands on exhibitor applications: register, edit, submit, review, withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fairline_events.auth import Principal
from fairline_events.context import CommandContext
from fairline_events.dependencies import Body, Store, new_id
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import CommandHandler, Outcome
from fastapi import APIRouter, Response
from pydantic import BaseModel

from .. import handlers
from ..domain.application import APPLICATION, Application, may_change
from ..domain.commands import (
    ApproveApplication,
    AssignReviewer,
    ChangeParticipation,
    EditApplication,
    RegisterExhibitor,
    RejectApplication,
    ReturnApplication,
    StartReview,
    SubmitApplication,
    WithdrawApplication,
)
from ..domain.company import COMPANY
from ..domain.values import (
    CompanyIdentity,
    CompanyProfile,
    ContactPerson,
    CountryOrRegion,
    EditionCode,
    Email,
    Identifier,
    Name,
    Note,
    ParticipationMode,
    Phone,
    Slug,
    Text,
    Theme,
    Venue,
)
from .common import AsExhibitor, AsRecruiter, Exhibitor, actor, read

router = APIRouter(tags=["applications"])

stream_of = APPLICATION.stream
Applicant = Exhibitor
AsApplicant = AsExhibitor


class Registration(Body):
    company: CompanyProfile
    contact: ContactPerson
    identity: CompanyIdentity | None = None
    """The company's unified social credit code or registration number: registering one
    that is already registered is a 409 `company_exists` naming the company, which then
    takes part through `POST /companies/{company_id}/participations`. Optional only for
    clients of the first version of this API."""


class Edit(Body):
    name_zh: Name | None = None
    name_en: Name | None = None
    country_or_region: CountryOrRegion | None = None
    sector: Name | None = None
    participation_mode: ParticipationMode | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None


class Approval(Body):
    note: Note = ""


class Reason(Body):
    reason: Text


class Assignment(Body):
    reviewer: Identifier


class Placement(Body):
    """Only the fields sent change; send null to clear venue, zone or theme."""

    participation_mode: ParticipationMode | None = None
    venue: Venue | None = None
    zone: Slug | None = None
    theme: Theme | None = None


class PlacementEntry(BaseModel):
    version: int
    occurred_at: datetime
    actor: str
    participation_mode: str
    venue: str | None
    zone: str | None
    theme: str | None


class ApplicationView(BaseModel):
    application_id: str
    company_id: str | None
    status: str
    edition_code: str | None
    applicant: str | None
    company: CompanyProfile | None
    contact: ContactPerson | None
    reviewer: str | None
    submissions: int
    last_reason: str | None
    venue: str | None
    zone: str | None
    theme: str | None
    version: int


class HistoryEntry(BaseModel):
    version: int
    event_type: str
    occurred_at: datetime
    actor: str
    reason: str | None
    data: dict[str, Any]


class ApplicationDetail(ApplicationView):
    history: list[HistoryEntry]


def view(state: Application, version: int) -> ApplicationView:
    return ApplicationView(
        application_id=state.application_id,
        company_id=state.company_id,
        status=state.status,
        edition_code=state.edition_code,
        applicant=state.applicant,
        company=state.company,
        contact=state.contact,
        reviewer=state.reviewer,
        submissions=state.submissions,
        last_reason=state.last_reason,
        venue=state.venue,
        zone=state.zone,
        theme=state.theme,
        version=version,
    )


async def _execute(
    handler: CommandHandler[Any], store: Store, command: Any, context: CommandContext
) -> ApplicationView:
    return changed(await handler(store, command, context), command.application_id)


def changed(outcome: Outcome, application_id: str) -> ApplicationView:
    stream = stream_of(application_id)
    return view(outcome.state(stream, Application), outcome.versions[stream])


async def _owned(store: EventStore, application_id: str, who: Principal) -> None:
    """A company's staff see its applications only; recruitment staff see any."""
    state, _ = await read(store, APPLICATION, application_id)
    company = None
    if state.company_id is not None and not who.has_any(("recruitment",)):
        company, _ = await read(store, COMPANY, state.company_id)
    if not may_change(state, company, actor(who)):
        raise Forbidden("this application belongs to another company", code="not_the_applicant")


@router.post(
    "/editions/{edition_code}/applications",
    status_code=201,
    summary="register a company for an edition (a draft application)",
)
async def register(
    edition_code: EditionCode,
    body: Registration,
    acting: AsApplicant,
    response: Response,
) -> ApplicationView:
    application_id, company_id = new_id("app"), new_id("co")
    command = RegisterExhibitor(
        application_id=application_id,
        applicant=acting.who.subject,
        edition_code=edition_code,
        company=body.company,
        contact=body.contact,
        company_id=company_id,
        identity=body.identity,
    )
    outcome = await handlers.register_exhibitor(acting.store, command, acting.context)
    response.headers["Location"] = f"/applications/{application_id}"
    return changed(outcome, application_id)


@router.get("/applications/{application_id}", summary="an application with its audit trail")
async def get_application(application_id: str, who: Applicant, store: Store) -> ApplicationDetail:
    await _owned(store, application_id, who)
    envelopes = await store.read_stream(stream_of(application_id))
    if not envelopes:
        raise NotFound(f"application {application_id} not found", code="application_not_found")
    events = [e.event(store.registry) for e in envelopes]
    state = APPLICATION.fold(stream_of(application_id), events)
    history = [
        HistoryEntry(
            version=e.stream_version,
            event_type=e.event_type,
            occurred_at=e.occurred_at,
            actor=e.actor,
            reason=e.reason,
            data=e.data,
        )
        for e in envelopes
    ]
    return ApplicationDetail(
        **view(state, envelopes[-1].stream_version).model_dump(), history=history
    )


@router.patch("/applications/{application_id}", summary="edit a draft or returned application")
async def edit(application_id: str, body: Edit, acting: AsApplicant) -> ApplicationView:
    command = EditApplication(
        application_id=application_id,
        asked_by=actor(acting.who),
        **body.model_dump(exclude_none=True),
    )
    return await _execute(handlers.change_application, acting.store, command, acting.context)


@router.post("/applications/{application_id}/submit", summary="submit or resubmit for review")
async def submit(application_id: str, acting: AsApplicant) -> ApplicationView:
    command = SubmitApplication(application_id=application_id, asked_by=actor(acting.who))
    return await _execute(handlers.change_application, acting.store, command, acting.context)


@router.post("/applications/{application_id}/withdraw", summary="withdraw from the edition")
async def withdraw(application_id: str, body: Reason, acting: AsApplicant) -> ApplicationView:
    command = WithdrawApplication(
        application_id=application_id, reason=body.reason, asked_by=actor(acting.who)
    )
    return await _execute(
        handlers.change_application, acting.store, command, acting.context.because(body.reason)
    )


@router.post("/applications/{application_id}/review", summary="take the application under review")
async def start_review(application_id: str, acting: AsRecruiter) -> ApplicationView:
    command = StartReview(application_id=application_id, reviewer=acting.who.subject)
    return await _execute(handlers.review_application, acting.store, command, acting.context)


@router.post("/applications/{application_id}/approve", summary="approve (reviewer only)")
async def approve(application_id: str, body: Approval, acting: AsRecruiter) -> ApplicationView:
    command = ApproveApplication(
        application_id=application_id, reviewer=acting.who.subject, note=body.note
    )
    reason = acting.context.because(body.note or None)
    return await _execute(handlers.review_application, acting.store, command, reason)


@router.post("/applications/{application_id}/reject", summary="reject with a reason")
async def reject(application_id: str, body: Reason, acting: AsRecruiter) -> ApplicationView:
    command = RejectApplication(
        application_id=application_id, reviewer=acting.who.subject, reason=body.reason
    )
    return await _execute(
        handlers.review_application, acting.store, command, acting.context.because(body.reason)
    )


@router.post("/applications/{application_id}/return", summary="return for changes with a reason")
async def return_for_changes(
    application_id: str, body: Reason, acting: AsRecruiter
) -> ApplicationView:
    command = ReturnApplication(
        application_id=application_id, reviewer=acting.who.subject, reason=body.reason
    )
    return await _execute(
        handlers.review_application, acting.store, command, acting.context.because(body.reason)
    )


@router.post(
    "/applications/{application_id}/assign",
    summary="give a submitted application to a reviewer, or hand its review over",
)
async def assign(application_id: str, body: Assignment, acting: AsRecruiter) -> ApplicationView:
    command = AssignReviewer(
        application_id=application_id, reviewer=body.reviewer, assigned_by=acting.who.subject
    )
    return await _execute(handlers.review_application, acting.store, command, acting.context)


@router.patch(
    "/applications/{application_id}/participation",
    summary="place the participation: mode, venue, zone, Digital Services Zone theme",
)
async def place(application_id: str, body: Placement, acting: AsRecruiter) -> ApplicationView:
    command = ChangeParticipation.model_validate(
        {"application_id": application_id, **body.model_dump(exclude_unset=True)}
    )
    return await _execute(handlers.review_application, acting.store, command, acting.context)


@router.get(
    "/applications/{application_id}/participation-history",
    summary="how and where the company took part, each change with who and when",
)
async def participation_history(
    application_id: str, who: Applicant, store: Store
) -> list[PlacementEntry]:
    await _owned(store, application_id, who)
    envelopes = await store.read_stream(stream_of(application_id))
    if not envelopes:
        raise NotFound(f"application {application_id} not found", code="application_not_found")
    entries: list[PlacementEntry] = []
    state = APPLICATION.initial(stream_of(application_id))
    for env in envelopes:
        state = APPLICATION.evolve(state, env.event(store.registry))
        placed = state.participation()
        last = entries[-1].model_dump(include=set(placed)) if entries else None
        if placed != last:
            entries.append(
                PlacementEntry.model_validate(
                    {
                        "version": env.stream_version,
                        "occurred_at": env.occurred_at,
                        "actor": env.actor,
                        **placed,
                    }
                )
            )
    return entries
