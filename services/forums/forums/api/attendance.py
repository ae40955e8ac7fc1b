"""Seats: register, the waitlist and its offers, cancel, check in; closed-door invitations;
personal join links and joining online. The person is always the signed-in caller."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fairline_events.dependencies import Body
from fairline_events.errors import NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Outcome
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel

from ..domain.attendance import (
    ATTENDANCE,
    Attendance,
    attendance_stream,
    link_allowed,
    refusal,
    refused_error,
)
from ..domain.commands import (
    CancelRegistration,
    CheckIn,
    ClaimOffer,
    Invite,
    Join,
    RefuseAccess,
    Register,
    RevokeInvitation,
)
from ..domain.forum import FORUM, Forum, forum_stream
from ..domain.values import PRINTABLE, Identifier, Reason
from ..handlers import (
    cancel_registration,
    check_in,
    claim_offer,
    invite,
    join,
    refuse_access,
    registrations,
    revoke_invitation,
)
from .common import AsAnyone, AsTeam, Team, is_team, join_link, read_link

router = APIRouter(tags=["attendance"])

ForumId = Path(description="the forum's id", max_length=64, pattern=PRINTABLE)


class RegistrationView(BaseModel):
    forum_id: str
    person: str
    standing: str | None
    """registered, offered, waitlisted, or none."""
    position: int | None = None
    """Place in the waitlist, 1 for the next to be offered a seat."""
    claim_until: datetime | None = None
    join_link: str | None = None
    """Online and hybrid forums: the caller's own link; it lets only them in."""


def _answered(outcome: Outcome) -> Outcome:
    """A refusal the rules recorded (an access decision is an event) answers 403."""
    if (refused := refusal(outcome.events)) is not None:
        raise refused_error(refused)
    return outcome


def registration_view(
    request: Request, forum: Forum, attendance: Attendance, person: str
) -> RegistrationView:
    standing = attendance.standing(person)
    serial = link_allowed(forum, attendance, person)
    return RegistrationView(
        forum_id=forum.forum_id,
        person=person,
        standing=standing,
        position=(attendance.waitlist.index(person) + 1 if person in attendance.waitlist else None),
        claim_until=attendance.offers.get(person),
        join_link=(
            join_link(request, forum.forum_id, person, serial) if serial is not None else None
        ),
    )


async def _seen(store: EventStore, forum_id: str) -> tuple[Forum, Attendance]:
    """The forum and its attendance as they stand (a query: nothing is locked)."""
    forum, _ = await store.load(
        forum_stream(forum_id), FORUM.evolve, FORUM.initial(forum_stream(forum_id))
    )
    stream = attendance_stream(forum_id)
    attendance, _ = await store.load(stream, ATTENDANCE.evolve, ATTENDANCE.initial(stream))
    return forum.exists(), attendance


def _after(request: Request, outcome: Outcome, forum_id: str, person: str) -> RegistrationView:
    attendance = outcome.state(attendance_stream(forum_id), Attendance)
    forum = outcome.states.get(forum_stream(forum_id))
    assert isinstance(forum, Forum)
    return registration_view(request, forum, attendance, person)


class RegisterRequest(Body):
    confirm_overlap: bool = False
    """Hold this seat even though it overlaps another seat of yours."""


@router.post(
    "/forums/{forum_id}/registrations",
    status_code=201,
    summary="Register the caller: a seat, or a place in the waitlist when full",
    description=(
        "409 `overlapping_seat` names the caller's other forum at the same time; send"
        " confirm_overlap to hold both. Closed-door meetings: only invitees (403 otherwise,"
        " recorded as an access decision)."
    ),
)
async def register_me(
    request: Request,
    body: RegisterRequest,
    acting: AsAnyone,
    forum_id: str = ForumId,
) -> RegistrationView:
    command = Register(
        forum_id=forum_id, person=acting.who.subject, confirm_overlap=body.confirm_overlap
    )
    outcome = _answered(await registrations(acting.store, command, acting.context))
    return _after(request, outcome, forum_id, acting.who.subject)


class CancelRequest(Body):
    reason: Reason = "cancelled by the attendee"


@router.post(
    "/forums/{forum_id}/registrations/cancel",
    summary="Give up the caller's seat, offer or place in line; a seat goes to the next",
)
async def cancel_mine(
    request: Request,
    body: CancelRequest,
    acting: AsAnyone,
    forum_id: str = ForumId,
) -> RegistrationView:
    command = CancelRegistration(forum_id=forum_id, person=acting.who.subject, reason=body.reason)
    outcome = await cancel_registration(acting.store, command, acting.context.because(body.reason))
    return _after(request, outcome, forum_id, acting.who.subject)


