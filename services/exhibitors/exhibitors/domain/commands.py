"""What exhibitors and reviewers ask of an application. Validated on construction."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from .values import (
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
    Text,
)


class ApplicationCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    application_id: Identifier


class RegisterExhibitor(ApplicationCommand):
    applicant: Identifier = "self-registered"
    """The company user who registers and may then edit, submit and withdraw."""
    edition_code: EditionCode
    company: CompanyProfile
    contact: ContactPerson


class EditApplication(ApplicationCommand):
    """Change some profile fields; fields left as None stay as they are."""

    name_zh: Name | None = None
    name_en: Name | None = None
    country_or_region: CountryOrRegion | None = None
    sector: Name | None = None
    participation_mode: ParticipationMode | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None


class SubmitApplication(ApplicationCommand):
    pass


class StartReview(ApplicationCommand):
    reviewer: Identifier


class ApproveApplication(ApplicationCommand):
    reviewer: Identifier
    note: Note = ""


class RejectApplication(ApplicationCommand):
    reviewer: Identifier
    reason: Text


class ReturnApplication(ApplicationCommand):
    """Return for changes (退回修改)."""

    reviewer: Identifier
    reason: Text


class WithdrawApplication(ApplicationCommand):
    reason: Text


Command = (
    RegisterExhibitor
    | EditApplication
    | SubmitApplication
    | StartReview
    | ApproveApplication
    | RejectApplication
    | ReturnApplication
    | WithdrawApplication
)
