"""Meetings: slots offered at the booth or online, invitations, answers, new times, agendas.

Every command that changes who is in a meeting appends, in the same transaction, to the
meeting and to each party's agenda (see domain/meetings.py): the agendas mirror what the
meeting now holds, and overlapping bookings of one person are refused even under races.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fairline_events.context import CommandContext
from fairline_events.dependencies import Body, Pool, Store, new_id
from fairline_events.errors import Forbidden, NotFound
from fairline_events.transact import Outcome
from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime, BaseModel, model_validator

from .. import handlers
from ..domain.company import COMPANY
from ..domain.meetings import (
    MEETING,
    SLOT,
    AcceptMeeting,
    BookSlot,
    CancelMeeting,
    DeclineMeeting,
    Meeting,
    MeetingChange,
    MeetingKind,
    OfferSlot,
    Period,
    RequestMeeting,
    RescheduleMeeting,
    Slot,
    WithdrawSlot,
    check_period,
)
from ..domain.values import Identifier, Name, Note, Text
from ..projections import agendas as agendas_projection
from .common import AsExhibitor, AsParticipant, Participant, actor, known, read

router = APIRouter(tags=["meetings"])


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


def changed_meeting(outcome: Outcome, meeting_id: str) -> MeetingView:
    stream = MEETING.stream(meeting_id)
    return meeting_view(outcome.state(stream, Meeting), outcome.versions[stream])


def changed_slot(outcome: Outcome, slot_id: str) -> SlotView:
    return slot_view(outcome.state(SLOT.stream(slot_id), Slot))


@router.post(
    "/companies/{company_id}/slots",
    status_code=201,
    summary="offer a time for appointments at the booth or online",
)
async def offer_slot(
    company_id: str,
    body: SlotOffer,
    acting: AsExhibitor,
    response: Response,
) -> SlotView:
    slot_id = new_id("slot")
    command = OfferSlot(
        slot_id=slot_id,
        company_id=known(company_id, "company", "company_not_found"),
        host=body.host or acting.who.subject,
        kind=body.kind,
        period=body.period(),
        location=body.location,
        asked_by=actor(acting.who),
    )
    outcome = await handlers.offer_slot(acting.store, command, acting.context)
    response.headers["Location"] = f"/slots/{slot_id}"
    return changed_slot(outcome, slot_id)


@router.delete("/slots/{slot_id}", summary="withdraw a slot nobody has booked")
async def withdraw_slot(slot_id: str, acting: AsExhibitor) -> SlotView:
    command = WithdrawSlot(
        slot_id=known(slot_id, "slot", "slot_not_found"), asked_by=actor(acting.who)
    )
    return changed_slot(
        await handlers.withdraw_slot(acting.store, command, acting.context), slot_id
    )


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
    acting: AsParticipant,
    response: Response,
) -> MeetingView:
    meeting_id = new_id("mtg")
    command = BookSlot(
        slot_id=known(slot_id, "slot", "slot_not_found"),
        meeting_id=meeting_id,
        guest=acting.who.subject,
        subject=body.subject,
    )
    outcome = await handlers.book_slot(acting.store, command, acting.context)
    response.headers["Location"] = f"/meetings/{meeting_id}"
    return changed_meeting(outcome, meeting_id)


@router.post("/meetings", status_code=201, summary="invite someone to a meeting")
async def request_meeting(
    body: MeetingRequest,
    acting: AsParticipant,
    response: Response,
) -> MeetingView:
    meeting_id = new_id("mtg")
    command = RequestMeeting(
        meeting_id=meeting_id,
        company_id=body.company_id,
        kind=body.kind,
        organiser=acting.who.subject,
        invitee=body.invitee,
        period=body.period(),
        subject=body.subject,
        location=body.location,
    )
    outcome = await handlers.request_meeting(acting.store, command, acting.context)
    response.headers["Location"] = f"/meetings/{meeting_id}"
    return changed_meeting(outcome, meeting_id)


async def _act(store: Store, command: MeetingChange, context: CommandContext) -> MeetingView:
    outcome = await handlers.change_meeting(store, command, context)
    return changed_meeting(outcome, command.meeting_id)


@router.get("/meetings/{meeting_id}", summary="a meeting, for its parties and the company's staff")
async def get_meeting(meeting_id: str, who: Participant, store: Store) -> MeetingView:
    state, version = await read(store, MEETING, meeting_id)
    if state.company_id is None:
        raise NotFound(f"meeting {meeting_id} not found", code="meeting_not_found")
    if who.subject not in state.parties() and not who.has_any(("recruitment",)):
        company, _ = await read(store, COMPANY, state.company_id)
        if not company.is_staff(who.subject):
            raise Forbidden(
                "only its parties and the company's staff see a meeting", code="not_a_party"
            )
    return meeting_view(state, version)


@router.post("/meetings/{meeting_id}/accept", summary="accept: the time is held for you too")
async def accept(meeting_id: str, acting: AsParticipant) -> MeetingView:
    command = AcceptMeeting(meeting_id=meeting_id, by=acting.who.subject)
    return await _act(acting.store, command, acting.context)


@router.post("/meetings/{meeting_id}/decline", summary="decline, with a reason if you like")
async def decline(meeting_id: str, body: Answer, acting: AsParticipant) -> MeetingView:
    command = DeclineMeeting(meeting_id=meeting_id, by=acting.who.subject, reason=body.reason)
    return await _act(acting.store, command, acting.context.because(body.reason or None))


@router.post(
    "/meetings/{meeting_id}/reschedule",
    summary="propose a new time; the other party then accepts or declines it",
)
async def reschedule(meeting_id: str, body: NewTime, acting: AsParticipant) -> MeetingView:
    command = RescheduleMeeting(meeting_id=meeting_id, by=acting.who.subject, period=body.period())
    return await _act(acting.store, command, acting.context)


@router.post("/meetings/{meeting_id}/cancel", summary="cancel; both agendas are freed")
async def cancel(meeting_id: str, body: Cancellation, acting: AsParticipant) -> MeetingView:
    command = CancelMeeting(meeting_id=meeting_id, by=acting.who.subject, reason=body.reason)
    return await _act(acting.store, command, acting.context.because(body.reason))


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
