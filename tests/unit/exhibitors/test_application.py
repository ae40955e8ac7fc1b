"""Exhibitor registration and review (展商注册审核), told as given / when / then."""

from __future__ import annotations

import json
from typing import Any

import hypothesis
import pytest
from exhibitors.domain.application import (
    Application,
    decide,
    evolve,
    fold,
    initial_application,
)
from exhibitors.domain.commands import (
    ApproveApplication,
    Command,
    EditApplication,
    RegisterExhibitor,
    RejectApplication,
    ReturnApplication,
    StartReview,
    SubmitApplication,
    WithdrawApplication,
)
from exhibitors.domain.events import (
    ApplicationApproved,
    ApplicationEdited,
    ApplicationRejected,
    ApplicationReturned,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ExhibitorRegistered,
    ReviewStarted,
    registry,
)
from exhibitors.domain.values import CompanyProfile, ContactPerson
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from hypothesis import strategies as st
from pydantic import ValidationError

APP = "app-1"
LI, ZHANG = "rev-li", "rev-zhang"
COMPANY: dict[str, Any] = {
    "name_zh": "华为",
    "name_en": "Huawei",
    "country_or_region": "CN",
    "sector": "telecom and computing services",
    "participation_mode": "both",
}
CONTACT: dict[str, Any] = {
    "name": "王芳",
    "email": "wang.fang@example.cn",
    "phone": "+86 10 1234 5678",
}
HUAWEI = CompanyProfile.model_validate(COMPANY)
WANG = ContactPerson.model_validate(CONTACT)

REGISTERED = ExhibitorRegistered(
    application_id=APP, edition_code="ciftis-2021", company=HUAWEI, contact=WANG
)
SUBMITTED = ApplicationSubmitted(application_id=APP, submission_number=1)
REVIEW_BY_LI = ReviewStarted(application_id=APP, reviewer=LI)
APPROVED = ApplicationApproved(application_id=APP, reviewer=LI, note="welcome")
REJECTED = ApplicationRejected(application_id=APP, reviewer=LI, reason="not a services company")
RETURNED = ApplicationReturned(application_id=APP, reviewer=LI, reason="add the English name")
WITHDRAWN = ApplicationWithdrawn(application_id=APP, reason="budget cut")

HISTORIES: dict[str, list[DomainEvent]] = {
    "draft": [REGISTERED],
    "submitted": [REGISTERED, SUBMITTED],
    "under_review": [REGISTERED, SUBMITTED, REVIEW_BY_LI],
    "approved": [REGISTERED, SUBMITTED, REVIEW_BY_LI, APPROVED],
    "rejected": [REGISTERED, SUBMITTED, REVIEW_BY_LI, REJECTED],
    "returned": [REGISTERED, SUBMITTED, REVIEW_BY_LI, RETURNED],
    "withdrawn": [REGISTERED, WITHDRAWN],
}

REGISTER = RegisterExhibitor(
    application_id=APP, edition_code="ciftis-2021", company=HUAWEI, contact=WANG
)
EDIT = EditApplication(application_id=APP, name_en="Huawei Technologies")
SUBMIT = SubmitApplication(application_id=APP)
START_BY_LI = StartReview(application_id=APP, reviewer=LI)
APPROVE_BY_LI = ApproveApplication(application_id=APP, reviewer=LI, note="welcome")
REJECT_BY_LI = RejectApplication(application_id=APP, reviewer=LI, reason="out of scope")
RETURN_BY_LI = ReturnApplication(application_id=APP, reviewer=LI, reason="add a licence")
WITHDRAW = WithdrawApplication(application_id=APP, reason="budget cut")
ALL_BUT_REGISTER: list[Command] = [
    EDIT,
    SUBMIT,
    START_BY_LI,
    APPROVE_BY_LI,
    REJECT_BY_LI,
    RETURN_BY_LI,
    WITHDRAW,
]


