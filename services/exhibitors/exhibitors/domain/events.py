"""What happened to an exhibitor application (展商注册审核), as registered domain events.

Every event names the application it belongs to; the stream of one application is the
registration followed by edits, submissions and the organiser's review.
"""

from __future__ import annotations

from typing import Any

from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import PositiveInt, model_validator

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
    Slug,
    Text,
    Theme,
    Venue,
)

registry = EventRegistry()


class ApplicationEvent(DomainEvent):
    """Base of this module's events (not registered itself)."""

    application_id: Identifier


@registry.event("exhibitors.ExhibitorRegistered", version=1)
class ExhibitorRegistered(ApplicationEvent):
    """A company registered for an edition; its application is a draft."""

    applicant: Identifier = "self-registered"
    edition_code: EditionCode
    company: CompanyProfile
    contact: ContactPerson
    company_id: Identifier | None = None
    """The company across editions (added in place: older events have none)."""


@registry.event("exhibitors.ApplicationEdited", version=1)
class ApplicationEdited(ApplicationEvent):
    """The exhibitor changed its profile; only the changed fields are set."""

    name_zh: Name | None = None
    name_en: Name | None = None
    country_or_region: CountryOrRegion | None = None
    sector: Name | None = None
    participation_mode: ParticipationMode | None = None
    contact_name: Name | None = None
    contact_email: Email | None = None
    contact_phone: Phone | None = None

    @model_validator(mode="after")
    def _changes_something(self) -> ApplicationEdited:
        if not self.changes():
            raise ValueError("an edit must change at least one field")
        return self

    def changes(self) -> dict[str, Any]:
        """The changed fields and their new values."""
        return self.model_dump(exclude_none=True, exclude={"application_id"})


@registry.event("exhibitors.ApplicationSubmitted", version=1)
class ApplicationSubmitted(ApplicationEvent):
    """The exhibitor submitted for review; 1 for the first submission, 2 for a resubmission…"""

    submission_number: PositiveInt


@registry.event("exhibitors.ReviewStarted", version=1)
class ReviewStarted(ApplicationEvent):
    reviewer: Identifier


@registry.event("exhibitors.ApplicationApproved", version=1)
class ApplicationApproved(ApplicationEvent):
    reviewer: Identifier
    note: Note = ""


@registry.event("exhibitors.ApplicationRejected", version=1)
class ApplicationRejected(ApplicationEvent):
    """Final: the company does not exhibit at this edition."""

    reviewer: Identifier
    reason: Text


@registry.event("exhibitors.ApplicationReturned", version=1)
class ApplicationReturned(ApplicationEvent):
    """Returned for changes (退回修改): the exhibitor may edit and resubmit."""

    reviewer: Identifier
    reason: Text


@registry.event("exhibitors.ApplicationWithdrawn", version=1)
class ApplicationWithdrawn(ApplicationEvent):
    """Final: the exhibitor withdrew, before or after approval."""

    reason: Text


@registry.event("exhibitors.ReviewerAssigned", version=1)
class ReviewerAssigned(ApplicationEvent):
    """The application is given to `reviewer` (or its review handed over to them)."""

    reviewer: Identifier
    assigned_by: Identifier


@registry.event("exhibitors.ParticipationChanged", version=1)
class ParticipationChanged(ApplicationEvent):
    """How and where the company takes part from now on: every field, as it now stands."""

    participation_mode: ParticipationMode
    venue: Venue | None = None
    zone: Slug | None = None
    theme: Theme | None = None
