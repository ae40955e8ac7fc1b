"""Assignment of reviews, and where and how a company takes part (its placement)."""

from __future__ import annotations

from typing import Any

import pytest
from exhibitors.domain.application import Application, decide, fold, initial_application
from exhibitors.domain.commands import (
    AssignReviewer,
    ChangeParticipation,
    StartReview,
)
from exhibitors.domain.edition import (
    DEFAULT_REVIEW_SLA_HOURS,
    ReviewSlaSet,
    SetReviewSla,
    initial_edition,
    previous_edition,
)
from exhibitors.domain.edition import decide as decide_edition
from exhibitors.domain.edition import evolve as evolve_edition
from exhibitors.domain.events import (
    ApplicationReturned,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ExhibitorRegistered,
    ParticipationChanged,
    ReviewerAssigned,
    ReviewStarted,
)
from exhibitors.domain.values import CompanyProfile, ContactPerson
from fairline_events.errors import DomainError, Forbidden
from fairline_events.registry import DomainEvent
from pydantic import ValidationError

APP = "app-1"
REGISTERED = ExhibitorRegistered(
    application_id=APP,
    edition_code="ciftis-2021",
    company=CompanyProfile(
        name_zh="华为",
        name_en="Huawei",
        country_or_region="CN",
        sector="digital transformation",
        participation_mode="both",
    ),
    contact=ContactPerson(name="王芳", email="wang@example.cn", phone="+86 10 1234 5678"),
    company_id="co-1",
)
SUBMITTED = ApplicationSubmitted(application_id=APP, submission_number=1)


def given(*events: DomainEvent) -> Application:
    return fold(events, initial_application(APP))


def place(**fields: Any) -> ChangeParticipation:
    return ChangeParticipation.model_validate({"application_id": APP, **fields})


# --- assignment ----------------------------------------------------------------------------


def test_an_assigned_application_is_reviewed_by_its_assignee_only() -> None:
    assign = AssignReviewer(application_id=APP, reviewer="li", assigned_by="lead")
    events = decide(assign, given(REGISTERED, SUBMITTED))
    assert events == [ReviewerAssigned(application_id=APP, reviewer="li", assigned_by="lead")]
    state = given(REGISTERED, SUBMITTED, *events)
    assert (state.status, state.reviewer) == ("submitted", "li")

    with pytest.raises(Forbidden) as exc:
        decide(StartReview(application_id=APP, reviewer="zhang"), state)
    assert exc.value.code == "assigned_to_another_reviewer"
    assert decide(StartReview(application_id=APP, reviewer="li"), state) == [
        ReviewStarted(application_id=APP, reviewer="li")
    ]


def test_a_review_under_way_can_be_handed_over() -> None:
    under_review = [REGISTERED, SUBMITTED, ReviewStarted(application_id=APP, reviewer="li")]
    handover = decide(
        AssignReviewer(application_id=APP, reviewer="zhang", assigned_by="lead"),
        given(*under_review),
    )
    state = given(*under_review, *handover)
    assert (state.status, state.reviewer) == ("under_review", "zhang")
    assert (
        decide(AssignReviewer(application_id=APP, reviewer="zhang", assigned_by="x"), state) == []
    )


@pytest.mark.parametrize(
    "history",
    [
        [REGISTERED],
        [REGISTERED, ApplicationWithdrawn(application_id=APP, reason="budget")],
        [
            REGISTERED,
            SUBMITTED,
            ReviewStarted(application_id=APP, reviewer="li"),
            ApplicationReturned(application_id=APP, reviewer="li", reason="add a licence"),
        ],
    ],
    ids=["draft", "withdrawn", "returned"],
)
def test_only_waiting_or_reviewed_applications_are_assigned(history: list[DomainEvent]) -> None:
    with pytest.raises(DomainError) as exc:
        decide(AssignReviewer(application_id=APP, reviewer="li", assigned_by="x"), given(*history))
    assert exc.value.code == "illegal_transition"


