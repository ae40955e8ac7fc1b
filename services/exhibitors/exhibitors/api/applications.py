"""Commands on exhibitor applications: register, edit, submit, review, withdraw."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fairline_events.auth import Principal, require
from fairline_events.context import request_context
from fairline_events.decider import Decider, handle
from fairline_events.errors import Forbidden, NotFound
from fairline_events.service import store_of
from fairline_events.store import EventStore
from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, ConfigDict

from ..domain import application
from ..domain.application import Application
from ..domain.commands import (
    ApplicationCommand,
    ApproveApplication,
    EditApplication,
    RegisterExhibitor,
    RejectApplication,
    ReturnApplication,
    StartReview,
    SubmitApplication,
    WithdrawApplication,
)
from ..domain.values import (
    CompanyProfile,
    ContactPerson,
    CountryOrRegion,
    EditionCode,
    Email,
    Name,
    Note,
    ParticipationMode,
    Phone,
    Text,
)

router = APIRouter(tags=["applications"])

STREAM_PREFIX = "application-"


def stream_of(application_id: str) -> str:
    return f"{STREAM_PREFIX}{application_id}"


def _initial(stream_id: str) -> Application:
    return application.initial_application(stream_id.removeprefix(STREAM_PREFIX))


applications: Decider[Any, Application] = Decider(
    initial=_initial,
    decide=application.decide,
    evolve=application.evolve,
)

Applicant = Annotated[Principal, Depends(require("exhibitor", "recruitment"))]
Recruiter = Annotated[Principal, Depends(require("recruitment"))]
Store = Annotated[EventStore, Depends(store_of)]
Correlation = Annotated[str | None, Header(alias="X-Correlation-ID")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Registration(Body):
    company: CompanyProfile
    contact: ContactPerson


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


class ApplicationView(BaseModel):
    application_id: str
    status: str
    edition_code: str | None
    applicant: str | None
    company: CompanyProfile | None
    contact: ContactPerson | None
    reviewer: str | None
    submissions: int
    last_reason: str | None
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
        status=state.status,
        edition_code=state.edition_code,
        applicant=state.applicant,
        company=state.company,
        contact=state.contact,
        reviewer=state.reviewer,
        submissions=state.submissions,
        last_reason=state.last_reason,
        version=version,
    )


async def _execute(
    store: EventStore,
    command: ApplicationCommand,
    who: Principal,
    correlation: str | None,
    reason: str | None = None,
) -> ApplicationView:
    context = request_context(who.actor, correlation_id=correlation, reason=reason)
    state, envelopes = await handle(
        store, applications, stream_of(command.application_id), command, context
    )
    version = (
        envelopes[-1].stream_version
        if envelopes
        else await store.stream_version(stream_of(command.application_id))
    )
    return view(state, version)


async def _owned(store: EventStore, application_id: str, who: Principal) -> None:
    """Company users act on their own applications only; recruitment staff on any."""
    if who.has_any(("recruitment",)):
        return
    stream = stream_of(application_id)
    state, _ = await store.load(stream, applications.evolve, applications.initial(stream))
    if state.applicant is not None and state.applicant != who.subject:
        raise Forbidden(
            "this application belongs to another company user", code="not_the_applicant"
        )


@router.post(
    "/editions/{edition_code}/applications",
    status_code=201,
    summary="register a company for an edition (a draft application)",
)
async def register(
    edition_code: EditionCode,
    body: Registration,
    who: Applicant,
    store: Store,
    response: Response,
    correlation: Correlation = None,
) -> ApplicationView:
    application_id = f"app-{uuid.uuid4().hex[:12]}"
    command = RegisterExhibitor(
        application_id=application_id,
        applicant=who.subject,
        edition_code=edition_code,
        company=body.company,
        contact=body.contact,
    )
    result = await _execute(store, command, who, correlation)
    response.headers["Location"] = f"/applications/{application_id}"
    return result


@router.get("/applications/{application_id}", summary="an application with its audit trail")
async def get_application(application_id: str, who: Applicant, store: Store) -> ApplicationDetail:
    await _owned(store, application_id, who)
    envelopes = await store.read_stream(stream_of(application_id))
    if not envelopes:
        raise NotFound(f"application {application_id} not found", code="application_not_found")
    events = [e.event(store.registry) for e in envelopes]
    state = applications.fold(stream_of(application_id), events)
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
async def edit(
    application_id: str, body: Edit, who: Applicant, store: Store, correlation: Correlation = None
) -> ApplicationView:
    await _owned(store, application_id, who)
    command = EditApplication(application_id=application_id, **body.model_dump(exclude_none=True))
    return await _execute(store, command, who, correlation)


@router.post("/applications/{application_id}/submit", summary="submit or resubmit for review")
async def submit(
    application_id: str, who: Applicant, store: Store, correlation: Correlation = None
) -> ApplicationView:
    await _owned(store, application_id, who)
    return await _execute(store, SubmitApplication(application_id=application_id), who, correlation)


@router.post("/applications/{application_id}/withdraw", summary="withdraw from the edition")
async def withdraw(
    application_id: str, body: Reason, who: Applicant, store: Store, correlation: Correlation = None
) -> ApplicationView:
    await _owned(store, application_id, who)
    command = WithdrawApplication(application_id=application_id, reason=body.reason)
    return await _execute(store, command, who, correlation, body.reason)


@router.post("/applications/{application_id}/review", summary="take the application under review")
async def start_review(
    application_id: str, who: Recruiter, store: Store, correlation: Correlation = None
) -> ApplicationView:
    command = StartReview(application_id=application_id, reviewer=who.subject)
    return await _execute(store, command, who, correlation)


@router.post("/applications/{application_id}/approve", summary="approve (reviewer only)")
async def approve(
    application_id: str,
    body: Approval,
    who: Recruiter,
    store: Store,
    correlation: Correlation = None,
) -> ApplicationView:
    command = ApproveApplication(
        application_id=application_id, reviewer=who.subject, note=body.note
    )
    return await _execute(store, command, who, correlation, body.note or None)


@router.post("/applications/{application_id}/reject", summary="reject with a reason")
async def reject(
    application_id: str,
    body: Reason,
    who: Recruiter,
    store: Store,
    correlation: Correlation = None,
) -> ApplicationView:
    command = RejectApplication(
        application_id=application_id, reviewer=who.subject, reason=body.reason
    )
    return await _execute(store, command, who, correlation, body.reason)


@router.post("/applications/{application_id}/return", summary="return for changes with a reason")
async def return_for_changes(
    application_id: str,
    body: Reason,
    who: Recruiter,
    store: Store,
    correlation: Correlation = None,
) -> ApplicationView:
    command = ReturnApplication(
        application_id=application_id, reviewer=who.subject, reason=body.reason
    )
    return await _execute(store, command, who, correlation, body.reason)