@router.post(
    "/forums/{forum_id}/registrations/claim",
    summary="Claim the seat offered to the caller, within the claim window",
)
async def claim_mine(
    request: Request,
    body: RegisterRequest,
    acting: AsAnyone,
    forum_id: str = ForumId,
) -> RegistrationView:
    command = ClaimOffer(
        forum_id=forum_id, person=acting.who.subject, confirm_overlap=body.confirm_overlap
    )
    outcome = await claim_offer(acting.store, command, acting.context)
    return _after(request, outcome, forum_id, acting.who.subject)


@router.get(
    "/forums/{forum_id}/registrations/me",
    summary="The caller's standing at a forum, with their own join link",
)
async def mine(request: Request, acting: AsAnyone, forum_id: str = ForumId) -> RegistrationView:
    forum, attendance = await _seen(acting.store, forum_id)
    return registration_view(request, forum, attendance, acting.who.subject)


@router.get(
    "/forums/{forum_id}/join-link",
    summary="The caller's personal join link (online and hybrid forums; never anyone else's)",
)
async def my_link(request: Request, acting: AsAnyone, forum_id: str = ForumId) -> dict[str, str]:
    forum, attendance = await _seen(acting.store, forum_id)
    serial = link_allowed(forum, attendance, acting.who.subject)
    if serial is None:
        if forum.access == "invitation" and acting.who.subject not in attendance.invited:
            why = "asked for the link of a meeting by invitation only"
            command = RefuseAccess(
                forum_id=forum_id, person=acting.who.subject, action="see_link", why=why
            )
            await refuse_access(acting.store, command, acting.context)
            raise NotFound(f"no forum {forum_id}", code="unknown_forum")
        raise NotFound(
            f"you hold no seat with a join link at forum {forum_id}; register first",
            code="no_link",
        )
    return {
        "forum_id": forum_id,
        "join_link": join_link(request, forum_id, acting.who.subject, serial),
    }


@router.post(
    "/forums/{forum_id}/join",
    summary="Join the online room with the caller's own link",
    description="A link issued to someone else, revoked or replaced is refused (403) and the"
    " refusal recorded.",
)
async def join_online(
    request: Request,
    acting: AsAnyone,
    forum_id: str = ForumId,
    link: str = Query(
        max_length=400, pattern=PRINTABLE, description="the `link` parameter of the join link"
    ),
) -> dict[str, Any]:
    person, serial = read_link(request, forum_id, link)
    command = Join(
        forum_id=forum_id, caller=acting.who.subject, link_person=person, link_serial=serial
    )
    _answered(await join(acting.store, command, acting.context))
    return {"forum_id": forum_id, "person": acting.who.subject, "joined": True}


class CheckInRequest(Body):
    person: Identifier


@router.post(
    "/forums/{forum_id}/check-ins",
    summary="Check a registered person in at the door (forums team)",
)
async def check_in_at_door(
    body: CheckInRequest, acting: AsTeam, forum_id: str = ForumId
) -> dict[str, Any]:
    command = CheckIn(forum_id=forum_id, person=body.person, by=acting.who.subject)
    await check_in(acting.store, command, acting.context)
    return {"forum_id": forum_id, "person": body.person, "checked_in": True}


class InvitationRequest(Body):
    person: Identifier
    why: Reason


@router.post(
    "/forums/{forum_id}/invitations",
    status_code=201,
    summary="Invite a person to a closed-door meeting (forums team or the organiser)",
    tags=["closed-door"],
)
async def invite_person(
    body: InvitationRequest, acting: AsAnyone, forum_id: str = ForumId
) -> dict[str, Any]:
    command = Invite(
        forum_id=forum_id,
        person=body.person,
        by=acting.who.subject,
        why=body.why,
        as_team=is_team(acting.who),
    )
    await invite(acting.store, command, acting.context.because(body.why))
    return {"forum_id": forum_id, "person": body.person, "invited": True}


class RevocationRequest(Body):
    why: Reason


@router.post(
    "/forums/{forum_id}/invitations/{person}/revoke",
    summary="Revoke an invitation: the seat and the join link go with it",
    tags=["closed-door"],
)
async def revoke_person(
    body: RevocationRequest,
    acting: AsAnyone,
    forum_id: str = ForumId,
    person: str = Path(max_length=64, pattern=PRINTABLE),
) -> dict[str, Any]:
    command = RevokeInvitation(
        forum_id=forum_id,
        person=person,
        by=acting.who.subject,
        why=body.why,
        as_team=is_team(acting.who),
    )
    await revoke_invitation(acting.store, command, acting.context.because(body.why))
    return {"forum_id": forum_id, "person": person, "invited": False}


__all__ = ["Team", "router"]