def given(*events: DomainEvent) -> Application:
    return fold(events, initial_application(APP))


def in_status(status: str) -> Application:
    return given(*HISTORIES[status])


# --- registration ------------------------------------------------------------------------


def test_registering_opens_a_draft_application() -> None:
    events = decide(REGISTER, given())
    assert events == [REGISTERED]
    state = given(*events)
    assert state.status == "draft"
    assert state.company == HUAWEI
    assert state.contact == WANG
    assert state.edition_code == "ciftis-2021"


def test_an_application_is_registered_only_once() -> None:
    with pytest.raises(Conflict) as exc:
        decide(REGISTER, given(REGISTERED))
    assert exc.value.code == "application_exists"
    assert exc.value.status == 409


@pytest.mark.parametrize("command", ALL_BUT_REGISTER, ids=lambda c: type(c).__name__)
def test_commands_on_an_unregistered_application_are_not_found(command: Command) -> None:
    with pytest.raises(NotFound) as exc:
        decide(command, given())
    assert exc.value.code == "application_not_found"
    assert exc.value.status == 404


def test_a_command_for_another_application_is_refused() -> None:
    with pytest.raises(DomainError) as exc:
        decide(SubmitApplication(application_id="app-2"), given(REGISTERED))
    assert exc.value.code == "wrong_application"


# --- the happy path ----------------------------------------------------------------------


def test_register_submit_review_approve() -> None:
    state = initial_application(APP)
    history: list[DomainEvent] = []
    session: list[Command] = [REGISTER, SUBMIT, START_BY_LI, APPROVE_BY_LI]
    for command in session:
        events = decide(command, state)
        history += events
        state = fold(events, state)

    assert history == [REGISTERED, SUBMITTED, REVIEW_BY_LI, APPROVED]
    assert state.status == "approved"
    assert state.reviewer == LI
    assert state.review_note == "welcome"
    assert state.submissions == 1


# --- editing -----------------------------------------------------------------------------


def test_an_edit_records_only_the_fields_that_changed() -> None:
    edit = EditApplication(
        application_id=APP,
        name_zh="华为",  # unchanged
        name_en="Huawei Technologies",
        participation_mode="online",
        contact_email="li.lei@example.cn",
    )
    events = decide(edit, given(REGISTERED))
    assert events == [
        ApplicationEdited(
            application_id=APP,
            name_en="Huawei Technologies",
            participation_mode="online",
            contact_email="li.lei@example.cn",
        )
    ]
    state = given(REGISTERED, *events)
    assert state.company == HUAWEI.model_copy(
        update={"name_en": "Huawei Technologies", "participation_mode": "online"}
    )
    assert state.contact == WANG.model_copy(update={"email": "li.lei@example.cn"})


@pytest.mark.parametrize(
    "edit",
    [
        EditApplication(application_id=APP),
        EditApplication(application_id=APP, name_en="  Huawei ", country_or_region="cn"),
        EditApplication(application_id=APP, contact_phone="+86 10 1234 5678"),
    ],
)
def test_an_edit_that_changes_nothing_records_nothing(edit: EditApplication) -> None:
    assert decide(edit, given(REGISTERED)) == []


@pytest.mark.parametrize(
    "status", ["submitted", "under_review", "approved", "rejected", "withdrawn"]
)
def test_an_application_can_be_edited_only_as_a_draft_or_when_returned(status: str) -> None:
    with pytest.raises(DomainError) as exc:
        decide(EDIT, in_status(status))
    assert exc.value.code == "application_not_editable"
    assert exc.value.details["status"] == status


# --- submission and review ---------------------------------------------------------------


def test_returned_for_changes_then_edited_and_resubmitted() -> None:
    returned = in_status("returned")
    assert returned.last_reason == "add the English name"

    edited = decide(EDIT, returned)
    resubmitted = decide(SUBMIT, given(*HISTORIES["returned"], *edited))
    assert resubmitted == [ApplicationSubmitted(application_id=APP, submission_number=2)]

    state = given(*HISTORIES["returned"], *edited, *resubmitted)
    assert state.status == "submitted"
    assert state.submissions == 2
    assert state.company is not None and state.company.name_en == "Huawei Technologies"
    assert state.reviewer is None


