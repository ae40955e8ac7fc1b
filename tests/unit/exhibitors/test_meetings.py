"""Meetings, agendas and slots, told as given / when / then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce

import hypothesis
import pytest
from exhibitors.domain.meetings import (
    AcceptMeeting,
    Agenda,
    AgendaBooked,
    AgendaReleased,
    Book,
    BookFromSlot,
    CancelMeeting,
    DeclineMeeting,
    FreeSlot,
    Meeting,
    MeetingAccepted,
    MeetingBooked,
    MeetingCancelled,
    MeetingRequested,
    MeetingRescheduled,
    OfferSlot,
    Period,
    Release,
    RequestMeeting,
    RescheduleMeeting,
    Slot,
    SlotTaken,
    TakeSlot,
    WithdrawSlot,
    decide,
    decide_agenda,
    decide_slot,
    evolve,
    evolve_agenda,
    evolve_slot,
    initial_agenda,
    initial_meeting,
    initial_slot,
)
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from hypothesis import strategies as st
from pydantic import ValidationError

NOW = datetime(2021, 9, 1, 8, 0, tzinfo=UTC)
T9 = datetime(2021, 9, 3, 9, 0, tzinfo=UTC)


def at(hour: float, minutes: int = 30) -> Period:
    start = T9 + timedelta(hours=hour - 9)
    return Period(start=start, end=start + timedelta(minutes=minutes))


REQUEST = RequestMeeting(
    meeting_id="m1",
    company_id="co-1",
    kind="booth",
    organiser="visitor-1",
    invitee="staff-1",
    period=at(9),
    subject="cloud services",
)
REQUESTED = MeetingRequested(**REQUEST.model_dump())


def meeting(*events: DomainEvent) -> Meeting:
    return reduce(evolve, events, initial_meeting("m1"))


def agenda(*events: DomainEvent) -> Agenda:
    return reduce(evolve_agenda, events, initial_agenda("staff-1"))


def slot(*events: DomainEvent) -> Slot:
    return reduce(evolve_slot, events, initial_slot("s1"))


# --- a meeting ------------------------------------------------------------------------------


def test_a_request_holds_the_organisers_time_and_awaits_the_invitee() -> None:
    assert decide(REQUEST, meeting(), NOW) == [REQUESTED]
    state = meeting(REQUESTED)
    assert (state.status, state.awaiting, state.booked()) == ("pending", "staff-1", {"visitor-1"})


def test_accepting_confirms_for_both() -> None:
    events = decide(AcceptMeeting(meeting_id="m1", by="staff-1"), meeting(REQUESTED), NOW)
    assert events == [MeetingAccepted(meeting_id="m1", by="staff-1")]
    state = meeting(REQUESTED, *events)
    assert state.status == "confirmed" and state.booked() == {"visitor-1", "staff-1"}


def test_only_the_awaited_party_answers() -> None:
    with pytest.raises(DomainError) as exc:
        decide(AcceptMeeting(meeting_id="m1", by="visitor-1"), meeting(REQUESTED), NOW)
    assert exc.value.code == "not_awaiting_you"
    with pytest.raises(Forbidden) as forbidden:
        decide(AcceptMeeting(meeting_id="m1", by="stranger"), meeting(REQUESTED), NOW)
    assert forbidden.value.code == "not_a_party"


def test_a_new_time_is_awaited_from_the_other_party() -> None:
    confirmed = meeting(REQUESTED, MeetingAccepted(meeting_id="m1", by="staff-1"))
    events = decide(RescheduleMeeting(meeting_id="m1", by="staff-1", period=at(11)), confirmed, NOW)
    assert events == [MeetingRescheduled(meeting_id="m1", by="staff-1", period=at(11))]
    state = meeting(REQUESTED, MeetingAccepted(meeting_id="m1", by="staff-1"), *events)
    assert (state.status, state.awaiting, state.period) == ("pending", "visitor-1", at(11))
    assert state.booked() == {"staff-1"}
    accepted = decide(AcceptMeeting(meeting_id="m1", by="visitor-1"), state, NOW)
    assert meeting(
        REQUESTED, MeetingAccepted(meeting_id="m1", by="staff-1"), *events, *accepted
    ).booked() == {"staff-1", "visitor-1"}


def test_declined_and_cancelled_meetings_hold_nobody_and_are_final() -> None:
    declined = meeting(
        REQUESTED, *decide(DeclineMeeting(meeting_id="m1", by="staff-1"), meeting(REQUESTED), NOW)
    )
    assert declined.status == "declined" and declined.booked() == set()
    cancelled = meeting(
        REQUESTED,
        *decide(
            CancelMeeting(meeting_id="m1", by="visitor-1", reason="flight"), meeting(REQUESTED), NOW
        ),
    )
    assert cancelled.status == "cancelled" and cancelled.booked() == set()
    commands: list[AcceptMeeting | RescheduleMeeting | CancelMeeting] = [
        AcceptMeeting(meeting_id="m1", by="staff-1"),
        RescheduleMeeting(meeting_id="m1", by="staff-1", period=at(12)),
        CancelMeeting(meeting_id="m1", by="staff-1", reason="x"),
    ]
    for closed in (declined, cancelled):
        for command in commands:
            with pytest.raises(DomainError) as exc:
                decide(command, closed, NOW)
            assert exc.value.code == "illegal_transition"


def test_meetings_are_arranged_for_the_future_with_someone_else() -> None:
    with pytest.raises(DomainError) as exc:
        decide(REQUEST, meeting(), NOW + timedelta(days=10))
    assert exc.value.code == "meeting_in_the_past"
    with pytest.raises(DomainError) as exc:
        decide(REQUEST.model_copy(update={"invitee": "visitor-1"}), meeting(), NOW)
    assert exc.value.code == "meeting_with_oneself"
    with pytest.raises(NotFound):
        decide(AcceptMeeting(meeting_id="m1", by="staff-1"), meeting(), NOW)
    with pytest.raises(Conflict):
        decide(REQUEST, meeting(REQUESTED), NOW)


@pytest.mark.parametrize(
    ("start", "minutes"),
    [(T9, 0), (T9, -30), (T9, 4), (T9, 8 * 60 + 1)],
)
def test_periods_are_sensible(start: datetime, minutes: int) -> None:
    with pytest.raises(ValidationError):
        Period(start=start, end=start + timedelta(minutes=minutes))
    with pytest.raises(ValidationError):
        Period(start=datetime(2021, 9, 3, 9), end=datetime(2021, 9, 3, 10))


def test_a_booked_slot_is_confirmed_at_once() -> None:
    book = BookFromSlot(
        meeting_id="m1",
        slot_id="s1",
        company_id="co-1",
        kind="online",
        host="staff-1",
        guest="visitor-2",
        period=at(10),
        subject="fintech",
    )
    [event] = decide(book, meeting(), NOW)
    assert isinstance(event, MeetingBooked)
    state = meeting(event)
    assert state.status == "confirmed" and state.parties() == ("visitor-2", "staff-1")


# --- an agenda ------------------------------------------------------------------------------


def test_an_agenda_refuses_overlaps_but_not_back_to_back() -> None:
    first = decide_agenda(Book(person="staff-1", meeting_id="m1", period=at(9)), agenda())
    assert first == [AgendaBooked(person="staff-1", meeting_id="m1", period=at(9))]
    with pytest.raises(Conflict) as exc:
        decide_agenda(Book(person="staff-1", meeting_id="m2", period=at(9, 60)), agenda(*first))
    assert exc.value.code == "double_booked" and exc.value.details["meeting_id"] == "m1"
    assert decide_agenda(Book(person="staff-1", meeting_id="m2", period=at(9.5)), agenda(*first))


def test_moving_a_meeting_is_not_an_overlap_with_itself() -> None:
    first = decide_agenda(Book(person="staff-1", meeting_id="m1", period=at(9)), agenda())
    moved = decide_agenda(Book(person="staff-1", meeting_id="m1", period=at(9.25)), agenda(*first))
    assert agenda(*first, *moved).bookings == {"m1": at(9.25)}
    assert (
        decide_agenda(Book(person="staff-1", meeting_id="m1", period=at(9)), agenda(*first)) == []
    )


def test_releasing_frees_the_time_once() -> None:
    first = decide_agenda(Book(person="staff-1", meeting_id="m1", period=at(9)), agenda())
    released = decide_agenda(Release(person="staff-1", meeting_id="m1"), agenda(*first))
    assert released == [AgendaReleased(person="staff-1", meeting_id="m1")]
    assert (
        decide_agenda(Release(person="staff-1", meeting_id="m1"), agenda(*first, *released)) == []
    )
    assert decide_agenda(
        Book(person="staff-1", meeting_id="m2", period=at(9)), agenda(*first, *released)
    )


@hypothesis.settings(max_examples=200, deadline=None)
@hypothesis.given(
    st.lists(
        st.tuples(
            st.sampled_from(["book", "release"]),
            st.sampled_from(["m1", "m2", "m3", "m4"]),
            st.integers(min_value=0, max_value=16),
            st.sampled_from([15, 30, 60, 90]),
        ),
        max_size=30,
    )
)
def test_whatever_happens_an_agenda_never_holds_two_overlapping_meetings(
    session: list[tuple[str, str, int, int]],
) -> None:
    state = agenda()
    for action, mid, quarter, minutes in session:
        command: Book | Release = (
            Book(person="staff-1", meeting_id=mid, period=at(9 + quarter / 4, minutes))
            if action == "book"
            else Release(person="staff-1", meeting_id=mid)
        )
        try:
            events = decide_agenda(command, state)
        except Conflict:
            continue
        state = reduce(evolve_agenda, events, state)
        held = list(state.bookings.values())
        assert not any(a.overlaps(b) for i, a in enumerate(held) for b in held[i + 1 :])


# --- a slot ---------------------------------------------------------------------------------


def test_a_slot_is_taken_once_and_freed_by_its_meeting() -> None:
    offer = OfferSlot(slot_id="s1", company_id="co-1", host="staff-1", kind="booth", period=at(10))
    offered = decide_slot(offer, slot(), NOW)
    taken = decide_slot(TakeSlot(slot_id="s1", meeting_id="m1", guest="v1"), slot(*offered), NOW)
    assert taken == [SlotTaken(slot_id="s1", meeting_id="m1", guest="v1")]
    with pytest.raises(Conflict) as exc:
        decide_slot(
            TakeSlot(slot_id="s1", meeting_id="m2", guest="v2"), slot(*offered, *taken), NOW
        )
    assert exc.value.code == "slot_taken"
    with pytest.raises(Conflict):
        decide_slot(WithdrawSlot(slot_id="s1"), slot(*offered, *taken), NOW)
    assert decide_slot(FreeSlot(slot_id="s1", meeting_id="m2"), slot(*offered, *taken), NOW) == []
    freed = decide_slot(FreeSlot(slot_id="s1", meeting_id="m1"), slot(*offered, *taken), NOW)
    assert slot(*offered, *taken, *freed).status == "open"
    with pytest.raises(NotFound):
        decide_slot(WithdrawSlot(slot_id="s1"), slot(), NOW)


def test_meetings_in_the_past_are_not_offered() -> None:
    offer = OfferSlot(slot_id="s1", company_id="co-1", host="staff-1", kind="booth", period=at(10))
    with pytest.raises(DomainError) as exc:
        decide_slot(offer, slot(), T9 + timedelta(days=1))
    assert exc.value.code == "meeting_in_the_past"


def test_cancelled_meeting_event_round_trip() -> None:
    from exhibitors.domain.events import registry

    event = MeetingCancelled(meeting_id="m1", by="staff-1", reason="ill")
    name, version, data = registry.encode(event)
    assert registry.decode(name, version, data) == event
