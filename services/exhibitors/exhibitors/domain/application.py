"""An exhibitor application (展商注册审核) as a decider: `decide` and `evolve`, nothing else.

    new ─register─▶ draft ─submit─▶ submitted ─start review─▶ under_review ─approve─▶ approved
                      ▲ edit          ▲                            │ reject ─▶ rejected
                      └───────── returned ◀──────── return ────────┘
    withdraw: from draft, submitted, under_review, returned or approved ─▶ withdrawn

A submitted application may be assigned to a reviewer: then only they may start its review.
A review under way may be handed over (assigned) to another reviewer. Only the reviewer who
holds the review may approve, reject or return it. The organiser places a participation
(mode, venue, zone, Digital Services Zone theme) at any time until it is closed; each change
is an event, so the history of the details is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import reduce
from typing import Any, Literal, assert_never

from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent

from .aggregate import Aggregate, Decision
from .commands import (
    ApplicantCommand,
    ApproveApplication,
    AssignReviewer,
    ChangeParticipation,
    Command,
    EditApplication,
    RegisterExhibitor,
    RejectApplication,
    ReturnApplication,
    StartReview,
    SubmitApplication,
    TakePart,
    WithdrawApplication,
)
from .company import (
    COMPANY,
    Company,
    IdentifierClaim,
    JoinEdition,
    RegisterCompany,
    register,
    require_staff,
)
from .company import decide as company_decide
from .events import (
    ApplicationApproved,
    ApplicationEdited,
    ApplicationEvent,
    ApplicationRejected,
    ApplicationReturned,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ExhibitorRegistered,
    ParticipationChanged,
    ReviewerAssigned,
    ReviewStarted,
)
from .values import DIGITAL_SERVICES_ZONE, Actor, CompanyDetails, CompanyProfile, ContactPerson

Status = Literal[
    "new", "draft", "submitted", "under_review", "approved", "rejected", "returned", "withdrawn"
]

EDITABLE: frozenset[Status] = frozenset({"draft", "returned"})
SUBMITTABLE: frozenset[Status] = frozenset({"draft", "returned"})
WITHDRAWABLE: frozenset[Status] = frozenset(
    {"draft", "submitted", "under_review", "returned", "approved"}
)
ASSIGNABLE: frozenset[Status] = frozenset({"submitted", "under_review"})
PLACEABLE: frozenset[Status] = WITHDRAWABLE


@dataclass(frozen=True)
class Application:
    """State of one application, rebuilt from its events."""

    application_id: str
    status: Status = "new"
    applicant: str | None = None
    company_id: str | None = None
    edition_code: str | None = None
    company: CompanyProfile | None = None
    contact: ContactPerson | None = None
    reviewer: str | None = None
    """Who holds the current review (assigned or started), or who decided the last one."""
    submissions: int = 0
    last_reason: str | None = None
    """The reason given by the last return, rejection or withdrawal."""
    review_note: str = ""
    venue: str | None = None
    zone: str | None = None
    theme: str | None = None

    def participation(self) -> dict[str, str | None]:
        mode = self.company.participation_mode if self.company else None
        return {
            "participation_mode": mode,
            "venue": self.venue,
            "zone": self.zone,
            "theme": self.theme,
        }


def initial_application(application_id: str) -> Application:
    """The state before anything happened: not yet registered."""
    return Application(application_id=application_id)


def decide(command: Command, state: Application) -> list[DomainEvent]:
    """The events `command` causes on `state`; raises a DomainError when the rules refuse."""
    app_id = state.application_id
    if command.application_id != app_id:
        raise DomainError(
            f"command for application {command.application_id} sent to {app_id}",
            code="wrong_application",
            expected=app_id,
            actual=command.application_id,
        )
    if isinstance(command, RegisterExhibitor):
        if state.status != "new":
            raise Conflict(f"application {app_id} already exists", code="application_exists")
        return [
            ExhibitorRegistered(
                application_id=app_id,
                edition_code=command.edition_code,
                company=command.company,
                contact=command.contact,
                applicant=command.applicant,
                company_id=command.company_id,
            )
        ]
    if state.status == "new":
        raise NotFound(f"application {app_id} not found", code="application_not_found")

    match command:
        case EditApplication():
            if state.status not in EDITABLE:
                raise DomainError(
                    f"application {app_id} is {state.status} and cannot be edited",
                    code="application_not_editable",
                    status=state.status,
                )
            changes = _changed_fields(command, state)
            if not changes:
                return []
            return [ApplicationEdited.model_validate({"application_id": app_id, **changes})]
        case SubmitApplication():
            _require(state, command, SUBMITTABLE)
            return [
                ApplicationSubmitted(application_id=app_id, submission_number=state.submissions + 1)
            ]
        case StartReview(reviewer=reviewer):
            _require(state, command, {"submitted"})
            if state.reviewer is not None and state.reviewer != reviewer:
                raise Forbidden(
                    f"application {app_id} is assigned to {state.reviewer}",
                    code="assigned_to_another_reviewer",
                    reviewer=reviewer,
                    assigned_reviewer=state.reviewer,
                )
            return [ReviewStarted(application_id=app_id, reviewer=reviewer)]
        case AssignReviewer(reviewer=reviewer, assigned_by=assigned_by):
            _require(state, command, ASSIGNABLE)
            if state.reviewer == reviewer:
                return []
            return [
                ReviewerAssigned(application_id=app_id, reviewer=reviewer, assigned_by=assigned_by)
            ]
        case ChangeParticipation():
            _require(state, command, PLACEABLE)
            return _placed(state, command)
        case ApproveApplication(reviewer=reviewer, note=note):
            _require_reviewer(state, command, reviewer)
            return [ApplicationApproved(application_id=app_id, reviewer=reviewer, note=note)]
        case RejectApplication(reviewer=reviewer, reason=reason):
            _require_reviewer(state, command, reviewer)
            return [ApplicationRejected(application_id=app_id, reviewer=reviewer, reason=reason)]
        case ReturnApplication(reviewer=reviewer, reason=reason):
            _require_reviewer(state, command, reviewer)
            return [ApplicationReturned(application_id=app_id, reviewer=reviewer, reason=reason)]
        case WithdrawApplication(reason=reason):
            _require(state, command, WITHDRAWABLE)
            return [ApplicationWithdrawn(application_id=app_id, reason=reason)]
        case _:
            assert_never(command)


def evolve(state: Application, event: DomainEvent) -> Application:
    """The state after `event`. Events of other aggregates leave it unchanged."""
    match event:
        case ExhibitorRegistered():
            return replace(
                state,
                status="draft",
                applicant=event.applicant,
                company_id=event.company_id,
                edition_code=event.edition_code,
                company=event.company,
                contact=event.contact,
            )
        case ApplicationEdited():
            company, contact = _profile(state)
            changes = event.changes()
            return replace(
                state,
                company=company.model_copy(
                    update={k: v for k, v in changes.items() if k in CompanyProfile.model_fields}
                ),
                contact=contact.model_copy(
                    update={
                        k.removeprefix("contact_"): v
                        for k, v in changes.items()
                        if k.startswith("contact_")
                    }
                ),
            )
        case ApplicationSubmitted():
            return replace(
                state, status="submitted", submissions=event.submission_number, reviewer=None
            )
        case ReviewStarted():
            return replace(state, status="under_review", reviewer=event.reviewer)
        case ApplicationApproved():
            return replace(state, status="approved", review_note=event.note)
        case ApplicationRejected():
            return replace(state, status="rejected", last_reason=event.reason)
        case ApplicationReturned():
            return replace(state, status="returned", last_reason=event.reason)
        case ApplicationWithdrawn():
            return replace(state, status="withdrawn", last_reason=event.reason)
        case ReviewerAssigned():
            return replace(state, reviewer=event.reviewer)
        case ParticipationChanged():
            company, _ = _profile(state)
            return replace(
                state,
                company=company.model_copy(update={"participation_mode": event.participation_mode}),
                venue=event.venue,
                zone=event.zone,
                theme=event.theme,
            )
        case _:
            return state


APPLICATION: Aggregate[Application] = Aggregate("application-", initial_application, evolve)


def register_exhibitor(
    command: RegisterExhibitor,
    *,
    application: Application,
    company: Company,
    claims: Sequence[IdentifierClaim],
) -> Decision:
    """A new company registers for an edition: its official numbers claimed, the company
    registered with the applicant as its first staff member, joined to the edition, and the
    participation's draft application, all at once."""
    assert command.company_id is not None
    details = CompanyDetails(**command.company.model_dump(exclude={"participation_mode"}))
    registration = RegisterCompany(
        company_id=command.company_id,
        identity=command.identity,
        details=details,
        owner=command.applicant,
    )
    join = JoinEdition(
        company_id=command.company_id,
        edition_code=command.edition_code,
        application_id=command.application_id,
    )
    return {
        **register(registration, claims=claims, company=company, then=[join]),
        APPLICATION.stream(command.application_id): decide(command, application),
    }


