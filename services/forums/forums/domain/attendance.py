"""Who attends a forum: seats, the waitlist, offers, invitations, check-in and online joins.

Seats: a forum seats its capacity; seats held by offers count as taken. Past capacity, a
person joins the waitlist (if the kind's policy keeps one) in arrival order: the order in
which registrations reach this stream's lock. A freed seat is offered to the head of the
line for the kind's claim window; claimed, it is theirs; unclaimed, it passes on (the
offer-lapse job). Nobody jumps the line: while anyone waits, a newcomer waits too.

Closed-door meetings (闭门会议, access `invitation`): only invitees register, see their link
or join; an invitation is bound to the invited person's identity (the caller's verified
subject), so a forwarded link is refused; a revoked invitee loses their seat and their link.
Every access decision is an event with who and why: `Invited`, `InvitationRevoked`,
`Joined`, `AccessRefused`. A refusal is appended and then answered as a 403: see
`refusal(...)`.

Join links: each seat gets a `link_serial`; the link the API hands out signs
(forum, person, serial), so it identifies its holder, and a new seat (after a cancellation
or a revocation) makes every earlier link of the person useless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent

from .agenda import Agenda, give_seat, take_seat
from .commands import (
    CancelRegistration,
    CheckIn,
    ClaimOffer,
    Invite,
    Join,
    LapseOffer,
    RefuseAccess,
    Register,
    RevokeInvitation,
)
from .events import (
    AccessRefused,
    CheckedIn,
    InvitationRevoked,
    Invited,
    Joined,
    OfferClaimed,
    OfferLapsed,
    RegistrationCancelled,
    SeatOffered,
    SeatRegistered,
    Waitlisted,
)
from .forum import Forum
from .programme import KindPolicy


@dataclass(frozen=True)
class Attendance:
    forum_id: str
    seats: dict[str, int] = field(default_factory=dict)
    """Who holds a seat, and the serial of their join link."""
    waitlist: tuple[str, ...] = ()
    offers: dict[str, datetime] = field(default_factory=dict)
    """Who is offered a freed seat, until when."""
    checked_in: frozenset[str] = frozenset()
    invited: frozenset[str] = frozenset()
    revoked: frozenset[str] = frozenset()
    serials: dict[str, int] = field(default_factory=dict)

    @property
    def taken(self) -> int:
        return len(self.seats) + len(self.offers)

    def standing(self, person: str) -> str | None:
        if person in self.seats:
            return "registered"
        if person in self.offers:
            return "offered"
        if person in self.waitlist:
            return "waitlisted"
        return None

    def next_serial(self, person: str) -> int:
        return self.serials.get(person, 0) + 1


def attendance_stream(forum_id: str) -> str:
    return f"attendance-{forum_id}"


def initial(stream_id: str) -> Attendance:
    return Attendance(forum_id=stream_id.removeprefix("attendance-"))


def _without(attendance: Attendance, person: str) -> Attendance:
    return replace(
        attendance,
        seats={p: s for p, s in attendance.seats.items() if p != person},
        offers={p: t for p, t in attendance.offers.items() if p != person},
        waitlist=tuple(p for p in attendance.waitlist if p != person),
    )


def evolve(attendance: Attendance, event: DomainEvent) -> Attendance:
    match event:
        case SeatRegistered() | OfferClaimed():
            a = _without(attendance, event.person)
            return replace(
                a,
                seats={**a.seats, event.person: event.link_serial},
                serials={**a.serials, event.person: event.link_serial},
            )
        case Waitlisted():
            return replace(attendance, waitlist=(*attendance.waitlist, event.person))
        case SeatOffered():
            a = _without(attendance, event.person)
            return replace(a, offers={**a.offers, event.person: event.claim_until})
        case OfferLapsed() | RegistrationCancelled():
            return _without(attendance, event.person)
        case CheckedIn():
            return replace(attendance, checked_in=attendance.checked_in | {event.person})
        case Invited():
            return replace(
                attendance,
                invited=attendance.invited | {event.person},
                revoked=attendance.revoked - {event.person},
            )
        case InvitationRevoked():
            return replace(
                attendance,
                invited=attendance.invited - {event.person},
                revoked=attendance.revoked | {event.person},
            )
    return attendance


ATTENDANCE: Fold[Attendance] = Fold(initial, evolve)


def refusal(events: Sequence[DomainEvent]) -> AccessRefused | None:
    """The refusal a decision recorded, which the caller then answers with a 403."""
    return next((e for e in events if isinstance(e, AccessRefused)), None)


def refused_error(refused: AccessRefused) -> Forbidden:
    return Forbidden(
        f"{refused.why}; access to forum {refused.forum_id} is refused and recorded",
        code="access_refused",
        action=refused.action,
        why=refused.why,
    )


def _refuse(forum_id: str, person: str, action: str, why: str) -> list[DomainEvent]:
    return [AccessRefused(forum_id=forum_id, person=person, action=action, why=why)]


def _closed_to(forum: Forum, attendance: Attendance, person: str) -> str | None:
    """Why a closed-door forum keeps `person` out (None: it does not)."""
    if forum.access != "invitation" or person in attendance.invited:
        return None
    if person in attendance.revoked:
        return "the invitation was revoked"
    return "the meeting is by invitation only"


def _open(forum: Forum, now: datetime) -> None:
    forum.exists()
    if not forum.live or not forum.published or forum.placement is None:
        raise Conflict(
            f"forum {forum.forum_id} is not open for registration (it is {forum.status}"
            + ("" if forum.published else ", not published")
            + ")",
            code="not_open",
            status=forum.status,
        )
    if forum.placement.ends_at <= now:
        raise Conflict(f"forum {forum.forum_id} is over", code="forum_over")


def register(
    command: Register,
    *,
    forum: Forum,
    policy: KindPolicy,
    attendance: Attendance,
    agenda: Agenda,
    held: Mapping[str, Forum],
    now: datetime,
) -> list[DomainEvent]:
    _open(forum, now)
    assert forum.placement is not None
    person = command.person
    if why := _closed_to(forum, attendance, person):
        return _refuse(forum.forum_id, person, "register", why)
    if standing := attendance.standing(person):
        raise Conflict(
            f"you are already {standing} for forum {forum.forum_id}",
            code="already_registered",
            standing=standing,
        )
    if attendance.taken < forum.placement.capacity and not attendance.waitlist:
        seat = take_seat(
            agenda=agenda, forum=forum, held=held, confirm_overlap=command.confirm_overlap
        )
        serial = attendance.next_serial(person)
        return [SeatRegistered(forum_id=forum.forum_id, person=person, link_serial=serial), seat]
    if not policy.waitlist:
        raise Conflict(
            f"forum {forum.forum_id} is full and keeps no waitlist",
            code="full",
            capacity=forum.placement.capacity,
        )
    position = len(attendance.waitlist) + 1
    return [Waitlisted(forum_id=forum.forum_id, person=person, position=position)]


def _offer_next(
    attendance: Attendance, *, forum: Forum, policy: KindPolicy, freed: int, now: datetime
) -> list[DomainEvent]:
    """Offer seats freed (`freed` of them, beyond those taken) to the head of the line."""
    if not forum.live or forum.placement is None:
        return []
    free = forum.placement.capacity - (attendance.taken - freed)
    return [
        SeatOffered(forum_id=forum.forum_id, person=p, claim_until=now + policy.claim_window)
        for p in attendance.waitlist[: max(free, 0)]
    ]


def cancel(
    command: CancelRegistration,
    *,
    forum: Forum,
    policy: KindPolicy,
    attendance: Attendance,
    agenda: Agenda,
    now: datetime,
) -> list[DomainEvent]:
    """Give up a seat, an offer or a place in line; a freed seat goes to the first in line."""
    person = command.person
    standing = attendance.standing(person)
    if standing is None:
        raise NotFound(
            f"you hold no seat, offer or place in line at forum {forum.forum_id}",
            code="not_registered",
        )
    cancelled = RegistrationCancelled(forum_id=forum.forum_id, person=person, reason=command.reason)
    if standing == "waitlisted":
        return [cancelled]
    freed = _offer_next(attendance, forum=forum, policy=policy, freed=1, now=now)
    return [cancelled, *give_seat(agenda=agenda, forum_id=forum.forum_id), *freed]


def claim(
    command: ClaimOffer,
    *,
    forum: Forum,
    attendance: Attendance,
    agenda: Agenda,
    held: Mapping[str, Forum],
    now: datetime,
) -> list[DomainEvent]:
    person = command.person
    until = attendance.offers.get(person)
    if until is None:
        raise Conflict(
            f"no seat of forum {forum.forum_id} is offered to you",
            code="no_offer",
            standing=attendance.standing(person),
        )
    if until <= now:
        raise Conflict(
            f"the offer lapsed at {until.isoformat()}; it passes to the next in line",
            code="offer_lapsed",
        )
    _open(forum, now)
    seat = take_seat(agenda=agenda, forum=forum, held=held, confirm_overlap=command.confirm_overlap)
    serial = attendance.next_serial(person)
    return [OfferClaimed(forum_id=forum.forum_id, person=person, link_serial=serial), seat]


def lapse(
    command: LapseOffer,
    *,
    forum: Forum,
    policy: KindPolicy,
    attendance: Attendance,
    now: datetime,
) -> list[DomainEvent]:
    """An unclaimed offer passes on; one not yet due, or already gone, changes nothing."""
    until = attendance.offers.get(command.person)
    if until is None or until > now:
        return []
    lapsed = OfferLapsed(forum_id=forum.forum_id, person=command.person)
    return [lapsed, *_offer_next(attendance, forum=forum, policy=policy, freed=1, now=now)]


def check_in(command: CheckIn, *, forum: Forum, attendance: Attendance) -> list[DomainEvent]:
    forum.exists()
    if not forum.live or forum.placement is None or forum.placement.format == "online":
        raise Conflict(f"forum {forum.forum_id} has no door to check in at", code="no_door")
    if command.person in attendance.checked_in:
        return []
    if command.person not in attendance.seats:
        raise Conflict(
            f"{command.person} holds no seat at forum {forum.forum_id}",
            code="not_registered",
            standing=attendance.standing(command.person),
        )
    return [CheckedIn(forum_id=forum.forum_id, person=command.person, by=command.by)]


def _require_host(forum: Forum, *, by: str, as_team: bool) -> None:
    if not as_team and not forum.is_organised_by(by):
        raise Forbidden(
            f"only the forums team and forum {forum.forum_id}'s organiser manage its invitations",
            code="not_the_organiser",
        )


def invite(command: Invite, *, forum: Forum, attendance: Attendance) -> list[DomainEvent]:
    forum.exists()
    _require_host(forum, by=command.by, as_team=command.as_team)
    if forum.access != "invitation":
        raise DomainError(
            f"forum {forum.forum_id} is {forum.access}, not by invitation",
            code="not_closed_door",
        )
    if forum.status in ("cancelled", "rejected"):
        raise Conflict(f"forum {forum.forum_id} is {forum.status}", code="already_closed")
    if command.person in attendance.invited:
        return []
    return [Invited(forum_id=forum.forum_id, person=command.person, by=command.by, why=command.why)]


def revoke(
    command: RevokeInvitation,
    *,
    forum: Forum,
    policy: KindPolicy,
    attendance: Attendance,
    agenda: Agenda,
    now: datetime,
) -> list[DomainEvent]:
    """Revoke an invitation: the seat, the offer or the place in line go with it."""
    _require_host(forum, by=command.by, as_team=command.as_team)
    person = command.person
    if person not in attendance.invited:
        raise NotFound(f"{person} is not invited to forum {forum.forum_id}", code="not_invited")
    events: list[DomainEvent] = [
        InvitationRevoked(forum_id=forum.forum_id, person=person, by=command.by, why=command.why)
    ]
    if attendance.standing(person) is not None:
        because = CancelRegistration(
            forum_id=forum.forum_id, person=person, reason=f"invitation revoked: {command.why}"
        )
        events += cancel(
            because, forum=forum, policy=policy, attendance=attendance, agenda=agenda, now=now
        )
    return events


def join(
    command: Join, *, forum: Forum, attendance: Attendance, now: datetime
) -> list[DomainEvent]:
    """Let the caller in with a link, or record why not."""
    forum.exists()
    if not forum.live or forum.placement is None or forum.placement.format == "in_person":
        raise Conflict(f"forum {forum.forum_id} has no online room", code="not_online")
    caller = command.caller

    def no(why: str) -> list[DomainEvent]:
        return _refuse(forum.forum_id, caller, "join", why)

    if command.link_person is None:
        return no("the link is not a valid join link")
    if command.link_person != caller:
        return no("the link was issued to another person and cannot be forwarded")
    if why := _closed_to(forum, attendance, caller):
        return no(why)
    serial = attendance.seats.get(caller)
    if serial is None:
        return no("you hold no seat at this forum")
    if serial != command.link_serial:
        return no("the link was replaced; ask for your current link")
    return [Joined(forum_id=forum.forum_id, person=caller, link_serial=serial)]


def refuse(command: RefuseAccess, *, forum: Forum) -> list[DomainEvent]:
    forum.exists()
    return _refuse(forum.forum_id, command.person, command.action, command.why)


def link_allowed(forum: Forum, attendance: Attendance, person: str) -> int | None:
    """The serial of `person`'s join link, if they may have one (None: no link for them)."""
    if forum.placement is None or forum.placement.format == "in_person":
        return None
    if _closed_to(forum, attendance, person) is not None:
        return None
    return attendance.seats.get(person)
