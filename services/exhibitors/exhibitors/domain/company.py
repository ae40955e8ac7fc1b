"""Companies (企业): they outlive editions, their staff act for them, they join editions.

Two kinds of stream, each a decider:
- `company-<id>`: registered, details changed, staff added or removed, joined an edition
  (one participation per edition: joining again is a conflict naming the first one);
- `company-code-<key>`: one per official identifier (`uscc-<code>` for a unified social
  credit code, `reg-<country>-<number>` for a registration number), claimed once. It is
  appended at version 0 in the same transaction as the company's registration, so two
  concurrent registrations of one code cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, assert_never

from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from pydantic import BaseModel, ConfigDict, model_validator

from .aggregate import Aggregate, Decision
from .events import registry
from .values import (
    Actor,
    Asked,
    CompanyDetails,
    CompanyIdentity,
    CountryOrRegion,
    EditionCode,
    Identifier,
    Name,
)

# --- commands ----------------------------------------------------------------------------


class CompanyCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    company_id: Identifier


class RegisterCompany(CompanyCommand):
    identity: CompanyIdentity | None
    """None only for the older inline registration, which carried no official number."""
    details: CompanyDetails
    owner: Identifier
    """The user who registers the company: its first staff member."""


class ChangeCompanyDetails(CompanyCommand, Asked):
    name_zh: Name | None = None
    name_en: Name | None = None
    country_or_region: CountryOrRegion | None = None
    sector: Name | None = None


class AddStaffMember(CompanyCommand, Asked):
    person: Identifier


class RemoveStaffMember(CompanyCommand, Asked):
    person: Identifier


class JoinEdition(CompanyCommand, Asked):
    edition_code: EditionCode
    application_id: Identifier


CompanyCommandType = (
    RegisterCompany | ChangeCompanyDetails | AddStaffMember | RemoveStaffMember | JoinEdition
)
StaffCommand = ChangeCompanyDetails | AddStaffMember | RemoveStaffMember | JoinEdition
"""What only the company's staff (or the recruitment team) may ask."""


class ClaimIdentifier(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    company_id: Identifier


# --- events ------------------------------------------------------------------------------


class CompanyEvent(DomainEvent):
    company_id: Identifier


@registry.event("exhibitors.CompanyRegistered", version=1)
class CompanyRegistered(CompanyEvent):
    """A company exists from now on, across editions; `identity` None for older registrations."""

    identity: CompanyIdentity | None = None
    details: CompanyDetails
    owner: Identifier


@registry.event("exhibitors.CompanyDetailsChanged", version=1)
class CompanyDetailsChanged(CompanyEvent):
    """Only the changed fields are set."""

    name_zh: Name | None = None
    name_en: Name | None = None
    country_or_region: CountryOrRegion | None = None
    sector: Name | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> CompanyDetailsChanged:
        if not self.changes():
            raise ValueError("a change must change at least one field")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True, exclude={"company_id"})


@registry.event("exhibitors.StaffMemberAdded", version=1)
class StaffMemberAdded(CompanyEvent):
    person: Identifier


@registry.event("exhibitors.StaffMemberRemoved", version=1)
class StaffMemberRemoved(CompanyEvent):
    person: Identifier


@registry.event("exhibitors.CompanyJoinedEdition", version=1)
class CompanyJoinedEdition(CompanyEvent):
    """The company takes part in an edition; the participation is the application's stream."""

    edition_code: EditionCode
    application_id: Identifier


@registry.event("exhibitors.CompanyIdentifierClaimed", version=1)
class CompanyIdentifierClaimed(DomainEvent):
    """An official identifier now belongs to this company, and to no other."""

    key: str
    company_id: Identifier


# --- the company ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Company:
    company_id: str
    registered: bool = False
    identity: CompanyIdentity | None = None
    details: CompanyDetails | None = None
    staff: frozenset[str] = frozenset()
    editions: dict[str, str] = field(default_factory=dict)
    """edition code -> the application (participation) id"""

    def is_staff(self, person: str) -> bool:
        return person in self.staff


def initial_company(company_id: str) -> Company:
    return Company(company_id=company_id)


