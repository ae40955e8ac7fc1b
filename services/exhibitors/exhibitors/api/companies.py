"""Companies across editions: register once, keep the staff list, take part edition by edition."""

from __future__ import annotations

from typing import Any

from fairline_events.auth import Principal
from fairline_events.decider import handle
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Step, Streams, step, stepwise, transact
from fastapi import APIRouter, Response
from pydantic import BaseModel

from ..domain.commands import RegisterExhibitor
from ..domain.company import (
    AddStaffMember,
    ChangeCompanyDetails,
    Company,
    JoinEdition,
    RemoveStaffMember,
)
from ..domain.values import (
    CompanyDetails,
    CompanyIdentity,
    CompanyProfile,
    ContactPerson,
    CountryOrRegion,
    EditionCode,
    Identifier,
    Name,
    ParticipationMode,
)
from ..streams import (
    application_stream,
    applications,
    companies,
    company_registration,
    company_stream,
)
from .applications import ApplicationView, view
from .common import Body, CommandRoute, Correlation, Exhibitor, Store, context, new_id

router = APIRouter(tags=["companies"], route_class=CommandRoute)


class CompanyRegistration(Body):
    identity: CompanyIdentity
    details: CompanyDetails


class DetailsChange(Body):
    name_zh: Name | None = None
    name_en: Name | None = None
    country_or_region: CountryOrRegion | None = None
    sector: Name | None = None


class NewStaffMember(Body):
    person: Identifier


class ParticipationRequest(Body):
    edition_code: EditionCode
    participation_mode: ParticipationMode
    contact: ContactPerson


class Participation(BaseModel):
    edition_code: str
    application_id: str


class CompanyView(BaseModel):
    company_id: str
    identity: CompanyIdentity | None
    details: CompanyDetails
    staff: list[str]
    participations: list[Participation]
    version: int


def company_view(state: Company, version: int) -> CompanyView:
    assert state.details is not None
    return CompanyView(
        company_id=state.company_id,
        identity=state.identity,
        details=state.details,
        staff=sorted(state.staff),
        participations=[
            Participation(edition_code=e, application_id=a)
            for e, a in sorted(state.editions.items())
        ],
        version=version,
    )


async def load_company(store: EventStore, company_id: str) -> tuple[Company, int]:
    stream = company_stream(company_id)
    state, version = await store.load(stream, companies.evolve, companies.initial(stream))
    if not state.registered:
        raise NotFound(f"company {company_id} not found", code="company_not_found")
    return state, version


async def staff_company(store: EventStore, company_id: str, who: Principal) -> Company:
    """The company, when `who` is on its staff or in the recruitment team."""
    state, _ = await load_company(store, company_id)
    if not state.is_staff(who.subject) and not who.has_any(("recruitment",)):
        raise Forbidden(
            f"only the staff of company {company_id} may do this", code="not_company_staff"
        )
    return state


async def _execute(
    store: EventStore, command: Any, who: Principal, correlation: str | None
) -> CompanyView:
    await staff_company(store, command.company_id, who)
    stream = company_stream(command.company_id)
    state, envelopes = await handle(store, companies, stream, command, context(who, correlation))
    version = envelopes[-1].stream_version if envelopes else await store.stream_version(stream)
    return company_view(state, version)


@router.post("/companies", status_code=201, summary="register a company (once, across editions)")
async def register_company(
    body: CompanyRegistration,
    who: Exhibitor,
    store: Store,
    response: Response,
    correlation: Correlation = None,
) -> CompanyView:
    company_id = new_id("co")
    steps = company_registration(company_id, body.identity, body.details, who.subject)
    outcome = await transact(
        store, stepwise(steps), context(who, correlation), command="RegisterCompany"
    )
    response.headers["Location"] = f"/companies/{company_id}"
    stream = company_stream(company_id)
    return company_view(outcome.states[stream], outcome.versions[stream])


@router.get("/companies/{company_id}", summary="a company, its staff and its participations")
async def get_company(company_id: str, who: Exhibitor, store: Store) -> CompanyView:
    await staff_company(store, company_id, who)
    return company_view(*await load_company(store, company_id))


@router.patch("/companies/{company_id}", summary="change the company's names, home or sector")
async def change_company(
    company_id: str,
    body: DetailsChange,
    who: Exhibitor,
    store: Store,
    correlation: Correlation = None,
) -> CompanyView:
    command = ChangeCompanyDetails(company_id=company_id, **body.model_dump(exclude_none=True))
    return await _execute(store, command, who, correlation)


@router.post("/companies/{company_id}/staff", summary="add a staff member who may act for it")
async def add_staff(
    company_id: str,
    body: NewStaffMember,
    who: Exhibitor,
    store: Store,
    correlation: Correlation = None,
) -> CompanyView:
    command = AddStaffMember(company_id=company_id, person=body.person)
    return await _execute(store, command, who, correlation)


@router.delete("/companies/{company_id}/staff/{person}", summary="remove a staff member")
async def remove_staff(
    company_id: str, person: str, who: Exhibitor, store: Store, correlation: Correlation = None
) -> CompanyView:
    command = RemoveStaffMember(company_id=company_id, person=person)
    return await _execute(store, command, who, correlation)


@router.post(
    "/companies/{company_id}/participations",
    status_code=201,
    summary="take part in another edition (a draft application with the company's details)",
)
async def participate(
    company_id: str,
    body: ParticipationRequest,
    who: Exhibitor,
    store: Store,
    response: Response,
    correlation: Correlation = None,
) -> ApplicationView:
    await staff_company(store, company_id, who)
    application_id = new_id("app")

    async def plan(load: Streams) -> list[Step[Any]]:
        company = await load(companies, company_stream(company_id))
        if company.details is None:
            raise NotFound(f"company {company_id} not found", code="company_not_found")
        profile = CompanyProfile(
            **company.details.model_dump(), participation_mode=body.participation_mode
        )
        join = JoinEdition(
            company_id=company_id, edition_code=body.edition_code, application_id=application_id
        )
        register = RegisterExhibitor(
            application_id=application_id,
            applicant=who.subject,
            edition_code=body.edition_code,
            company=profile,
            contact=body.contact,
            company_id=company_id,
        )
        return [
            step(companies, company_stream(company_id), join),
            step(applications, application_stream(application_id), register),
        ]

    outcome = await transact(
        store, stepwise(plan), context(who, correlation), command="JoinEdition"
    )
    response.headers["Location"] = f"/applications/{application_id}"
    stream = application_stream(application_id)
    return view(outcome.states[stream], outcome.versions[stream])