def take_part(command: TakePart, *, company: Company, application: Application) -> Decision:
    """A registered company takes part in another edition (its staff ask)."""
    require_staff(company, command.asked_by)
    if company.details is None:
        raise NotFound(f"company {company.company_id} not found", code="company_not_found")
    profile = CompanyProfile(
        **company.details.model_dump(), participation_mode=command.participation_mode
    )
    join = JoinEdition(
        company_id=command.company_id,
        edition_code=command.edition_code,
        application_id=command.application_id,
    )
    register = RegisterExhibitor(
        application_id=command.application_id,
        applicant=command.applicant,
        edition_code=command.edition_code,
        company=profile,
        contact=command.contact,
        company_id=command.company_id,
    )
    return {
        COMPANY.stream(command.company_id): company_decide(join, company),
        APPLICATION.stream(command.application_id): decide(register, application),
    }


def change_by_applicant(
    command: ApplicantCommand, *, application: Application, company: Company | None
) -> list[DomainEvent]:
    """The applicant's own changes: they, the company's staff or the recruitment team."""
    by = command.asked_by
    if not may_change(application, company, by):
        raise Forbidden("this application belongs to another company", code="not_the_applicant")
    return decide(command, application)


def may_change(application: Application, company: Company | None, by: Actor | None) -> bool:
    """Whether `by` acts for the application's company (an unknown one is refused later).

    Rights follow the company's staff list as it stands: a person removed from it loses the
    applications they filed. Only an application of the first API version, which names no
    company, is still its applicant's alone."""
    if by is None:
        return False
    if by.recruiter:
        return True
    if application.company_id is None:
        return application.applicant is None or application.applicant == by.person
    return company is not None and company.is_staff(by.person)


