"""Commands on exhibitor applications: register, edit, submit, review, withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fairline_events.auth import Principal
from fairline_events.decider import handle
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Step, step, stepwise, transact
from fastapi import APIRouter, Response
from pydantic import BaseModel

from ..domain.application import Application
from ..domain.commands import (
    ApplicationCommand,
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
from ..domain.company import JoinEdition
from ..domain.values import (
    CompanyDetails,
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
from ..streams import (
    application_stream,
    applications,
    companies,
    company_registration,
    company_stream,
)
from .common import Body, CommandRoute, Correlation, Exhibitor, Recruiter, Store, context, new_id

router = APIRouter(tags=["applications"], route_class=CommandRoute)

stream_of = application_stream
Applicant = Exhibitor


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
    store: EventStore,
    command: ApplicationCommand,
    who: Principal,
    correlation: str | None,
    reason: str | None = None,
) -> ApplicationView:
    state, envelopes = await handle(
        store,
        applications,
        stream_of(command.application_id),
        command,
        context(who, correlation, reason),
    )
    version = (
        envelopes[-1].stream_version
        if envelopes
        else await store.stream_version(stream_of(command.application_id))
    )
    return view(state, version)


async def _owned(store: EventStore, application_id: str, who: Principal) -> None:
    """A company's staff act on its applications only; recruitment staff on any."""
    if who.has_any(("recruitment",)):
        return
    stream = stream_of(application_id)
    state, _ = await store.load(stream, applications.evolve, applications.initial(stream))
    if state.applicant is None or state.applicant == who.subject:
        return
    if state.company_id is not None:
        cstream = company_stream(state.company_id)
        company, _ = await store.load(cstream, companies.evolve, companies.initial(cstream))
        if company.is_staff(who.subject):
            return
    raise Forbidden("this application belongs to another company", code="not_the_applicant")


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
    application_id, company_id = new_id("app"), new_id("co")
    details = CompanyDetails(**body.company.model_dump(exclude={"participation_mode"}))
    join = JoinEdition(
        company_id=company_id, edition_code=edition_code, application_id=application_id
    )
    steps: list[Step[Any]] = [
        *company_registration(company_id, body.identity, details, who.subject, join),
        step(
            applications,
            stream_of(application_id),
            RegisterExhibitor(
                application_id=application_id,
                applicant=who.subject,
                edition_code=edition_code,
                company=body.company,
                contact=body.contact,
                company_id=company_id,
            ),
        ),
    ]
    outcome = await transact(
        store, stepwise(steps), context(who, correlation), command="RegisterExhibitor"
    )
    response.headers["Location"] = f"/applications/{application_id}"
    stream = stream_of(application_id)
    return view(outcome.states[stream], outcome.versions[stream])


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


@router.post(
    "/applications/{application_id}/assign",
    summary="give a submitted application to a reviewer, or hand its review over",
)
async def assign(
    application_id: str,
    body: Assignment,
    who: Recruiter,
    store: Store,
    correlation: Correlation = None,
) -> ApplicationView:
    command = AssignReviewer(
        application_id=application_id, reviewer=body.reviewer, assigned_by=who.subject
    )
    return await _execute(store, command, who, correlation)


@router.patch(
    "/applications/{application_id}/participation",
    summary="place the participation: mode, venue, zone, Digital Services Zone theme",
)
async def place(
    application_id: str,
    body: Placement,
    who: Recruiter,
    store: Store,
    correlation: Correlation = None,
) -> ApplicationView:
    command = ChangeParticipation.model_validate(
        {"application_id": application_id, **body.model_dump(exclude_unset=True)}
    )
    return await _execute(store, command, who, correlation)


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
    state = applications.initial(stream_of(application_id))
    for env in envelopes:
        state = applications.evolve(state, env.event(store.registry))
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
