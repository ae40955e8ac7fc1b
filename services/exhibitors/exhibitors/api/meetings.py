"""Meetings: slots offered at the booth or online, invitations, answers, new times, agendas.

Every command that changes who is in a meeting appends, in the same transaction, to the
meeting and to each party's agenda (see domain/meetings.py): the agendas mirror what the
meeting now holds, and overlapping bookings of one person are refused even under races.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fairline_events.auth import Principal
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Step, Streams, step, stepwise, transact
from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, model_validator

from ..domain.meetings import (
    AcceptMeeting,
    Book,
    BookFromSlot,
    CancelMeeting,
    DeclineMeeting,
    FreeSlot,
    Meeting,
    MeetingKind,
    OfferSlot,
    Period,
    Release,
    RequestMeeting,
    RescheduleMeeting,
    Slot,
    TakeSlot,
    WithdrawSlot,
    check_period,
)
from ..domain.values import Identifier, Name, Note, Text
from ..projections import agendas as agendas_projection
from ..streams import (
    agenda_stream,
    agendas,
    companies,
    company_stream,
    meeting_stream,
    meetings_at,
    slot_stream,
    slots_at,
)
from .common import (
    Body,
    CommandRoute,
    Correlation,
    Exhibitor,
    Now,
    Participant,
    Pool,
    Store,
    context,
    new_id,
)

router = APIRouter(tags=["meetings"], route_class=CommandRoute)


class Timed(Body):
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _sensible(self) -> Timed:
        check_period(self.start, self.end)
        return self

    def period(self) -> Period:
        return Period(start=self.start, end=self.end)


class SlotOffer(Timed):
    host: Identifier | None = None
    """The staff member who will meet; the caller when left out."""
    kind: MeetingKind
    location: Note = ""


class SlotBooking(Body):
    subject: Name


class MeetingRequest(Timed):
    company_id: Identifier
    invitee: Identifier
    kind: MeetingKind
    subject: Name
    location: Note = ""


class Answer(Body):
    reason: Note = ""


class NewTime(Timed):
    pass


class Cancellation(Body):
    reason: Text


class MeetingView(BaseModel):
    meeting_id: str
    status: str
    company_id: str | None
    kind: str
    organiser: str
    invitee: str
    awaiting: str | None
    start: datetime | None
    end: datetime | None
    subject: str
    location: str
    slot_id: str | None
    version: int


class SlotView(BaseModel):
    slot_id: str
    status: str
    company_id: str | None
    host: str
    kind: str
    start: datetime | None
    end: datetime | None
    location: str
    meeting_id: str | None = None


class AgendaEntry(BaseModel):
    meeting_id: str
    status: str
    company_id: str
    kind: str
    organiser: str
    invitee: str
    awaiting: str | None
    start: datetime
    end: datetime
    subject: str
    location: str


def meeting_view(state: Meeting, version: int) -> MeetingView:
    return MeetingView(
        meeting_id=state.meeting_id,
        status=state.status,
        company_id=state.company_id,
        kind=state.kind,
        organiser=state.organiser,
        invitee=state.invitee,
        awaiting=state.awaiting,
        start=state.period.start if state.period else None,
        end=state.period.end if state.period else None,
        subject=state.subject,
        location=state.location,
        slot_id=state.slot_id,
        version=version,
    )


def slot_view(state: Slot) -> SlotView:
    return SlotView(
        slot_id=state.slot_id,
        status=state.status,
        company_id=state.company_id,
        host=state.host,
        kind=state.kind,
        start=state.period.start if state.period else None,
        end=state.period.end if state.period else None,
        location=state.location,
        meeting_id=state.meeting_id,
    )


def agenda_steps(meeting: Meeting, slot: Slot | None, at: datetime) -> list[Step[Any]]:
    """Each party's agenda as the meeting now holds it; a slot no longer used is freed."""
    assert meeting.period is not None
    held = meeting.booked()
    steps: list[Step[Any]] = [
        step(
            agendas,
            agenda_stream(person),
            Book(person=person, meeting_id=meeting.meeting_id, period=meeting.period)
            if person in held
            else Release(person=person, meeting_id=meeting.meeting_id),
        )
        for person in meeting.parties()
    ]
    if slot is not None and not (meeting.status == "confirmed" and meeting.period == slot.period):
        free = FreeSlot(slot_id=slot.slot_id, meeting_id=meeting.meeting_id)
        steps.append(step(slots_at(at), slot_stream(slot.slot_id), free))
    return steps


async def _staff_of(load: Streams, company_id: str) -> frozenset[str]:
    company = await load.peek(companies, company_stream(company_id))
    if not company.registered:
        raise NotFound(f"company {company_id} not found", code="company_not_found")
    return company.staff