def test_a_resubmission_waits_unassigned_again() -> None:
    history = [
        REGISTERED,
        SUBMITTED,
        ReviewerAssigned(application_id=APP, reviewer="li", assigned_by="lead"),
        ReviewStarted(application_id=APP, reviewer="li"),
        ApplicationReturned(application_id=APP, reviewer="li", reason="add a licence"),
        ApplicationSubmitted(application_id=APP, submission_number=2),
    ]
    assert given(*history).reviewer is None


# --- placement -----------------------------------------------------------------------------


def test_placing_in_the_digital_services_zone_with_a_theme() -> None:
    events = decide(place(venue="cncc", zone="digital-services", theme="trust"), given(REGISTERED))
    assert events == [
        ParticipationChanged(
            application_id=APP,
            participation_mode="both",
            venue="cncc",
            zone="digital-services",
            theme="trust",
        )
    ]
    state = given(REGISTERED, *events)
    assert state.participation() == {
        "participation_mode": "both",
        "venue": "cncc",
        "zone": "digital-services",
        "theme": "trust",
    }
    # Only the fields sent change; sending the same values records nothing.
    assert decide(place(theme="trust"), state) == []
    moved = decide(place(zone="country-exhibitions", theme=None), state)
    assert given(REGISTERED, *events, *moved).participation() == {
        "participation_mode": "both",
        "venue": "cncc",
        "zone": "country-exhibitions",
        "theme": None,
    }


def test_a_theme_outside_the_digital_services_zone_is_refused() -> None:
    with pytest.raises(DomainError) as exc:
        decide(place(zone="laozihao", theme="experience"), given(REGISTERED))
    assert exc.value.code == "theme_outside_digital_services_zone"
    placed = given(
        REGISTERED, *decide(place(zone="digital-services", theme="trust"), given(REGISTERED))
    )
    with pytest.raises(DomainError):
        decide(place(zone="laozihao"), placed)  # the theme would be left dangling


def test_online_only_exhibitors_have_no_venue() -> None:
    with pytest.raises(DomainError) as exc:
        decide(place(participation_mode="online", venue="shougang"), given(REGISTERED))
    assert exc.value.code == "venue_for_online_only"
    at_shougang = given(REGISTERED, *decide(place(venue="shougang"), given(REGISTERED)))
    with pytest.raises(DomainError):
        decide(place(participation_mode="online"), at_shougang)
    online = decide(place(participation_mode="online", venue=None), at_shougang)
    assert online[0].participation_mode == "online"  # type: ignore[attr-defined]


def test_closed_participations_are_not_placed() -> None:
    withdrawn = given(REGISTERED, ApplicationWithdrawn(application_id=APP, reason="budget"))
    with pytest.raises(DomainError) as exc:
        decide(place(venue="cncc"), withdrawn)
    assert exc.value.code == "illegal_transition"


def test_malformed_placements_are_refused_at_the_door() -> None:
    malformed: list[dict[str, Any]] = [
        {"venue": "the moon"},
        {"theme": "fun"},
        {"zone": "Digital Services"},
        {"participation_mode": None},
    ]
    for fields in malformed:
        with pytest.raises(ValidationError):
            place(**fields)


# --- the review deadline ---------------------------------------------------------------------


def test_an_edition_sets_its_review_sla() -> None:
    state = initial_edition("ciftis-2021")
    assert state.review_sla_hours == DEFAULT_REVIEW_SLA_HOURS
    events = decide_edition(SetReviewSla(edition_code="ciftis-2021", hours=48), state)
    assert events == [ReviewSlaSet(edition_code="ciftis-2021", hours=48)]
    state = evolve_edition(state, events[0])
    assert decide_edition(SetReviewSla(edition_code="ciftis-2021", hours=48), state) == []
    with pytest.raises(ValidationError):
        SetReviewSla(edition_code="ciftis-2021", hours=0)


def test_the_previous_edition_is_the_year_before() -> None:
    assert previous_edition("ciftis-2021") == "ciftis-2020"
    assert previous_edition("expo") is None