def decide(command: CompanyCommandType, state: Company) -> list[DomainEvent]:
    cid = state.company_id
    if command.company_id != cid:
        raise DomainError(
            f"command for company {command.company_id} sent to {cid}", code="wrong_company"
        )
    if isinstance(command, RegisterCompany):
        if state.registered:
            raise Conflict(f"company {cid} already exists", code="company_exists", company_id=cid)
        return [
            CompanyRegistered(
                company_id=cid,
                identity=command.identity,
                details=command.details,
                owner=command.owner,
            ),
            StaffMemberAdded(company_id=cid, person=command.owner),
        ]
    if not state.registered or state.details is None:
        raise NotFound(f"company {cid} not found", code="company_not_found")
    match command:
        case ChangeCompanyDetails():
            current = state.details.model_dump()
            requested = command.model_dump(exclude_none=True, exclude={"company_id"})
            changes = {k: v for k, v in requested.items() if current[k] != v}
            if not changes:
                return []
            return [CompanyDetailsChanged.model_validate({"company_id": cid, **changes})]
        case AddStaffMember(person=person):
            if person in state.staff:
                return []
            return [StaffMemberAdded(company_id=cid, person=person)]
        case RemoveStaffMember(person=person):
            if person not in state.staff:
                raise NotFound(
                    f"{person} is not on the staff of company {cid}",
                    code="staff_member_not_found",
                )
            if state.staff == {person}:
                raise DomainError(
                    f"{person} is the last staff member of company {cid}; add another first",
                    code="last_staff_member",
                )
            return [StaffMemberRemoved(company_id=cid, person=person)]
        case JoinEdition(edition_code=edition, application_id=application_id):
            existing = state.editions.get(edition)
            if existing is not None:
                raise Conflict(
                    f"company {cid} already takes part in {edition} ({existing})",
                    code="already_participating",
                    company_id=cid,
                    edition_code=edition,
                    application_id=existing,
                )
            return [
                CompanyJoinedEdition(
                    company_id=cid, edition_code=edition, application_id=application_id
                )
            ]
        case _:
            assert_never(command)


def evolve(state: Company, event: DomainEvent) -> Company:
    match event:
        case CompanyRegistered():
            return replace(state, registered=True, identity=event.identity, details=event.details)
        case CompanyDetailsChanged() if state.details is not None:
            return replace(state, details=state.details.model_copy(update=event.changes()))
        case StaffMemberAdded():
            return replace(state, staff=state.staff | {event.person})
        case StaffMemberRemoved():
            return replace(state, staff=state.staff - {event.person})
        case CompanyJoinedEdition():
            editions = {**state.editions, event.edition_code: event.application_id}
            return replace(state, editions=editions)
        case _:
            return state


COMPANY: Aggregate[Company] = Aggregate("company-", initial_company, evolve)


def require_staff(company: Company, by: Actor | None, may: str = "may do this") -> None:
    """The company exists, and `by` is on its staff or in the recruitment team."""
    cid = company.company_id
    if not company.registered:
        raise NotFound(f"company {cid} not found", code="company_not_found")
    if by is None or not (company.is_staff(by.person) or by.recruiter):
        raise Forbidden(f"only the staff of {cid} {may}", code="not_company_staff")


def change(command: StaffCommand, *, company: Company) -> list[DomainEvent]:
    """A change only the company's staff (or the recruitment team) may make."""
    require_staff(company, command.asked_by)
    return decide(command, company)


def identifier_keys(identity: CompanyIdentity | None, country_or_region: str) -> list[str]:
    """The official identifiers a registration claims: none may be held by another company."""
    return identity.keys(country_or_region) if identity is not None else []


def register(
    command: RegisterCompany,
    *,
    claims: Sequence[IdentifierClaim],
    company: Company,
    then: Sequence[JoinEdition] = (),
) -> Decision:
    """Claim each official identifier, then register the company (and join an edition).

    The claims are new streams appended at version 0 in the same transaction: a code held by
    another company is a 409 `company_exists`, never a second company.
    """
    decision: Decision = {
        IDENTIFIER.stream(claim.key): decide_claim(
            ClaimIdentifier(key=claim.key, company_id=command.company_id), claim
        )
        for claim in claims
    }
    events: list[DomainEvent] = []
    steps: list[CompanyCommandType] = [command, *then]
    for step in steps:
        new = decide(step, company)
        company = COMPANY.after(company, new)
        events += new
    decision[COMPANY.stream(command.company_id)] = events
    return decision


# --- official identifiers ------------------------------------------------------------------


@dataclass(frozen=True)
class IdentifierClaim:
    key: str
    holder: str | None = None


def initial_identifier(key: str) -> IdentifierClaim:
    return IdentifierClaim(key=key)


def decide_claim(command: ClaimIdentifier, state: IdentifierClaim) -> list[DomainEvent]:
    if state.holder == command.company_id:
        return []
    if state.holder is not None:
        scheme = "unified social credit code" if state.key.startswith("uscc-") else "number"
        raise Conflict(
            f"a company with this {scheme} is already registered ({state.holder})",
            code="company_exists",
            company_id=state.holder,
            identifier=state.key,
        )
    return [CompanyIdentifierClaimed(key=state.key, company_id=command.company_id)]


def evolve_claim(state: IdentifierClaim, event: DomainEvent) -> IdentifierClaim:
    if isinstance(event, CompanyIdentifierClaimed):
        return replace(state, holder=event.company_id)
    return state


IDENTIFIER: Aggregate[IdentifierClaim] = Aggregate(
    "company-code-", initial_identifier, evolve_claim
)