def test_a_resubmission_may_be_reviewed_by_someone_else() -> None:
    resubmitted = [*HISTORIES["returned"], SUBMITTED.model_copy(update={"submission_number": 2})]
    started = decide(StartReview(application_id=APP, reviewer=ZHANG), given(*resubmitted))
    assert started == [ReviewStarted(application_id=APP, reviewer=ZHANG)]

    approve = ApproveApplication(application_id=APP, reviewer=ZHANG)
    assert decide(approve, given(*resubmitted, *started)) == [
        ApplicationApproved(application_id=APP, reviewer=ZHANG, note="")
    ]
    with pytest.raises(Forbidden):
        decide(APPROVE_BY_LI, given(*resubmitted, *started))


@pytest.mark.parametrize(
    ("status", "command"),
    [
        ("submitted", SUBMIT),
        ("under_review", SUBMIT),
        ("approved", SUBMIT),
        ("rejected", SUBMIT),
        ("withdrawn", SUBMIT),
        ("draft", START_BY_LI),
        ("under_review", START_BY_LI),
        ("returned", START_BY_LI),
        ("approved", START_BY_LI),
        ("draft", APPROVE_BY_LI),
        ("submitted", APPROVE_BY_LI),
        ("approved", APPROVE_BY_LI),
        ("submitted", REJECT_BY_LI),
        ("returned", RETURN_BY_LI),
        ("approved", REJECT_BY_LI),
        ("rejected", WITHDRAW),
        ("withdrawn", WITHDRAW),
    ],
    ids=lambda v: v if isinstance(v, str) else type(v).__name__,
)
def test_illegal_transitions_name_the_state_and_the_command(status: str, command: Command) -> None:
    with pytest.raises(DomainError) as exc:
        decide(command, in_status(status))
    assert exc.value.code == "illegal_transition"
    assert exc.value.details == {"from": status, "command": type(command).__name__}
    assert exc.value.status == 422


@pytest.mark.parametrize(
    "command",
    [
        ApproveApplication(application_id=APP, reviewer=ZHANG),
        RejectApplication(application_id=APP, reviewer=ZHANG, reason="out of scope"),
        ReturnApplication(application_id=APP, reviewer=ZHANG, reason="add a licence"),
    ],
    ids=lambda c: type(c).__name__,
)
def test_only_the_reviewer_who_took_the_review_decides_it(command: Command) -> None:
    with pytest.raises(Forbidden) as exc:
        decide(command, in_status("under_review"))
    assert exc.value.code == "not_the_reviewer"
    assert exc.value.status == 403
    assert exc.value.details == {"reviewer": ZHANG, "assigned_reviewer": LI}


def test_rejection_is_final() -> None:
    rejected = in_status("rejected")
    assert rejected.last_reason == "not a services company"
    refused: list[Command] = [SUBMIT, START_BY_LI, APPROVE_BY_LI, RETURN_BY_LI, WITHDRAW, EDIT]
    for command in refused:
        with pytest.raises(DomainError):
            decide(command, rejected)


def test_returning_records_the_reason_for_the_exhibitor() -> None:
    events = decide(RETURN_BY_LI, in_status("under_review"))
    assert events == [ApplicationReturned(application_id=APP, reviewer=LI, reason="add a licence")]
    state = given(*HISTORIES["under_review"], *events)
    assert (state.status, state.last_reason) == ("returned", "add a licence")