@router.post(
    "/companies/{company_id}/slots",
    status_code=201,
    summary="offer a time for appointments at the booth or online",
)
async def offer_slot(
    company_id: str,
    body: SlotOffer,
    who: Exhibitor,
    store: Store,
    now: Now,
    response: Response,
    correlation: Correlation = None,
) -> SlotView:
    slot_id = new_id("slot")
    host = body.host or who.subject
    at = now()

    async def plan(load: Streams) -> list[Step[Any]]:
        staff = await _staff_of(load, company_id)
        if who.subject not in staff and not who.has_any(("recruitment",)):
            raise Forbidden(
                f"only the staff of {company_id} offer its slots", code="not_company_staff"
            )
        if host not in staff:
            raise Forbidden(f"{host} is not on the staff of {company_id}", code="host_not_staff")
        offer = OfferSlot(
            slot_id=slot_id,
            company_id=company_id,
            host=host,
            kind=body.kind,
            period=body.period(),
            location=body.location,
        )
        return [step(slots_at(at), slot_stream(slot_id), offer)]

    outcome = await transact(store, stepwise(plan), context(who, correlation), command="OfferSlot")
    response.headers["Location"] = f"/slots/{slot_id}"
    return slot_view(outcome.states[slot_stream(slot_id)])


@router.delete("/slots/{slot_id}", summary="withdraw a slot nobody has booked")
async def withdraw_slot(
    slot_id: str, who: Exhibitor, store: Store, now: Now, correlation: Correlation = None
) -> SlotView:
    slots = slots_at(now())

    async def plan(load: Streams) -> list[Step[Any]]:
        slot = await load(slots, slot_stream(slot_id))
        if slot.company_id is None:
            raise NotFound(f"slot {slot_id} not found", code="slot_not_found")
        staff = await _staff_of(load, slot.company_id)
        if who.subject not in staff and not who.has_any(("recruitment",)):
            raise Forbidden("only the company's staff withdraw its slots", code="not_company_staff")
        return [step(slots, slot_stream(slot_id), WithdrawSlot(slot_id=slot_id))]

    outcome = await transact(
        store, stepwise(plan), context(who, correlation), command="WithdrawSlot"
    )
    return slot_view(outcome.states[slot_stream(slot_id)])


