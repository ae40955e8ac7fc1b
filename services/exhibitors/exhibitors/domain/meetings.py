"""Meetings (线下约见, 云洽谈): appointments at the booth and online negotiations.

Three deciders:
- a meeting (`meeting-<id>`): requested by one party and awaited from the other, accepted,
  declined, rescheduled (then awaited from the other party again) or cancelled; a meeting
  booked in a host's offered slot is confirmed at once;
- a person's agenda (`agenda-<person>`): the time each of their meetings holds. Booking a
  time that overlaps another meeting is refused. Every command that puts a person in a
  meeting appends to that person's agenda in the same transaction as the meeting, with the
  version read, so two concurrent bookings of one person cannot both succeed: the loser is
  decided again and meets the overlap rule. Nobody is ever in two meetings at once;
- a slot (`slot-<id>`): a time a company's staff member offers for appointments; taken once.

The organiser of a request holds the time from the moment they ask (they cannot ask two
people for the same hour); the invitee only from the moment they accept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar, assert_never

from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict, model_validator

from .aggregate import Aggregate, Decision
from .company import Company, require_staff
from .events import registry
from .values import Asked, Identifier, Name, Note, Text

MeetingKind = Literal["booth", "online"]
"""An appointment at the booth (线下约见) or an online negotiation (云洽谈)."""
MeetingStatus = Literal["new", "pending", "confirmed", "declined", "cancelled"]

SHORTEST = timedelta(minutes=5)
LONGEST = timedelta(hours=8)


def check_period(start: datetime, end: datetime) -> None:
    """Raise ValueError unless [start, end) is a sensible meeting time."""
    if end <= start:
        raise ValueError("a meeting ends after it starts")
    if not SHORTEST <= end - start <= LONGEST:
        raise ValueError("a meeting lasts from 5 minutes to 8 hours")


class Period(BaseModel):
    """A half-open time range [start, end): back-to-back meetings do not overlap."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _sensible(self) -> Period:
        check_period(self.start, self.end)
        return self

    def overlaps(self, other: Period) -> bool:
        return self.start < other.end and other.start < self.end


# --- commands ------------------------------------------------------------------------------