def fold(events: Iterable[DomainEvent], state: Application | None = None) -> Application:
    """Replay `events` from `state`, or from the initial state of the first event's application."""
    history = list(events)
    if state is None:
        first = history[0] if history else None
        if not isinstance(first, ApplicationEvent):
            raise ValueError("fold needs a starting state or an application event first")
        state = initial_application(first.application_id)
    return reduce(evolve, history, state)


def _require(state: Application, command: Command, allowed: Iterable[Status]) -> None:
    if state.status not in allowed:
        name = type(command).__name__
        raise DomainError(
            f"{name} is not allowed on application {state.application_id}: it is {state.status}",
            code="illegal_transition",
            **{"from": state.status, "command": name},
        )


def _require_reviewer(state: Application, command: Command, reviewer: str) -> None:
    _require(state, command, {"under_review"})
    if reviewer != state.reviewer:
        raise Forbidden(
            f"application {state.application_id} is under review by {state.reviewer}",
            code="not_the_reviewer",
            reviewer=reviewer,
            assigned_reviewer=state.reviewer,
        )


def _profile(state: Application) -> tuple[CompanyProfile, ContactPerson]:
    if state.company is None or state.contact is None:
        raise ValueError(f"application {state.application_id} has no profile before registration")
    return state.company, state.contact


def _changed_fields(command: EditApplication, state: Application) -> dict[str, Any]:
    company, contact = _profile(state)
    current = company.model_dump() | {f"contact_{k}": v for k, v in contact.model_dump().items()}
    requested = command.model_dump(exclude_none=True, exclude={"application_id"})
    return {k: v for k, v in requested.items() if current[k] != v}


def _placed(state: Application, command: ChangeParticipation) -> list[DomainEvent]:
    current = state.participation()
    placed = current | command.changes()
    if placed["theme"] is not None and placed["zone"] != DIGITAL_SERVICES_ZONE:
        raise DomainError(
            "a theme applies only in the Digital Services Zone (zone digital-services)",
            code="theme_outside_digital_services_zone",
            zone=placed["zone"],
            theme=placed["theme"],
        )
    if placed["participation_mode"] == "online" and placed["venue"] is not None:
        raise DomainError(
            "an online-only participation has no venue; clear the venue or take part offline",
            code="venue_for_online_only",
            venue=placed["venue"],
        )
    if placed == current:
        return []
    return [ParticipationChanged.model_validate({"application_id": state.application_id, **placed})]
