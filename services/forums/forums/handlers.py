"""Every forums command, one handler each: read the streams the rule needs, call the rule.

A handler is a plan run inside one transaction by `fairline_events.transact`: the streams it
writes are locked, then read (`streams(...)`, `streams.all(...)`); streams it only reads are
peeked. Scheduling locks the forum, then every room-day and speaker-day it leaves or takes:
that is what makes "no two forums in a room, no speaker in two places" hold when two
schedulers act at once. The rule is a pure function in `domain/`, called with named
arguments; its events each name their stream (`ForumsEvent.stream_id()`).

Routes, the offer-lapse job, the demo loader and the exhibitors policy call these handlers.
"""

from __future__ import annotations

from typing import Any

from fairline_events.decider import Fold
from fairline_events.registry import DomainEvent
from fairline_events.transact import Streams, command_handler
from fairline_events.turns import together, turn

from .domain import attendance as seats
from .domain import company, forum, programme, slots, sponsored
from .domain.agenda import AGENDA, Agenda, agenda_stream
from .domain.attendance import ATTENDANCE, Attendance, attendance_stream
from .domain.commands import (
    AddRoom,
    ApproveExhibitor,
    ApproveForum,
    BookSponsorLaunch,
    CancelForum,
    CancelRegistration,
    CheckIn,
    ClaimOffer,
    Invite,
    Join,
    LapseOffer,
    ProposeForum,
    PublishForum,
    RefuseAccess,
    Register,
    RejectForum,
    RevokeInvitation,
    ScheduleForum,
    SetKindPolicy,
    WithdrawExhibitor,
)
from .domain.company import EXHIBITOR, exhibitor_stream
from .domain.forum import FORUM, Forum, forum_stream
from .domain.programme import PROGRAMME, Programme, programme_stream
from .domain.slots import ROOM_DAY, SPEAKER_DAY, day_streams
from .domain.sponsored import SPONSOR_LAUNCH, sponsor_launch_stream

# --- the edition's programme ----------------------------------------------------------------


@command_handler
async def add_room(command: AddRoom, streams: Streams) -> list[DomainEvent]:
    setup = await streams(PROGRAMME, programme_stream(command.edition_code))
    return programme.add_room(command, programme=setup)


@command_handler
async def set_kind_policy(command: SetKindPolicy, streams: Streams) -> list[DomainEvent]:
    setup = await streams(PROGRAMME, programme_stream(command.edition_code))
    return programme.set_kind_policy(command, programme=setup)


# --- exhibitors, learnt from the exhibitors service -----------------------------------------


@command_handler
async def approve_exhibitor(command: ApproveExhibitor, streams: Streams) -> list[DomainEvent]:
    exhibitor = await streams(EXHIBITOR, exhibitor_stream(command.exhibitor_id))
    return company.approve(command, exhibitor=exhibitor)


@command_handler
async def withdraw_exhibitor(command: WithdrawExhibitor, streams: Streams) -> list[DomainEvent]:
    exhibitor = await streams(EXHIBITOR, exhibitor_stream(command.exhibitor_id))
    return company.withdraw(command, exhibitor=exhibitor)


# --- a forum's life -------------------------------------------------------------------------


async def _forum_and_programme(streams: Streams, forum_id: str) -> tuple[Forum, Programme]:
    """The forum (locked: the command writes it) and its edition's programme (read)."""
    the_forum = (await streams(FORUM, forum_stream(forum_id))).exists()
    setup = await streams.peek(PROGRAMME, programme_stream(the_forum.edition_code))
    return the_forum, setup


