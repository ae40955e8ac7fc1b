"""A sponsor's launch slot (成果发布), asked by the sponsorship service for a package.

The request names the package's benefit, the sponsor's company as the exhibitors service
knows it (its application id: the forums service admits companies as organisers by that id,
`company.py`), a day and a title. The slot is a forum of kind `launch`, organised by that
company, in the first launch hall free that day between 09:00 and 18:00 (Beijing time): a
room fitting the launch kind's policy (venue, seats, equipment such as `launch-stage`),
its set-up buffer kept. It is booked by the same rules as any launch: the company must be
an approved exhibitor of the edition (`forum.propose`), the hall must fit
(`slots.placed_at`), and the room-day must be free (`slots.schedule`, on the locked
room-days). The sponsor's signed contract stands for the kind's approval chain: the
commercial team sold the slot; the forums team still publishes it when its content is ready.

One stream per requested benefit (`sponsor-launch-<package>:<benefit>`) holds the answer,
`SponsorLaunchBooked` or `SponsorLaunchRefused` (with the rules' own reason), per attempt,
answered once by the core's `fairline_events.answers.answer_once`: a redelivered request
finds its answer and changes nothing; a new attempt after a refusal is decided afresh; once
booked, nothing is booked again while that launch stands. Once the forums team cancels it,
the sponsorship desk withdraws the benefit and may ask again: that later attempt is booked
afresh, as a new launch forum (`launch_forum_id`, numbered by the launches booked before it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from fairline_events.answers import answer_once
from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from . import forum as forums
from . import slots
from .commands import BookSponsorLaunch, OrganiserInput, ProposeForum, ScheduleForum
from .company import Exhibitor
from .events import ForumApproved, SponsorLaunchBooked, SponsorLaunchRefused
from .forum import Forum, Placement
from .programme import Programme, Room
from .slots import Day, room_day_stream
from .values import FAIR_TIME, overlaps

LAUNCH = "launch"
"""The kind a sponsor's launch slot is booked as."""
OPENS, CLOSES = time(9), time(18)
"""A launch slot runs inside the fair's day, Beijing time."""
STEP = timedelta(minutes=15)
"""Slots start on the quarter hour."""


@dataclass(frozen=True)
class SponsorLaunch:
    package_id: str
    benefit_no: int
    booked: SponsorLaunchBooked | None = None
    """The latest launch booked."""
    launches: int = 0
    """How many launches were booked (a cancelled one may be followed by another)."""
    refused: frozenset[int] = frozenset()
    """The attempts refused (a later attempt is decided afresh)."""


def sponsor_launch_stream(package_id: str, benefit_no: int) -> str:
    return f"sponsor-launch-{package_id}:{benefit_no}"


def _initial(stream_id: str) -> SponsorLaunch:
    package_id, _, number = stream_id.removeprefix("sponsor-launch-").rpartition(":")
    return SponsorLaunch(package_id=package_id, benefit_no=int(number))


def _evolve(state: SponsorLaunch, event: DomainEvent) -> SponsorLaunch:
    match event:
        case SponsorLaunchBooked():
            return replace(state, booked=event, launches=state.launches + 1)
        case SponsorLaunchRefused():
            return replace(state, refused=state.refused | {event.attempt})
    return state


SPONSOR_LAUNCH: Fold[SponsorLaunch] = Fold(_initial, _evolve)


def launch_forum_id(package_id: str, benefit_no: int, booked_before: int = 0) -> str:
    """The launch's forum id, readable when it fits an id (64 characters); the first launch
    of a benefit has none of the count of launches booked before it."""
    later = f"-{booked_before + 1}" if booked_before else ""
    readable = f"sponsor-{package_id}-{benefit_no}{later}"
    if len(readable) <= 64:
        return readable
    digest = hashlib.sha256(f"{package_id}:{benefit_no}".encode()).hexdigest()[:32]
    return f"sponsor-{digest}{later}"


def next_forum_id(request: SponsorLaunch) -> str:
    """The forum a booking of this request makes."""
    return launch_forum_id(request.package_id, request.benefit_no, request.launches)


def launch_halls(programme: Programme) -> list[Room]:
    """The rooms a launch fits, by code (none when the edition has no launch kind)."""
    versions = programme.policies.get(LAUNCH)
    if not versions:
        return []
    policy = versions[max(versions)]
    return [room for code, room in sorted(programme.rooms.items()) if not policy.unfit(room)]


def hall_days(programme: Programme, edition_code: str, day: date) -> list[str]:
    """The room-days a booking on `day` may take: the plan locks them all."""
    return [room_day_stream(edition_code, room.code, day) for room in launch_halls(programme)]


