"""What exhibitors and reviewers ask of an application. Validated on construction."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator

from .values import (
    Asked,
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


class ApplicationCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    application_id: Identifier


class RegisterExhibitor(ApplicationCommand):
    applicant: Identifier = "self-registered"
    """The company user who registers and may then edit, submit and withdraw."""
    edition_code: EditionCode
    company: CompanyProfile
    contact: ContactPerson
    company_id: Identifier | None = None
    """The company (across editions) that takes part; None only in tests of older flows."""
    identity: CompanyIdentity | None = None
    """The new company's official number, claimed with its registration (no other company
    may hold it); None only for clients of the first version of the API."""


class EditApplication(ApplicationCommand, Asked):
    """Change some profile fields; fields left as None stay as they are."""

    name_zh: Name | None = None
    name_en: Name | None = None
    country_or_region: CountryOrRegion | None = None
    sector: Name | None = None
    participation_mode: ParticipationMode | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None


class SubmitApplication(ApplicationCommand, Asked):
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


class WithdrawApplication(ApplicationCommand, Asked):
    reason: Text


class AssignReviewer(ApplicationCommand):
    """Give a submitted application to a reviewer, or hand a review over to another."""

    reviewer: Identifier
    assigned_by: Identifier


class ChangeParticipation(ApplicationCommand):
    """Set how and where the company takes part; only the fields given change (null clears)."""

    participation_mode: ParticipationMode | None = None
    venue: Venue | None = None
    zone: Slug | None = None
    theme: Theme | None = None

    @model_validator(mode="after")
    def _mode_is_never_cleared(self) -> ChangeParticipation:
        if "participation_mode" in self.model_fields_set and self.participation_mode is None:
            raise ValueError("participation_mode cannot be cleared; give offline, online or both")
        return self

    def changes(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in self.model_fields_set - {"application_id"}}


class TakePart(Asked):
    """A registered company takes part in another edition: a draft application, made from
    the company's details, that its staff then complete and submit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    company_id: Identifier
    edition_code: EditionCode
    application_id: Identifier
    participation_mode: ParticipationMode
    contact: ContactPerson
    applicant: Identifier


ApplicantCommand = EditApplication | SubmitApplication | WithdrawApplication
"""What only the applicant, the company's staff or the recruitment team may ask."""

Command = (
    RegisterExhibitor
    | EditApplication
    | SubmitApplication
    | StartReview
    | ApproveApplication
    | RejectApplication
    | ReturnApplication
    | WithdrawApplication
    | AssignReviewer
    | ChangeParticipation
)