@command_handler
async def propose_forum(command: ProposeForum, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams(FORUM, forum_stream(command.forum_id))
    setup = await streams.peek(PROGRAMME, programme_stream(command.edition_code))
    exhibitor_id = command.organiser.exhibitor_id
    exhibitor = None
    if command.organiser.kind == "company" and exhibitor_id is not None:
        exhibitor = await streams.peek(EXHIBITOR, exhibitor_stream(exhibitor_id))
    return forum.propose(command, forum=the_forum, programme=setup, exhibitor=exhibitor)


@command_handler
async def approve_forum(command: ApproveForum, streams: Streams) -> list[DomainEvent]:
    the_forum, setup = await _forum_and_programme(streams, command.forum_id)
    return forum.approve(command, forum=the_forum, programme=setup)


@command_handler
async def reject_forum(command: RejectForum, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams(FORUM, forum_stream(command.forum_id))
    return forum.reject(command, forum=the_forum)


@command_handler
async def schedule_forum(command: ScheduleForum, streams: Streams) -> list[DomainEvent]:
    """Schedule or reschedule: lock the room-days and speaker-days it leaves and takes."""
    the_forum, setup = await _forum_and_programme(streams, command.forum_id)
    placement = slots.placed_at(command, forum=the_forum, programme=setup)
    old_room, old_speakers = day_streams(the_forum, the_forum.placement)
    new_room, new_speakers = day_streams(the_forum, placement)
    rooms = sorted({s for s in (old_room, new_room) if s is not None})
    speakers = sorted({*old_speakers, *new_speakers})
    states = await streams.all(
        *((ROOM_DAY, s) for s in rooms), *((SPEAKER_DAY, s) for s in speakers)
    )
    return slots.schedule(
        command,
        forum=the_forum,
        placement=placement,
        programme=setup,
        room_days=dict(zip(rooms, states[: len(rooms)], strict=True)),
        speaker_days=dict(zip(speakers, states[len(rooms) :], strict=True)),
    )


@command_handler
async def publish_forum(command: PublishForum, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams(FORUM, forum_stream(command.forum_id))
    return forum.publish(command, forum=the_forum)


@command_handler
async def cancel_forum(command: CancelForum, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams(FORUM, forum_stream(command.forum_id))
    room, speakers = day_streams(the_forum, the_forum.placement)
    await streams.all(
        *([(ROOM_DAY, room)] if room is not None else []),
        *((SPEAKER_DAY, s) for s in speakers),
    )
    return slots.cancel(command, forum=the_forum)


@command_handler
async def book_sponsor_launch(command: BookSponsorLaunch, streams: Streams) -> list[DomainEvent]:
    """The request's answer stream, then the launch's forum it names (and the one booked
    before, if any), then every launch hall's day: two requests for one day (or a scheduler
    of one hall) queue on the same room-day lock."""
    request = await streams(
        SPONSOR_LAUNCH, sponsor_launch_stream(command.package_id, command.benefit_no)
    )
    the_forum = await streams(FORUM, forum_stream(sponsored.next_forum_id(request)))
    before: Forum | None = None
    if request.booked is not None:
        before = await streams.peek(FORUM, forum_stream(request.booked.forum_id))
    setup = await streams.peek(PROGRAMME, programme_stream(command.edition_code))
    exhibitor = await streams.peek(EXHIBITOR, exhibitor_stream(command.exhibitor_id))
    days = sponsored.hall_days(setup, command.edition_code, command.day)
    states = await streams.all(*((ROOM_DAY, d) for d in days)) if days else []
    return sponsored.book(
        command,
        request=request,
        booked=before,
        forum=the_forum,
        programme=setup,
        exhibitor=exhibitor,
        room_days=dict(zip(days, states, strict=True)),
    )


# --- attendance -----------------------------------------------------------------------------


async def _held(streams: Streams, forums: frozenset[str]) -> dict[str, Forum]:
    """The forums a person holds seats at, as they stand now (for the overlap rule)."""
    ids = sorted(forums)
    states = await streams.peek_all(*((FORUM, forum_stream(f)) for f in ids))
    return dict(zip(ids, states, strict=True))


async def _edition_of(streams: Streams, forum_id: str) -> str:
    """A forum's edition. A forum never changes edition, so the one this process last saw
    names it without a query."""
    seen = streams.known(FORUM, forum_stream(forum_id))
    if seen is None or not seen.edition_code:
        seen = (await streams.peek(FORUM, forum_stream(forum_id))).exists()
    return seen.edition_code


async def _seat_streams(
    streams: Streams, forum_id: str, person: str
) -> tuple[Forum, Programme, Attendance, Agenda]:
    """The forum's seats and the person's agenda (locked), with the forum and its programme
    (read after the locks, in the same round trip).

    Registrations for one forum all queue on its seats: each waits its turn in this process
    (`fairline_events.turns`, first come first served) before asking for the lock, so the
    waitlist keeps the order of arrival while the lock passes from one to the next with
    nothing to read but the last one's events."""
    edition_code = await _edition_of(streams, forum_id)
    async with turn(streams, attendance_stream(forum_id)):
        attendance, agenda, the_forum, setup = await streams.all(
            (ATTENDANCE, attendance_stream(forum_id)),
            (AGENDA, agenda_stream(edition_code, person)),
            also=[(FORUM, forum_stream(forum_id)), (PROGRAMME, programme_stream(edition_code))],
        )
    return the_forum.exists(), setup, attendance, agenda


@command_handler
async def register(command: Register, streams: Streams) -> list[DomainEvent]:
    the_forum, setup, attendance, agenda = await _seat_streams(
        streams, command.forum_id, command.person
    )
    held = await _held(streams, agenda.forums)
    return seats.register(
        command,
        forum=the_forum,
        policy=the_forum.policy(setup),
        attendance=attendance,
        agenda=agenda,
        held=held,
        now=streams.now,
    )


async def _seats_and_agenda(command: Register, streams: Streams) -> list[tuple[Fold[Any], str]]:
    """What a registration writes: the forum's seats and the person's agenda."""
    edition_code = await _edition_of(streams, command.forum_id)
    return [
        (ATTENDANCE, attendance_stream(command.forum_id)),
        (AGENDA, agenda_stream(edition_code, command.person)),
    ]


registrations = together(
    register, queue=lambda command: attendance_stream(command.forum_id), locks=_seats_and_agenda
)
"""Registrations over HTTP: those that queue for one forum's seats are decided in batches,
in arrival order, one transaction each (`fairline_events.turns.Together`): the burst of a
popular forum's opening costs one lock and one COMMIT per batch, not per registration."""


@command_handler
async def cancel_registration(command: CancelRegistration, streams: Streams) -> list[DomainEvent]:
    the_forum, setup, attendance, agenda = await _seat_streams(
        streams, command.forum_id, command.person
    )
    return seats.cancel(
        command,
        forum=the_forum,
        policy=the_forum.policy(setup),
        attendance=attendance,
        agenda=agenda,
        now=streams.now,
    )


@command_handler
async def claim_offer(command: ClaimOffer, streams: Streams) -> list[DomainEvent]:
    the_forum, _, attendance, agenda = await _seat_streams(
        streams, command.forum_id, command.person
    )
    held = await _held(streams, agenda.forums)
    return seats.claim(
        command,
        forum=the_forum,
        attendance=attendance,
        agenda=agenda,
        held=held,
        now=streams.now,
    )


@command_handler
async def lapse_offer(command: LapseOffer, streams: Streams) -> list[DomainEvent]:
    the_forum = (await streams.peek(FORUM, forum_stream(command.forum_id))).exists()
    setup = await streams.peek(PROGRAMME, programme_stream(the_forum.edition_code))
    attendance = await streams(ATTENDANCE, attendance_stream(command.forum_id))
    return seats.lapse(
        command,
        forum=the_forum,
        policy=the_forum.policy(setup),
        attendance=attendance,
        now=streams.now,
    )


@command_handler
async def check_in(command: CheckIn, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams.peek(FORUM, forum_stream(command.forum_id))
    attendance = await streams(ATTENDANCE, attendance_stream(command.forum_id))
    return seats.check_in(command, forum=the_forum, attendance=attendance)


@command_handler
async def invite(command: Invite, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams.peek(FORUM, forum_stream(command.forum_id))
    attendance = await streams(ATTENDANCE, attendance_stream(command.forum_id))
    return seats.invite(command, forum=the_forum, attendance=attendance)


@command_handler
async def revoke_invitation(command: RevokeInvitation, streams: Streams) -> list[DomainEvent]:
    the_forum, setup, attendance, agenda = await _seat_streams(
        streams, command.forum_id, command.person
    )
    return seats.revoke(
        command,
        forum=the_forum,
        policy=the_forum.policy(setup),
        attendance=attendance,
        agenda=agenda,
        now=streams.now,
    )


@command_handler
async def join(command: Join, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams.peek(FORUM, forum_stream(command.forum_id))
    attendance = await streams(ATTENDANCE, attendance_stream(command.forum_id))
    return seats.join(command, forum=the_forum, attendance=attendance, now=streams.now)


@command_handler
async def refuse_access(command: RefuseAccess, streams: Streams) -> list[DomainEvent]:
    the_forum = await streams.peek(FORUM, forum_stream(command.forum_id))
    await streams(ATTENDANCE, attendance_stream(command.forum_id))
    return seats.refuse(command, forum=the_forum)