class MeetingCommand(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    meeting_id: Identifier


class RequestMeeting(MeetingCommand):
    company_id: Identifier
    kind: MeetingKind
    organiser: Identifier
    invitee: Identifier
    period: Period
    subject: Name
    location: Note = ""


class BookFromSlot(MeetingCommand):
    slot_id: Identifier
    company_id: Identifier
    kind: MeetingKind
    host: Identifier
    guest: Identifier
    period: Period
    subject: Name
    location: Note = ""


class AcceptMeeting(MeetingCommand):
    by: Identifier


class DeclineMeeting(MeetingCommand):
    by: Identifier
    reason: Note = ""


class RescheduleMeeting(MeetingCommand):
    by: Identifier
    period: Period


class CancelMeeting(MeetingCommand):
    by: Identifier
    reason: Text


MeetingCommandType = (
    RequestMeeting
    | BookFromSlot
    | AcceptMeeting
    | DeclineMeeting
    | RescheduleMeeting
    | CancelMeeting
)
MeetingChange = AcceptMeeting | DeclineMeeting | RescheduleMeeting | CancelMeeting
"""What a party does to a meeting that exists."""


class Book(BaseModel):
    """Hold `period` of a person's agenda for a meeting (moving it if already held)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    person: Identifier
    meeting_id: Identifier
    period: Period
    company_id: Identifier | None = None


class Release(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    person: Identifier
    meeting_id: Identifier


AgendaCommand = Book | Release


class OfferSlot(Asked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slot_id: Identifier
    company_id: Identifier
    host: Identifier
    kind: MeetingKind
    period: Period
    location: Note = ""


class TakeSlot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slot_id: Identifier
    meeting_id: Identifier
    guest: Identifier


class FreeSlot(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slot_id: Identifier
    meeting_id: Identifier


class WithdrawSlot(Asked):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slot_id: Identifier


class BookSlot(BaseModel):
    """A guest books an offered slot: the meeting is confirmed at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    slot_id: Identifier
    meeting_id: Identifier
    guest: Identifier
    subject: Name


SlotCommand = OfferSlot | TakeSlot | FreeSlot | WithdrawSlot


# --- events --------------------------------------------------------------------------------


class MeetingEvent(DomainEvent):
    meeting_id: Identifier


@registry.event("exhibitors.MeetingRequested", version=1)
class MeetingRequested(MeetingEvent):
    """The organiser asks the invitee; the organiser's time is held, the invitee's is not yet."""

    company_id: Identifier
    kind: MeetingKind
    organiser: Identifier
    invitee: Identifier
    period: Period
    subject: Name
    location: Note = ""


@registry.event("exhibitors.MeetingBooked", version=1)
class MeetingBooked(MeetingEvent):
    """A guest took a slot the host offered: confirmed for both at once."""

    slot_id: Identifier
    company_id: Identifier
    kind: MeetingKind
    host: Identifier
    guest: Identifier
    period: Period
    subject: Name
    location: Note = ""


@registry.event("exhibitors.MeetingAccepted", version=1)
class MeetingAccepted(MeetingEvent):
    by: Identifier


@registry.event("exhibitors.MeetingDeclined", version=1)
class MeetingDeclined(MeetingEvent):
    by: Identifier
    reason: Note = ""


@registry.event("exhibitors.MeetingRescheduled", version=1)
class MeetingRescheduled(MeetingEvent):
    """New time proposed by `by`; now awaited from the other party."""

    by: Identifier
    period: Period


@registry.event("exhibitors.MeetingCancelled", version=1)
class MeetingCancelled(MeetingEvent):
    by: Identifier
    reason: Text


@registry.event("exhibitors.AgendaBooked", version=1)
class AgendaBooked(DomainEvent):
    person: Identifier
    meeting_id: Identifier
    period: Period
    company_id: Identifier | None = None
    """The company whose meeting it is (absent on events before slot caps)."""


@registry.event("exhibitors.AgendaReleased", version=1)
class AgendaReleased(DomainEvent):
    person: Identifier
    meeting_id: Identifier


@registry.event("exhibitors.SlotOffered", version=1)
class SlotOffered(DomainEvent):
    slot_id: Identifier
    company_id: Identifier
    host: Identifier
    kind: MeetingKind
    period: Period
    location: Note = ""


@registry.event("exhibitors.SlotTaken", version=1)
class SlotTaken(DomainEvent):
    slot_id: Identifier
    meeting_id: Identifier
    guest: Identifier


@registry.event("exhibitors.SlotFreed", version=1)
class SlotFreed(DomainEvent):
    slot_id: Identifier
    meeting_id: Identifier


@registry.event("exhibitors.SlotWithdrawn", version=1)
class SlotWithdrawn(DomainEvent):
    slot_id: Identifier


# --- the meeting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Meeting:
    meeting_id: str
    status: MeetingStatus = "new"
    company_id: str | None = None
    kind: MeetingKind = "booth"
    organiser: str = ""
    invitee: str = ""
    awaiting: str | None = None
    """Who must accept or decline now; None once confirmed or closed."""
    period: Period | None = None
    subject: str = ""
    location: str = ""
    slot_id: str | None = None

    def parties(self) -> tuple[str, str]:
        return self.organiser, self.invitee

    def other(self, person: str) -> str:
        return self.invitee if person == self.organiser else self.organiser

    def booked(self) -> set[str]:
        """Whose agendas this meeting holds now."""
        if self.status == "confirmed":
            return {self.organiser, self.invitee}
        if self.status == "pending" and self.awaiting is not None:
            return {self.other(self.awaiting)}
        return set()


def initial_meeting(meeting_id: str) -> Meeting:
    return Meeting(meeting_id=meeting_id)


def decide(command: MeetingCommandType, state: Meeting, now: datetime) -> list[DomainEvent]:
    mid = state.meeting_id
    if isinstance(command, RequestMeeting | BookFromSlot):
        _new(state)
        first, second = (
            (command.organiser, command.invitee)
            if isinstance(command, RequestMeeting)
            else (command.guest, command.host)
        )
        if first == second:
            raise DomainError("nobody meets themselves", code="meeting_with_oneself")
        _future(command.period, now)
        if isinstance(command, RequestMeeting):
            return [MeetingRequested(**command.model_dump())]
        return [MeetingBooked(**command.model_dump())]
    if state.status == "new" or state.period is None:
        raise NotFound(f"meeting {mid} not found", code="meeting_not_found")
    if command.by not in state.parties():
        raise Forbidden(f"{command.by} is not a party to meeting {mid}", code="not_a_party")
    match command:
        case AcceptMeeting(by=by):
            _awaited(state, by, "accept")
            _future(state.period, now)
            return [MeetingAccepted(meeting_id=mid, by=by)]
        case DeclineMeeting(by=by, reason=reason):
            _awaited(state, by, "decline")
            return [MeetingDeclined(meeting_id=mid, by=by, reason=reason)]
        case RescheduleMeeting(by=by, period=period):
            _open(state, "reschedule")
            _future(period, now)
            if period == state.period and state.awaiting == state.other(by):
                return []
            return [MeetingRescheduled(meeting_id=mid, by=by, period=period)]
        case CancelMeeting(by=by, reason=reason):
            _open(state, "cancel")
            return [MeetingCancelled(meeting_id=mid, by=by, reason=reason)]
        case _:
            assert_never(command)


def evolve(state: Meeting, event: DomainEvent) -> Meeting:
    match event:
        case MeetingRequested():
            return _arranged(
                state,
                event,
                status="pending",
                organiser=event.organiser,
                invitee=event.invitee,
                awaiting=event.invitee,
                subject=event.subject,
            )
        case MeetingBooked():
            return _arranged(
                state,
                event,
                status="confirmed",
                organiser=event.guest,
                invitee=event.host,
                awaiting=None,
                subject=event.subject,
                slot_id=event.slot_id,
            )
        case MeetingAccepted():
            return replace(state, status="confirmed", awaiting=None)
        case MeetingDeclined():
            return replace(state, status="declined", awaiting=None)
        case MeetingRescheduled():
            return replace(
                state, status="pending", period=event.period, awaiting=state.other(event.by)
            )
        case MeetingCancelled():
            return replace(state, status="cancelled", awaiting=None)
        case _:
            return state


Arranged = TypeVar("Arranged", "Meeting", "Slot")


def _arranged(
    state: Arranged, event: MeetingRequested | MeetingBooked | SlotOffered, **rest: Any
) -> Arranged:
    """What a request, a booking and an offer all set: the company, the kind, when, where."""
    return replace(
        state,
        company_id=event.company_id,
        kind=event.kind,
        period=event.period,
        location=event.location,
        **rest,
    )


MEETING: Aggregate[Meeting] = Aggregate("meeting-", initial_meeting, evolve)


def request_meeting(
    command: RequestMeeting,
    *,
    company: Company,
    meeting: Meeting,
    agendas: Mapping[str, Agenda],
    now: datetime,
) -> Decision:
    """Invite someone: a meeting of a company has one of its staff on one side; the
    organiser's time is held from now on."""
    if not company.registered:
        raise NotFound(f"company {company.company_id} not found", code="company_not_found")
    if not (company.is_staff(command.organiser) or company.is_staff(command.invitee)):
        raise Forbidden(
            f"a meeting of company {company.company_id} has one of its staff on one side",
            code="no_company_staff",
        )
    requested = decide(command, meeting, now)
    return {
        MEETING.stream(command.meeting_id): requested,
        **_agendas(MEETING.after(meeting, requested), agendas, None, now),
    }


SLOTS_PER_GUEST = 2
"""Upcoming meetings a visitor may hold with one company through its offered slots."""


def book_slot(
    command: BookSlot, *, slot: Slot, meeting: Meeting, agendas: Mapping[str, Agenda], now: datetime
) -> Decision:
    """Take an offered slot: the meeting is confirmed for the guest and the host at once."""
    if slot.period is None or slot.company_id is None:
        raise NotFound(f"slot {command.slot_id} not found", code="slot_not_found")
    guest = agendas.get(command.guest)
    if (
        guest is not None
        and slot.status == "open"
        and guest.upcoming_with(slot.company_id, now) >= SLOTS_PER_GUEST
    ):
        # one visitor must not take every open slot of a company (issue 11)
        raise Conflict(
            f"at most {SLOTS_PER_GUEST} upcoming meetings with company {slot.company_id}"
            " per visitor; cancel one first",
            code="slot_cap_reached",
            limit=SLOTS_PER_GUEST,
        )
    book = BookFromSlot(
        meeting_id=command.meeting_id,
        slot_id=command.slot_id,
        company_id=slot.company_id,
        kind=slot.kind,
        host=slot.host,
        guest=command.guest,
        period=slot.period,
        subject=command.subject,
        location=slot.location,
    )
    booked = decide(book, meeting, now)
    take = TakeSlot(slot_id=command.slot_id, meeting_id=command.meeting_id, guest=command.guest)
    return {
        SLOT.stream(command.slot_id): decide_slot(take, slot, now),
        MEETING.stream(command.meeting_id): booked,
        **_agendas(MEETING.after(meeting, booked), agendas, None, now),
    }


def change_meeting(
    command: MeetingChange,
    *,
    meeting: Meeting,
    slot: Slot | None,
    agendas: Mapping[str, Agenda],
    now: datetime,
) -> Decision:
    """Accept, decline, reschedule or cancel; the agendas (and the slot) follow."""
    changed = decide(command, meeting, now)
    return {
        MEETING.stream(command.meeting_id): changed,
        **_agendas(MEETING.after(meeting, changed), agendas, slot, now),
    }


def _agendas(
    meeting: Meeting, agendas: Mapping[str, Agenda], slot: Slot | None, now: datetime
) -> Decision:
    """Each party's agenda as the meeting now holds it; a slot no longer used is freed."""
    assert meeting.period is not None
    held = meeting.booked()
    mid, company = meeting.meeting_id, meeting.company_id
    decision: Decision = {
        AGENDA.stream(person): decide_agenda(
            Book(person=person, meeting_id=mid, period=meeting.period, company_id=company)
            if person in held
            else Release(person=person, meeting_id=mid),
            agendas[person],
        )
        for person in meeting.parties()
    }
    if slot is not None and not (meeting.status == "confirmed" and meeting.period == slot.period):
        freed = decide_slot(FreeSlot(slot_id=slot.slot_id, meeting_id=mid), slot, now)
        decision[SLOT.stream(slot.slot_id)] = freed
    return decision


def _new(state: Meeting) -> None:
    if state.status != "new":
        raise Conflict(f"meeting {state.meeting_id} already exists", code="meeting_exists")


def _future(period: Period, now: datetime) -> None:
    if period.start <= now:
        raise DomainError(
            "a meeting is arranged for the future",
            code="meeting_in_the_past",
            start=period.start.isoformat(),
        )


def _open(state: Meeting, action: str) -> None:
    if state.status not in ("pending", "confirmed"):
        raise DomainError(
            f"cannot {action} meeting {state.meeting_id}: it is {state.status}",
            code="illegal_transition",
            **{"from": state.status, "command": action},
        )


def _awaited(state: Meeting, by: str, action: str) -> None:
    _open(state, action)
    if state.awaiting != by:
        raise DomainError(
            f"meeting {state.meeting_id} does not await an answer from {by}",
            code="not_awaiting_you",
            awaiting=state.awaiting,
        )


# --- a person's agenda ---------------------------------------------------------------------


@dataclass(frozen=True)
class Agenda:
    person: str
    bookings: dict[str, Period] = field(default_factory=dict)
    companies: dict[str, str] = field(default_factory=dict)
    """meeting id -> the company whose meeting it is, where known"""

    def upcoming_with(self, company_id: str, now: datetime) -> int:
        """Meetings with `company_id` still to come on this agenda."""
        return sum(
            1
            for mid, period in self.bookings.items()
            if self.companies.get(mid) == company_id and period.end > now
        )


def initial_agenda(person: str) -> Agenda:
    return Agenda(person=person)


def decide_agenda(command: AgendaCommand, state: Agenda) -> list[DomainEvent]:
    match command:
        case Book(meeting_id=mid, period=period):
            if state.bookings.get(mid) == period:
                return []
            for other, held in state.bookings.items():
                if other != mid and held.overlaps(period):
                    raise Conflict(
                        f"{state.person} is in another meeting at that time",
                        code="double_booked",
                        person=state.person,
                        meeting_id=other,
                        start=held.start.isoformat(),
                        end=held.end.isoformat(),
                    )
            company = command.company_id
            booked = AgendaBooked(
                person=state.person, meeting_id=mid, period=period, company_id=company
            )
            return [booked]
        case Release(meeting_id=mid):
            if mid not in state.bookings:
                return []
            return [AgendaReleased(person=state.person, meeting_id=mid)]
        case _:
            assert_never(command)


def evolve_agenda(state: Agenda, event: DomainEvent) -> Agenda:
    match event:
        case AgendaBooked():
            companies = state.companies
            if event.company_id is not None:
                companies = {**companies, event.meeting_id: event.company_id}
            return replace(
                state,
                bookings={**state.bookings, event.meeting_id: event.period},
                companies=companies,
            )
        case AgendaReleased():
            rest = {m: p for m, p in state.bookings.items() if m != event.meeting_id}
            known = {m: c for m, c in state.companies.items() if m != event.meeting_id}
            return replace(state, bookings=rest, companies=known)
        case _:
            return state


AGENDA: Aggregate[Agenda] = Aggregate("agenda-", initial_agenda, evolve_agenda)


# --- an offered slot -----------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    slot_id: str
    status: Literal["new", "open", "taken", "withdrawn"] = "new"
    company_id: str | None = None
    host: str = ""
    kind: MeetingKind = "booth"
    period: Period | None = None
    location: str = ""
    meeting_id: str | None = None


def initial_slot(slot_id: str) -> Slot:
    return Slot(slot_id=slot_id)


def decide_slot(command: SlotCommand, state: Slot, now: datetime) -> list[DomainEvent]:
    sid = state.slot_id
    if isinstance(command, OfferSlot):
        if state.status != "new":
            raise Conflict(f"slot {sid} already exists", code="slot_exists")
        _future(command.period, now)
        return [SlotOffered(**command.model_dump())]
    if state.status == "new":
        raise NotFound(f"slot {sid} not found", code="slot_not_found")
    match command:
        case TakeSlot(meeting_id=mid, guest=guest):
            if state.status != "open":
                raise Conflict(f"slot {sid} is {state.status}", code="slot_taken")
            return [SlotTaken(slot_id=sid, meeting_id=mid, guest=guest)]
        case FreeSlot(meeting_id=mid):
            if state.status != "taken" or state.meeting_id != mid:
                return []
            return [SlotFreed(slot_id=sid, meeting_id=mid)]
        case WithdrawSlot():
            if state.status == "taken":
                raise Conflict(
                    f"slot {sid} is booked; cancel the meeting first",
                    code="slot_taken",
                    meeting_id=state.meeting_id,
                )
            if state.status == "withdrawn":
                return []
            return [SlotWithdrawn(slot_id=sid)]
        case _:
            assert_never(command)


def evolve_slot(state: Slot, event: DomainEvent) -> Slot:
    match event:
        case SlotOffered():
            return _arranged(state, event, status="open", host=event.host)
        case SlotTaken():
            return replace(state, status="taken", meeting_id=event.meeting_id)
        case SlotFreed():
            return replace(state, status="open", meeting_id=None)
        case SlotWithdrawn():
            return replace(state, status="withdrawn")
        case _:
            return state


SLOT: Aggregate[Slot] = Aggregate("slot-", initial_slot, evolve_slot)


def offer_slot(
    command: OfferSlot, *, slot: Slot, company: Company, now: datetime
) -> list[DomainEvent]:
    """The company's staff offer a time with one of them as the host."""
    require_staff(company, command.asked_by, "offer its slots")
    if not company.is_staff(command.host):
        raise Forbidden(
            f"{command.host} is not on the staff of {company.company_id}", code="host_not_staff"
        )
    return decide_slot(command, slot, now)


def withdraw_slot(
    command: WithdrawSlot, *, slot: Slot, company: Company | None, now: datetime
) -> list[DomainEvent]:
    if slot.company_id is None or company is None:
        raise NotFound(f"slot {command.slot_id} not found", code="slot_not_found")
    require_staff(company, command.asked_by, "withdraw its slots")
    return decide_slot(command, slot, now)