def book(
    command: BookSponsorLaunch,
    *,
    request: SponsorLaunch,
    booked: Forum | None,
    forum: Forum,
    programme: Programme,
    exhibitor: Exhibitor,
    room_days: Mapping[str, Day],
) -> list[DomainEvent]:
    """Book the launch, or record why not: either way, the sponsorship service gets an answer.
    `booked` is the launch booked last (None before any), `forum` the one this would book."""
    return answer_once(
        command.attempt,
        refused=request.refused,
        granted=request.booked.attempt if request.booked is not None else 0,
        standing=booked is None or booked.status != "cancelled",
        grant=lambda: _book(command, forum=forum, programme=programme, exhibitor=exhibitor,
                            room_days=room_days),
        refuse=lambda reason, code: SponsorLaunchRefused(
            package_id=command.package_id, benefit_no=command.benefit_no,
            attempt=command.attempt, exhibitor_id=command.exhibitor_id,
            reason=reason, code=code,
        ),
    )  # fmt: skip


def _book(
    command: BookSponsorLaunch,
    *,
    forum: Forum,
    programme: Programme,
    exhibitor: Exhibitor,
    room_days: Mapping[str, Day],
) -> list[DomainEvent]:
    company = exhibitor.name_en or command.sponsor_name
    proposal = ProposeForum(
        forum_id=forum.forum_id, edition_code=command.edition_code, kind=LAUNCH,
        title_zh=command.title_zh, title_en=command.title_en,
        summary=f"Launch slot of {command.sponsor_name}'s sponsorship package"
                f" {command.package_id}",
        organiser=OrganiserInput(kind="company", name_zh=exhibitor.name_zh or company,
                                 name_en=company, exhibitor_id=command.exhibitor_id),
        # the company's own staff organise it (invitations, attendee list), as if proposed
        by=exhibitor.applicant or f"sponsorship:{command.package_id}",
        on_behalf=True,
    )  # fmt: skip
    events = forums.propose(proposal, forum=forum, programme=programme, exhibitor=exhibitor)
    events.append(
        ForumApproved(forum_id=forum.forum_id, policy_version=programme.current(LAUNCH).version)
    )
    approved = forum
    for event in events:
        approved = forums.evolve(approved, event)
    placement = first_free(command, forum=approved, programme=programme, room_days=room_days)
    assert placement.room_code is not None and placement.venue is not None
    schedule = ScheduleForum(
        forum_id=forum.forum_id, format="in_person", room_code=placement.room_code,
        starts_at=placement.starts_at, ends_at=placement.ends_at,
        reason=f"launch slot of sponsorship package {command.package_id}",
    )  # fmt: skip
    events += slots.schedule(schedule, forum=approved, placement=placement, programme=programme,
                             room_days=room_days, speaker_days={})  # fmt: skip
    booked = SponsorLaunchBooked(
        package_id=command.package_id, benefit_no=command.benefit_no,
        attempt=command.attempt, exhibitor_id=command.exhibitor_id, forum_id=forum.forum_id,
        room_code=placement.room_code, venue=placement.venue,
        starts_at=placement.starts_at, ends_at=placement.ends_at,
    )  # fmt: skip
    return [*events, booked]


def first_free(
    command: BookSponsorLaunch, *, forum: Forum, programme: Programme, room_days: Mapping[str, Day]
) -> Placement:
    """The earliest quarter hour of the day at which a launch hall is free for the launch's
    length with its set-up buffer either side (halls by code when several are free)."""
    halls = launch_halls(programme)
    if not halls:
        raise DomainError(
            f"edition {command.edition_code} has no launch hall (a room fitting the launch"
            " kind's venues, seats and equipment)",
            code="no_launch_hall",
        )
    length = timedelta(minutes=forum.minutes)
    starts = datetime.combine(command.day, OPENS, FAIR_TIME)
    closes = datetime.combine(command.day, CLOSES, FAIR_TIME)
    while starts + length <= closes:
        for room in halls:
            day = room_days[room_day_stream(command.edition_code, room.code, command.day)]
            taken = day.others(forum.forum_id)
            ends = starts + length
            if not any(
                overlaps(starts, ends, b.starts_at, b.ends_at, room.setup_buffer) for b in taken
            ):
                wanted = ScheduleForum(forum_id=forum.forum_id, format="in_person",
                                       room_code=room.code, starts_at=starts, ends_at=ends,
                                       reason="launch slot")  # fmt: skip
                return slots.placed_at(wanted, forum=forum, programme=programme)
        starts += STEP
    raise Conflict(
        f"every launch hall of {command.edition_code} is taken on {command.day.isoformat()}"
        f" from {OPENS:%H:%M} to {CLOSES:%H:%M} for a {forum.minutes}-minute launch"
        f" ({', '.join(room.code for room in halls)})",
        code="no_launch_slot_free",
        day=command.day.isoformat(),
        halls=[room.code for room in halls],
    )