@router.get("/companies/{company_id}/slots", summary="a company's slots, soonest first")
async def list_slots(
    company_id: str,
    who: Participant,
    pool: Pool,
    status: Literal["open", "taken", "withdrawn"] | None = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[SlotView]:
    rows = await pool.fetch(
        f"""SELECT * FROM {agendas_projection.schema}.slots
            WHERE company_id = $1 AND ($2::text IS NULL OR status = $2)
            ORDER BY start_at LIMIT $3""",
        company_id,
        status,
        limit,
    )
    return [
        SlotView(
            slot_id=r["slot_id"],
            status=r["status"],
            company_id=r["company_id"],
            host=r["host"],
            kind=r["kind"],
            start=r["start_at"],
            end=r["end_at"],
            location=r["location"],
        )
        for r in rows
    ]


@router.post(
    "/slots/{slot_id}/book",
    status_code=201,
    summary="book an offered slot: the meeting is confirmed at once",
)
async def book_slot(
    slot_id: str,
    body: SlotBooking,
    who: Participant,
    store: Store,
    now: Now,
    response: Response,
    correlation: Correlation = None,
) -> MeetingView:
    meeting_id = new_id("mtg")
    at = now()
    slots, meetings = slots_at(at), meetings_at(at)

    async def plan(load: Streams) -> list[Step[Any]]:
        slot = await load(slots, slot_stream(slot_id))
        if slot.period is None or slot.company_id is None:
            raise NotFound(f"slot {slot_id} not found", code="slot_not_found")
        take = TakeSlot(slot_id=slot_id, meeting_id=meeting_id, guest=who.subject)
        book = BookFromSlot(
            meeting_id=meeting_id,
            slot_id=slot_id,
            company_id=slot.company_id,
            kind=slot.kind,
            host=slot.host,
            guest=who.subject,
            period=slot.period,
            subject=body.subject,
            location=slot.location,
        )
        stream = meeting_stream(meeting_id)
        meeting = meetings.run(await load(meetings, stream), book)[0]
        return [
            step(slots, slot_stream(slot_id), take),
            step(meetings, stream, book),
            *agenda_steps(meeting, None, at),
        ]

    outcome = await transact(store, stepwise(plan), context(who, correlation), command="BookSlot")
    response.headers["Location"] = f"/meetings/{meeting_id}"
    stream = meeting_stream(meeting_id)
    return meeting_view(outcome.states[stream], outcome.versions[stream])


@router.post("/meetings", status_code=201, summary="invite someone to a meeting")
async def request_meeting(
    body: MeetingRequest,
    who: Participant,
    store: Store,
    now: Now,
    response: Response,
    correlation: Correlation = None,
) -> MeetingView:
    meeting_id = new_id("mtg")
    at = now()
    meetings = meetings_at(at)

    async def plan(load: Streams) -> list[Step[Any]]:
        staff = await _staff_of(load, body.company_id)
        if who.subject not in staff and body.invitee not in staff:
            raise Forbidden(
                f"a meeting of company {body.company_id} has one of its staff on one side",
                code="no_company_staff",
            )
        command = RequestMeeting(
            meeting_id=meeting_id,
            company_id=body.company_id,
            kind=body.kind,
            organiser=who.subject,
            invitee=body.invitee,
            period=body.period(),
            subject=body.subject,
            location=body.location,
        )
        stream = meeting_stream(meeting_id)
        meeting = meetings.run(await load(meetings, stream), command)[0]
        return [step(meetings, stream, command), *agenda_steps(meeting, None, at)]

    outcome = await transact(
        store, stepwise(plan), context(who, correlation), command="RequestMeeting"
    )
    response.headers["Location"] = f"/meetings/{meeting_id}"
    stream = meeting_stream(meeting_id)
    return meeting_view(outcome.states[stream], outcome.versions[stream])


async def _act(
    store: EventStore,
    meeting_id: str,
    command: Any,
    who: Principal,
    at: datetime,
    correlation: str | None,
    reason: str | None = None,
) -> MeetingView:
    meetings = meetings_at(at)
    stream = meeting_stream(meeting_id)

    async def plan(load: Streams) -> list[Step[Any]]:
        meeting = meetings.run(await load(meetings, stream), command)[0]
        slot: Slot | None = None
        if meeting.slot_id is not None:
            slot = await load(slots_at(at), slot_stream(meeting.slot_id))
        return [step(meetings, stream, command), *agenda_steps(meeting, slot, at)]

    outcome = await transact(
        store, stepwise(plan), context(who, correlation, reason), command=type(command).__name__
    )
    return meeting_view(outcome.states[stream], outcome.versions[stream])


@router.get("/meetings/{meeting_id}", summary="a meeting, for its parties and the company's staff")
async def get_meeting(meeting_id: str, who: Participant, store: Store) -> MeetingView:
    stream = meeting_stream(meeting_id)
    meetings = meetings_at(datetime.min)
    state, version = await store.load(stream, meetings.evolve, meetings.initial(stream))
    if state.company_id is None:
        raise NotFound(f"meeting {meeting_id} not found", code="meeting_not_found")
    if who.subject not in state.parties() and not who.has_any(("recruitment",)):
        company, _ = await store.load(
            company_stream(state.company_id),
            companies.evolve,
            companies.initial(company_stream(state.company_id)),
        )
        if not company.is_staff(who.subject):
            raise Forbidden(
                "only its parties and the company's staff see a meeting", code="not_a_party"
            )
    return meeting_view(state, version)


@router.post("/meetings/{meeting_id}/accept", summary="accept: the time is held for you too")
async def accept(
    meeting_id: str, who: Participant, store: Store, now: Now, correlation: Correlation = None
) -> MeetingView:
    command = AcceptMeeting(meeting_id=meeting_id, by=who.subject)
    return await _act(store, meeting_id, command, who, now(), correlation)


@router.post("/meetings/{meeting_id}/decline", summary="decline, with a reason if you like")
async def decline(
    meeting_id: str,
    body: Answer,
    who: Participant,
    store: Store,
    now: Now,
    correlation: Correlation = None,
) -> MeetingView:
    command = DeclineMeeting(meeting_id=meeting_id, by=who.subject, reason=body.reason)
    return await _act(store, meeting_id, command, who, now(), correlation, body.reason or None)


@router.post(
    "/meetings/{meeting_id}/reschedule",
    summary="propose a new time; the other party then accepts or declines it",
)
async def reschedule(
    meeting_id: str,
    body: NewTime,
    who: Participant,
    store: Store,
    now: Now,
    correlation: Correlation = None,
) -> MeetingView:
    command = RescheduleMeeting(meeting_id=meeting_id, by=who.subject, period=body.period())
    return await _act(store, meeting_id, command, who, now(), correlation)


@router.post("/meetings/{meeting_id}/cancel", summary="cancel; both agendas are freed")
async def cancel(
    meeting_id: str,
    body: Cancellation,
    who: Participant,
    store: Store,
    now: Now,
    correlation: Correlation = None,
) -> MeetingView:
    command = CancelMeeting(meeting_id=meeting_id, by=who.subject, reason=body.reason)
    return await _act(store, meeting_id, command, who, now(), correlation, body.reason)


@router.get("/me/agenda", summary="my meetings, soonest first (pending and confirmed)")
async def my_agenda(
    who: Participant,
    pool: Pool,
    start: AwareDatetime | None = None,
    end: AwareDatetime | None = None,
    status: Annotated[
        list[Literal["pending", "confirmed", "declined", "cancelled"]] | None, Query()
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[AgendaEntry]:
    rows = await pool.fetch(
        f"""SELECT * FROM {agendas_projection.schema}.meetings
            WHERE (organiser = $1 OR invitee = $1)
              AND ($2::timestamptz IS NULL OR end_at > $2)
              AND ($3::timestamptz IS NULL OR start_at < $3)
              AND status = ANY(coalesce($4::text[], ARRAY['pending', 'confirmed']))
            ORDER BY start_at LIMIT $5""",
        who.subject,
        start,
        end,
        status,
        limit,
    )
    return [
        AgendaEntry(
            **{k: r[k] for k in AgendaEntry.model_fields if k not in ("start", "end")},
            start=r["start_at"],
            end=r["end_at"],
        )
        for r in rows
    ]
