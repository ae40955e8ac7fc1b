"""The service's commands over several streams, given / when / then: each runs the very plan
the service runs in PostgreSQL (the same streams read, the same pure decision), in memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from exhibitors import handlers
from exhibitors.domain.booth import ITEM, DraftItem, NewsContent
from exhibitors.domain.cards import (
    CARD,
    EXCHANGE,
    WINDOW,
    AcceptCards,
    CardDetails,
    CardSaved,
    CardsExchanged,
    CardsRequested,
    RequestCards,
    exchange_id,
)
from exhibitors.domain.company import (
    COMPANY,
    IDENTIFIER,
    CompanyJoinedEdition,
    CompanyRegistered,
    RegisterCompany,
    StaffMemberAdded,
)
from exhibitors.domain.leads import LEAD, LeadSource, OpenLeadFromSource, lead_id
from exhibitors.domain.meetings import (
    AGENDA,
    MEETING,
    SLOT,
    AcceptMeeting,
    BookSlot,
    CancelMeeting,
    Period,
    RequestMeeting,
    SlotOffered,
)
from exhibitors.domain.values import (
    Actor,
    CompanyDetails,
    CompanyIdentity,
    credit_code_check_char,
)
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.testing import Scenario, given

NOW = datetime(2021, 9, 1, 8, 0, tzinfo=UTC)
NINE = datetime(2021, 9, 3, 9, 0, tzinfo=UTC)
HUAWEI = "co-huawei"
STAFF, VISITOR, OTHER = "wang-fang", "li-lei", "zhang-san"
DETAILS = CompanyDetails(
    name_zh="华为", name_en="Huawei", country_or_region="CN", sector="digital services"
)
FIRST17 = "91110000" + "710935606"
IDENTITY = CompanyIdentity(credit_code=FIRST17 + credit_code_check_char(FIRST17))


def at(hour: float, minutes: int = 30) -> Period:
    start = NINE + timedelta(hours=hour - 9)
    return Period(start=start, end=start + timedelta(minutes=minutes))


def huawei() -> Scenario:
    """Huawei with one staff member, taking part in ciftis-2021."""
    return given(
        (
            COMPANY.stream(HUAWEI),
            [
                CompanyRegistered(company_id=HUAWEI, details=DETAILS, owner=STAFF),
                StaffMemberAdded(company_id=HUAWEI, person=STAFF),
                CompanyJoinedEdition(
                    company_id=HUAWEI, edition_code="ciftis-2021", application_id="app-1"
                ),
            ],
        )
    )


def with_slot(world: Scenario, slot_id: str = "s1", period: Period | None = None) -> Scenario:
    offered = SlotOffered(
        slot_id=slot_id, company_id=HUAWEI, host=STAFF, kind="booth", period=period or at(9)
    )
    return world.given((SLOT.stream(slot_id), [offered]))


def request(meeting_id: str, organiser: str, invitee: str, period: Period) -> RequestMeeting:
    return RequestMeeting(
        meeting_id=meeting_id,
        company_id=HUAWEI,
        kind="online",
        organiser=organiser,
        invitee=invitee,
        period=period,
        subject="cloud pricing",
    )


# --- companies: one company per official number ---------------------------------------------


def test_a_registration_claims_its_official_number_with_the_company() -> None:
    world = given()
    command = RegisterCompany(company_id="co-1", identity=IDENTITY, details=DETAILS, owner=STAFF)
    world.when(handlers.register_company, command, at=NOW)
    [key] = IDENTITY.keys("CN")
    assert world.state(IDENTIFIER, IDENTIFIER.stream(key)).holder == "co-1"
    assert world.state(COMPANY, COMPANY.stream("co-1")).staff == {STAFF}


def test_a_second_company_with_the_same_number_is_refused_and_writes_nothing() -> None:
    world = given()
    first = RegisterCompany(company_id="co-1", identity=IDENTITY, details=DETAILS, owner=STAFF)
    world.when(handlers.register_company, first, at=NOW)
    second = first.model_copy(update={"company_id": "co-2"})
    with pytest.raises(Conflict) as refused:
        world.when(handlers.register_company, second, at=NOW)
    assert refused.value.code == "company_exists"
    assert world.events_of(COMPANY.stream("co-2")) == []


# --- the staff rule, read inside the command ------------------------------------------------


def test_only_the_company_staff_or_the_recruitment_team_edit_its_booth() -> None:
    news = NewsContent(title="At CIFTIS", body="Visit us at the CNCC")

    def draft(item_id: str, by: Actor | None) -> DraftItem:
        return DraftItem(item_id=item_id, company_id=HUAWEI, content=news, asked_by=by)

    world = huawei()
    with pytest.raises(Forbidden) as refused:
        world.when(handlers.draft_item, draft("i1", Actor(person=VISITOR)), at=NOW)
    assert refused.value.code == "not_company_staff"
    world.when(handlers.draft_item, draft("i1", Actor(person=STAFF)), at=NOW)
    world.when(handlers.draft_item, draft("i2", Actor(person=OTHER, recruiter=True)), at=NOW)
    assert world.state(ITEM, ITEM.stream("i2")).status == "draft"
    with pytest.raises(Forbidden):  # nobody in particular is nobody's staff
        world.when(handlers.draft_item, draft("i3", None), at=NOW)


# --- meetings: nobody in two meetings at once ------------------------------------------------


def test_a_booked_slot_confirms_the_meeting_in_both_agendas_at_once() -> None:
    world = with_slot(huawei())
    book = BookSlot(slot_id="s1", meeting_id="m1", guest=VISITOR, subject="AI for banks")
    world.when(handlers.book_slot, book, at=NOW)
    assert world.state(MEETING, MEETING.stream("m1")).status == "confirmed"
    assert world.state(SLOT, SLOT.stream("s1")).meeting_id == "m1"
    for person in (STAFF, VISITOR):
        assert world.state(AGENDA, AGENDA.stream(person)).bookings == {"m1": at(9)}


def test_a_second_meeting_at_an_overlapping_time_is_double_booked() -> None:
    world = with_slot(huawei())
    world.when(
        handlers.book_slot,
        BookSlot(slot_id="s1", meeting_id="m1", guest=VISITOR, subject="AI for banks"),
        at=NOW,
    )
    with pytest.raises(Conflict) as refused:
        world.when(handlers.request_meeting, request("m2", STAFF, OTHER, at(9.25)), at=NOW)
    assert refused.value.code == "double_booked"
    assert world.events_of(MEETING.stream("m2")) == []


def test_the_invitee_holds_the_time_once_they_accept_and_a_cancellation_frees_both() -> None:
    world = huawei()
    world.when(handlers.request_meeting, request("m1", STAFF, VISITOR, at(10)), at=NOW)
    assert world.state(AGENDA, AGENDA.stream(VISITOR)).bookings == {}
    world.when(handlers.change_meeting, AcceptMeeting(meeting_id="m1", by=VISITOR), at=NOW)
    assert world.state(AGENDA, AGENDA.stream(VISITOR)).bookings == {"m1": at(10)}
    cancel = CancelMeeting(meeting_id="m1", by=STAFF, reason="travel")
    world.when(handlers.change_meeting, cancel, at=NOW)
    for person in (STAFF, VISITOR):
        assert world.state(AGENDA, AGENDA.stream(person)).bookings == {}


def test_cancelling_a_booked_meeting_frees_its_slot() -> None:
    world = with_slot(huawei())
    world.when(
        handlers.book_slot,
        BookSlot(slot_id="s1", meeting_id="m1", guest=VISITOR, subject="AI for banks"),
        at=NOW,
    )
    cancel = CancelMeeting(meeting_id="m1", by=VISITOR, reason="ill")
    world.when(handlers.change_meeting, cancel, at=NOW)
    assert world.state(SLOT, SLOT.stream("s1")).status == "open"


def test_a_meeting_of_a_company_has_its_staff_on_one_side() -> None:
    with pytest.raises(Forbidden) as refused:
        huawei().when(handlers.request_meeting, request("m1", VISITOR, OTHER, at(9)), at=NOW)
    assert refused.value.code == "no_company_staff"


# --- cards: counted in the requester's window, in the same transaction -----------------------

CARD_OF = CardDetails(name="Li Lei", organisation="Demo Bank")


def test_a_card_request_is_counted_in_the_requesters_window() -> None:
    world = huawei().given((CARD.stream(VISITOR), [CardSaved(person=VISITOR, card=CARD_OF)]))
    xid = exchange_id(VISITOR, STAFF)
    command = RequestCards(exchange_id=xid, requester=VISITOR, recipient=STAFF, company_id=HUAWEI)
    world.when(handlers.request_cards, command, at=NOW)
    assert world.state(EXCHANGE, EXCHANGE.stream(xid)).status == "pending"
    assert world.state(WINDOW, WINDOW.stream(VISITOR)).recent == (NOW,)


def test_asking_without_a_card_of_ones_own_is_refused() -> None:
    xid = exchange_id(VISITOR, STAFF)
    command = RequestCards(exchange_id=xid, requester=VISITOR, recipient=STAFF, company_id=HUAWEI)
    with pytest.raises(NotFound) as refused:
        huawei().when(handlers.request_cards, command, at=NOW)
    assert refused.value.code == "card_required"


# --- leads: the lead's stream is found from its source ---------------------------------------


def asked(world: Scenario, *, accepted: bool) -> str:
    """The visitor asked the staff member for their card (and was given it)."""
    xid = exchange_id(VISITOR, STAFF)
    request = CardsRequested(exchange_id=xid, requester=VISITOR, recipient=STAFF, company_id=HUAWEI)
    answers = (
        [CardsExchanged(exchange_id=xid, requester=VISITOR, recipient=STAFF, company_id=HUAWEI)]
        if accepted
        else []
    )
    world.given((EXCHANGE.stream(xid), [request, *answers]))
    return xid


def opening(xid: str) -> OpenLeadFromSource:
    return OpenLeadFromSource(
        company_id=HUAWEI,
        source=LeadSource(kind="card_exchange", ref=xid),
        owner=STAFF,
        by=STAFF,
        asked_by=Actor(person=STAFF),
    )


def test_a_lead_is_opened_on_the_person_an_accepted_exchange_met() -> None:
    world = huawei()
    command = opening(asked(world, accepted=True))
    world.when(handlers.open_lead, command, at=NOW)
    lead = world.state(LEAD, LEAD.stream(lead_id(HUAWEI, VISITOR)))
    assert lead.opened and lead.contact == VISITOR
    with pytest.raises(Conflict) as again:
        world.when(handlers.open_lead, command, at=NOW)
    assert again.value.code == "lead_exists"


def test_a_lead_from_an_exchange_not_yet_accepted_is_not_eligible() -> None:
    world = huawei()
    command = opening(asked(world, accepted=False))
    with pytest.raises(DomainError) as refused:
        world.when(handlers.open_lead, command, at=NOW)
    assert refused.value.code == "source_not_eligible"


def test_accepting_needs_a_card_of_ones_own() -> None:
    world = huawei()
    xid = asked(world, accepted=False)
    with pytest.raises(NotFound) as refused:
        world.when(handlers.answer_cards, AcceptCards(exchange_id=xid, by=STAFF), at=NOW)
    assert refused.value.code == "card_required"
