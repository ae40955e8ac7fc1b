"""Signed agreements (云签约): deals an exhibitor signs online, announced as the fair's results.

An agreement (`agreement-<id>`) is signed once: its parties (the exhibitor and at least one
other), subject and value, perhaps the meeting it came from. The organiser then announces
it as a result of the edition (成果发布), once; announced agreements are the edition's
published results.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal, assert_never

from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .aggregate import Aggregate
from .company import Company, require_staff
from .events import registry
from .meetings import Meeting
from .values import Asked, CountryOrRegion, EditionCode, Identifier, Name

Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""ISO 4217, e.g. CNY, USD, EUR."""


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]
    currency: Currency


class Party(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    country_or_region: CountryOrRegion | None = None


class SignAgreement(Asked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement_id: Identifier
    company_id: Identifier
    edition_code: EditionCode
    counterparties: Annotated[list[Party], Field(min_length=1, max_length=20)]
    """Who signed with the exhibitor."""
    subject: Name
    value: Money
    signed_on: date
    meeting_id: Identifier | None = None


class AnnounceAgreement(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    agreement_id: Identifier
    by: Identifier


AgreementCommand = SignAgreement | AnnounceAgreement


@registry.event("exhibitors.AgreementSigned", version=1)
class AgreementSigned(DomainEvent):
    agreement_id: Identifier
    company_id: Identifier
    edition_code: EditionCode
    counterparties: list[Party]
    subject: Name
    value: Money
    signed_on: date
    meeting_id: Identifier | None = None


@registry.event("exhibitors.AgreementAnnounced", version=1)
class AgreementAnnounced(DomainEvent):
    """Published as a result of the edition."""

    agreement_id: Identifier
    by: Identifier


@dataclass(frozen=True)
class Agreement:
    agreement_id: str
    status: Literal["new", "signed", "announced"] = "new"
    signed: AgreementSigned | None = None


def initial_agreement(agreement_id: str) -> Agreement:
    return Agreement(agreement_id=agreement_id)


def decide(command: AgreementCommand, state: Agreement, today: date) -> list[DomainEvent]:
    aid = state.agreement_id
    match command:
        case SignAgreement():
            if state.status != "new":
                raise Conflict(f"agreement {aid} is signed already", code="agreement_exists")
            if command.signed_on > today:
                raise DomainError(
                    "an agreement is recorded once signed, not before", code="signed_in_the_future"
                )
            return [AgreementSigned(**command.model_dump())]
        case AnnounceAgreement(by=by):
            if state.status == "new":
                raise NotFound(f"agreement {aid} not found", code="agreement_not_found")
            if state.status == "announced":
                raise DomainError(
                    f"agreement {aid} is announced already",
                    code="illegal_transition",
                    **{"from": state.status, "command": "announce"},
                )
            return [AgreementAnnounced(agreement_id=aid, by=by)]
        case _:
            assert_never(command)


def evolve(state: Agreement, event: DomainEvent) -> Agreement:
    match event:
        case AgreementSigned():
            return replace(state, status="signed", signed=event)
        case AgreementAnnounced():
            return replace(state, status="announced")
        case _:
            return state


AGREEMENT: Aggregate[Agreement] = Aggregate("agreement-", initial_agreement, evolve)


def sign(
    command: SignAgreement,
    *,
    agreement: Agreement,
    company: Company,
    meeting: Meeting | None,
    today: date,
) -> list[DomainEvent]:
    """The company's staff record an agreement of an edition it takes part in, perhaps
    signed at one of its confirmed meetings."""
    cid = company.company_id
    require_staff(company, command.asked_by, "record its agreements")
    if command.edition_code not in company.editions:
        raise DomainError(
            f"company {cid} does not take part in {command.edition_code}",
            code="not_participating",
        )
    if meeting is not None and (meeting.company_id != cid or meeting.status != "confirmed"):
        raise DomainError(
            f"meeting {meeting.meeting_id} is no confirmed meeting of {cid}",
            code="meeting_not_eligible",
        )
    return decide(command, agreement, today)