# --- withdrawal --------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "submitted", "under_review", "returned", "approved"])
def test_an_exhibitor_may_withdraw_until_the_application_is_closed(status: str) -> None:
    events = decide(WITHDRAW, in_status(status))
    assert events == [ApplicationWithdrawn(application_id=APP, reason="budget cut")]
    state = given(*HISTORIES[status], *events)
    assert (state.status, state.last_reason) == ("withdrawn", "budget cut")


def test_a_withdrawn_application_takes_no_further_commands() -> None:
    withdrawn = in_status("withdrawn")
    for command in [*ALL_BUT_REGISTER, REGISTER]:
        with pytest.raises(DomainError):
            decide(command, withdrawn)


# --- events as stored --------------------------------------------------------------------


def test_every_event_is_registered_under_the_exhibitors_namespace() -> None:
    import exhibitors.service  # noqa: F401  (registers the events of every aggregate)

    names = registry.names()
    assert all(name.startswith("exhibitors.") for name in names)
    assert {
        f"exhibitors.{name}"
        for name in [
            "ExhibitorRegistered",
            "ApplicationEdited",
            "ApplicationSubmitted",
            "ReviewStarted",
            "ApplicationApproved",
            "ApplicationRejected",
            "ApplicationReturned",
            "ApplicationWithdrawn",
        ]
    } <= set(names)


def test_the_events_other_services_consume_keep_their_names_and_fields() -> None:
    """Booths, hotels and others read these: fields may be added, never renamed or dropped."""
    contract = {
        "exhibitors.ExhibitorRegistered": (
            1,
            {"application_id", "applicant", "edition_code", "company", "contact"},
        ),
        "exhibitors.ApplicationApproved": (1, {"application_id", "reviewer", "note"}),
        "exhibitors.ApplicationWithdrawn": (1, {"application_id", "reason"}),
    }
    for name, (version, fields) in contract.items():
        cls = registry.type_of(name)
        assert cls.schema_version == version, name
        assert fields <= set(cls.model_fields), name
    assert set(CompanyProfile.model_fields) >= {
        "name_zh",
        "name_en",
        "country_or_region",
        "sector",
        "participation_mode",
    }
    # An event stored before `company_id` was added still reads.
    old = registry.encode(REGISTERED)[2]
    del old["company_id"]
    assert registry.decode("exhibitors.ExhibitorRegistered", 1, old).company_id is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "event",
    [
        REGISTERED,
        SUBMITTED,
        REVIEW_BY_LI,
        APPROVED,
        REJECTED,
        RETURNED,
        WITHDRAWN,
        ApplicationEdited(
            application_id=APP, country_or_region="HK", contact_phone="+852 1234 5678"
        ),
    ],
    ids=lambda e: type(e).__name__,
)
def test_events_survive_a_json_round_trip(event: DomainEvent) -> None:
    name, version, payload = registry.encode(event)
    assert (name, version) == (f"exhibitors.{type(event).__name__}", 1)
    assert registry.decode(name, version, json.loads(json.dumps(payload))) == event


def test_fold_starts_from_the_first_events_application() -> None:
    assert fold(HISTORIES["approved"]) == in_status("approved")
    with pytest.raises(ValueError):
        fold([])


def test_events_of_other_kinds_leave_the_application_unchanged() -> None:
    class BoothHeld(DomainEvent):
        booth_code: str

    state = in_status("submitted")
    assert evolve(state, BoothHeld(booth_code="E1-101")) == state


# --- any session of commands -------------------------------------------------------------

REVIEWER_ONLY = (ApproveApplication, RejectApplication, ReturnApplication)
TRANSITIONS: dict[tuple[str, type[Any]], str] = {
    ("new", RegisterExhibitor): "draft",
    ("draft", EditApplication): "draft",
    ("returned", EditApplication): "returned",
    ("draft", SubmitApplication): "submitted",
    ("returned", SubmitApplication): "submitted",
    ("submitted", StartReview): "under_review",
    ("under_review", ApproveApplication): "approved",
    ("under_review", RejectApplication): "rejected",
    ("under_review", ReturnApplication): "returned",
    **{
        (s, WithdrawApplication): "withdrawn"
        for s in ["draft", "submitted", "under_review", "returned", "approved"]
    },
}


