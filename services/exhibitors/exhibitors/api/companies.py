"""Companies across editions: register once, keep the staff list, take part edition by edition."""

from __future__ import annotations

from fairline_events.dependencies import Body, Store, new_id
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Outcome
from fastapi import APIRouter, Response
from pydantic import BaseModel

from .. import handlers
from ..domain.application import APPLICATION, Application
from ..domain.commands import TakePart
from ..domain.company import (
    COMPANY,
    AddStaffMember,
    ChangeCompanyDetails,
    Company,
    RegisterCompany,
    RemoveStaffMember,
)
from ..domain.values import (
    CompanyDetails,
    CompanyIdentity,
    ContactPerson,
    CountryOrRegion,
    EditionCode,
    Identifier,
    Name,
    ParticipationMode,
)
from .applications import ApplicationView, view
from .common import AsExhibitor, Exhibitor, actor, known, read

router = APIRouter(tags=["companies"])


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


def changed_company(outcome: Outcome, company_id: str) -> CompanyView:
    stream = COMPANY.stream(company_id)
    return company_view(outcome.state(stream, Company), outcome.versions[stream])


async def load_company(store: EventStore, company_id: str) -> tuple[Company, int]:
    state, version = await read(store, COMPANY, company_id)
    if not state.registered:
        raise NotFound(f"company {company_id} not found", code="company_not_found")
    return state, version


@router.post("/companies", status_code=201, summary="register a company (once, across editions)")
async def register_company(
    body: CompanyRegistration, acting: AsExhibitor, response: Response
) -> CompanyView:
    company_id = new_id("co")
    command = RegisterCompany(
        company_id=company_id,
        identity=body.identity,
        details=body.details,
        owner=acting.who.subject,
    )
    outcome = await handlers.register_company(acting.store, command, acting.context)
    response.headers["Location"] = f"/companies/{company_id}"
    return changed_company(outcome, company_id)


@router.get("/companies/{company_id}", summary="a company, its staff and its participations")
async def get_company(company_id: str, who: Exhibitor, store: Store) -> CompanyView:
    state, version = await load_company(store, company_id)
    if not state.is_staff(who.subject) and not who.has_any(("recruitment",)):
        raise Forbidden(
            f"only the staff of company {company_id} may do this", code="not_company_staff"
        )
    return company_view(state, version)


@router.patch("/companies/{company_id}", summary="change the company's names, home or sector")
async def change_company(company_id: str, body: DetailsChange, acting: AsExhibitor) -> CompanyView:
    command = ChangeCompanyDetails(
        company_id=company_id, asked_by=actor(acting.who), **body.model_dump(exclude_none=True)
    )
    return changed_company(
        await handlers.change_company(acting.store, command, acting.context), company_id
    )


@router.post("/companies/{company_id}/staff", summary="add a staff member who may act for it")
async def add_staff(company_id: str, body: NewStaffMember, acting: AsExhibitor) -> CompanyView:
    command = AddStaffMember(company_id=company_id, person=body.person, asked_by=actor(acting.who))
    return changed_company(
        await handlers.change_company(acting.store, command, acting.context), company_id
    )


@router.delete("/companies/{company_id}/staff/{person}", summary="remove a staff member")
async def remove_staff(company_id: str, person: str, acting: AsExhibitor) -> CompanyView:
    command = RemoveStaffMember(company_id=company_id, person=person, asked_by=actor(acting.who))
    return changed_company(
        await handlers.change_company(acting.store, command, acting.context), company_id
    )


@router.post(
    "/companies/{company_id}/participations",
    status_code=201,
    summary="take part in another edition (a draft application with the company's details)",
)
async def participate(
    company_id: str,
    body: ParticipationRequest,
    acting: AsExhibitor,
    response: Response,
) -> ApplicationView:
    application_id = new_id("app")
    command = TakePart(
        company_id=known(company_id, "company", "company_not_found"),
        edition_code=body.edition_code,
        application_id=application_id,
        participation_mode=body.participation_mode,
        contact=body.contact,
        applicant=acting.who.subject,
        asked_by=actor(acting.who),
    )
    outcome = await handlers.take_part(acting.store, command, acting.context)
    response.headers["Location"] = f"/applications/{application_id}"
    stream = APPLICATION.stream(application_id)
    return view(outcome.state(stream, Application), outcome.versions[stream])