def expected_outcome(command: Command, state: Application) -> tuple[str, str]:
    """An independent statement of the rules: ("ok", new status) or ("error", code)."""
    kind = type(command)
    if state.status == "new" and kind is not RegisterExhibitor:
        return "error", "application_not_found"
    if state.status != "new" and kind is RegisterExhibitor:
        return "error", "application_exists"
    if kind is EditApplication and state.status not in ("draft", "returned"):
        return "error", "application_not_editable"
    target = TRANSITIONS.get((state.status, kind))
    if target is None:
        return "error", "illegal_transition"
    if isinstance(command, REVIEWER_ONLY) and command.reviewer != state.reviewer:
        return "error", "not_the_reviewer"
    return "ok", target


reviewers = st.sampled_from([LI, ZHANG, " ", ""])
reasons = st.sampled_from(["missing business licence", "budget cut", "", "   "])
raw_commands = st.one_of(
    st.tuples(
        st.just(RegisterExhibitor),
        st.fixed_dictionaries(
            {
                "edition_code": st.sampled_from(["ciftis-2021", "ciftis 2021"]),
                "company": st.sampled_from([COMPANY, COMPANY | {"country_or_region": "CHN"}]),
                "contact": st.sampled_from([CONTACT, CONTACT | {"email": "wang"}]),
            }
        ),
    ),
    st.tuples(
        st.just(EditApplication),
        st.fixed_dictionaries(
            {},
            optional={
                "name_en": st.sampled_from(["Huawei", "Huawei Cloud", " "]),
                "country_or_region": st.sampled_from(["CN", "hk", "CHN"]),
                "participation_mode": st.sampled_from(["offline", "online", "both", "hybrid"]),
                "contact_email": st.sampled_from(["wang.fang@example.cn", "li@example.com", "x"]),
            },
        ),
    ),
    st.tuples(st.just(SubmitApplication), st.just({})),
    st.tuples(st.just(StartReview), st.fixed_dictionaries({"reviewer": reviewers})),
    st.tuples(
        st.just(ApproveApplication),
        st.fixed_dictionaries({"reviewer": reviewers}, optional={"note": st.just("welcome")}),
    ),
    st.tuples(
        st.just(RejectApplication),
        st.fixed_dictionaries({"reviewer": reviewers, "reason": reasons}),
    ),
    st.tuples(
        st.just(ReturnApplication),
        st.fixed_dictionaries({"reviewer": reviewers, "reason": reasons}),
    ),
    st.tuples(st.just(WithdrawApplication), st.fixed_dictionaries({"reason": reasons})),
)


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(st.lists(raw_commands, max_size=25))
def test_any_session_follows_the_rules_and_replays_to_the_same_state(
    session: list[tuple[type[Command], dict[str, Any]]],
) -> None:
    state = initial_application(APP)
    history: list[DomainEvent] = []
    for kind, fields in session:
        try:
            command = kind.model_validate({"application_id": APP, **fields})
        except ValidationError:
            continue  # refused at the door, before the rules are asked
        outcome = expected_outcome(command, state)
        try:
            events = decide(command, state)
        except DomainError as exc:
            assert outcome == ("error", exc.code), f"{command!r} on {state.status}"
            continue
        assert outcome[0] == "ok", f"{command!r} on {state.status} should fail: {outcome[1]}"
        for event in events:
            state = evolve(state, event)
        history += events
        assert state.status == outcome[1]

    assert fold(history, initial_application(APP)) == state
    stored = [registry.encode(event) for event in history]
    replayed = [registry.decode(n, v, json.loads(json.dumps(p))) for n, v, p in stored]
    assert fold(replayed, initial_application(APP)) == state
    assert state.submissions == sum(isinstance(e, ApplicationSubmitted) for e in history)
