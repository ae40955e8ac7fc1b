"""Every event of the forums service: plain data, each naming the stream it belongs to.

Streams, and why they are cut this way (the invariants hold because a command locks every
stream whose rule it checks):
- `programme-<edition>`: the edition's rooms and the kinds' versioned policies.
- `exhibitor-<application>`: an exhibitor as the exhibitors service approved it (a policy).
- `forum-<id>`: one forum of any of the six kinds, from proposal to publication.
- `room-<edition>:<room>:<day>`: what a room holds on one day; scheduling locks it, so two
  schedulers of one room queue and the second sees the first's booking.
- `speaker-<edition>:<speaker>:<day>`: where a speaker is on one day, for the same reason.
- `attendance-<forum>`: seats, waitlist, offers, invitations and every access decision.
- `agenda-<edition>:<person>`: the seats one person holds, for the overlap rule.

Each `stream_id` imports its aggregate's naming when called: the aggregates import these
events, so naming lives beside each aggregate and events only ask for it.
"""

from __future__ import annotations

from datetime import date, datetime

from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from .values import Access, Format, OrganiserKind, Place, Venue

registry = EventRegistry()


class ForumsEvent(DomainEvent):
    def stream_id(self) -> str:
        raise NotImplementedError


class Speaker(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    speaker_id: str
    name: str


class Organiser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: OrganiserKind
    name_zh: str
    name_en: str
    exhibitor_id: str | None = None
    """For a company: its application at the exhibitors service (an approved exhibitor)."""


# --- the edition's programme: rooms and kinds ------------------------------------------------


class ProgrammeEvent(ForumsEvent):
    edition_code: str

    def stream_id(self) -> str:
        from .programme import programme_stream

        return programme_stream(self.edition_code)


@registry.event("forums.RoomAdded", version=1)
class RoomAdded(ProgrammeEvent):
    """A room at a venue, with its seats and the set-up time it needs between two forums."""

    room_code: str
    venue: Venue
    name_zh: str
    name_en: str
    capacity: int
    setup_buffer_minutes: int
    equipment: list[str]


@registry.event("forums.KindPolicySet", version=1)
class KindPolicySet(ProgrammeEvent):
    """Version `version` of a kind's policy; forums approved under an earlier one keep it."""

    kind: str
    version: int
    name_zh: str
    name_en: str
    default_minutes: int
    min_capacity: int
    venues: list[Venue]
    equipment: list[str]
    formats: list[Format]
    approval_chain: list[str]
    access: Access
    waitlist: bool
    claim_window_minutes: int
    online_capacity: int


# --- exhibitors, as the exhibitors service approved them ------------------------------------


class ExhibitorEvent(ForumsEvent):
    exhibitor_id: str

    def stream_id(self) -> str:
        from .company import exhibitor_stream

        return exhibitor_stream(self.exhibitor_id)


@registry.event("forums.ExhibitorApproved", version=1)
class ExhibitorApproved(ExhibitorEvent):
    """Learnt from `exhibitors.ApplicationApproved`: the company may organise at the edition."""

    edition_code: str
    applicant: str
    name_zh: str
    name_en: str


@registry.event("forums.ExhibitorWithdrawn", version=1)
class ExhibitorWithdrawn(ExhibitorEvent):
    """Learnt from `exhibitors.ApplicationWithdrawn`: no new proposals from the company."""

    reason: str


# --- a forum, from proposal to publication --------------------------------------------------


class ForumEvent(ForumsEvent):
    forum_id: str

    def stream_id(self) -> str:
        from .forum import forum_stream

        return forum_stream(self.forum_id)


@registry.event("forums.ForumProposed", version=1)
class ForumProposed(ForumEvent):
    edition_code: str
    kind: str
    title_zh: str
    title_en: str
    summary: str
    topics: list[str]
    language: str
    organiser: Organiser
    proposed_by: str
    speakers: list[Speaker]
    access: Access
    minutes: int


@registry.event("forums.ForumApprovalGiven", version=1)
class ForumApprovalGiven(ForumEvent):
    """One step of the kind's approval chain, given by someone holding its role."""

    step: int
    role: str
    by: str


@registry.event("forums.ForumApproved", version=1)
class ForumApproved(ForumEvent):
    """The whole chain approved: the forum keeps `policy_version` from now on."""

    policy_version: int


@registry.event("forums.ForumRejected", version=1)
class ForumRejected(ForumEvent):
    by: str
    reason: str


class Placement(ForumEvent):
    edition_code: str
    format: Format
    venue: Venue | None
    room_code: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int
    reason: str


@registry.event("forums.ForumScheduled", version=1)
class ForumScheduled(Placement):
    """Placed in a room at a venue, online, or both."""


@registry.event("forums.ForumRescheduled", version=1)
class ForumRescheduled(Placement):
    """Moved to another time or room; registrations stand."""


@registry.event("forums.ForumPublished", version=1)
class ForumPublished(ForumEvent):
    """On the public agenda. Carries what an exhibitor's booth page shows of a launch."""

    edition_code: str
    kind: str
    title_zh: str
    title_en: str
    organiser: Organiser
    format: Format
    venue: Venue | None
    room_code: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str


@registry.event("forums.ForumCancelled", version=1)
class ForumCancelled(ForumEvent):
    edition_code: str
    reason: str


# --- a room's day and a speaker's day -------------------------------------------------------


class RoomDayEvent(ForumsEvent):
    edition_code: str
    room_code: str
    day: date
    forum_id: str

    def stream_id(self) -> str:
        from .slots import room_day_stream

        return room_day_stream(self.edition_code, self.room_code, self.day)


@registry.event("forums.RoomBooked", version=1)
class RoomBooked(RoomDayEvent):
    title: str
    starts_at: datetime
    ends_at: datetime


@registry.event("forums.RoomFreed", version=1)
class RoomFreed(RoomDayEvent):
    pass


class SpeakerDayEvent(ForumsEvent):
    edition_code: str
    speaker_id: str
    day: date
    forum_id: str

    def stream_id(self) -> str:
        from .slots import speaker_day_stream

        return speaker_day_stream(self.edition_code, self.speaker_id, self.day)


@registry.event("forums.SpeakerBooked", version=1)
class SpeakerBooked(SpeakerDayEvent):
    title: str
    place: Place
    starts_at: datetime
    ends_at: datetime


@registry.event("forums.SpeakerFreed", version=1)
class SpeakerFreed(SpeakerDayEvent):
    pass


# --- attendance: seats, waitlist, invitations, access ---------------------------------------


class AttendanceEvent(ForumsEvent):
    forum_id: str
    person: str

    def stream_id(self) -> str:
        from .attendance import attendance_stream

        return attendance_stream(self.forum_id)


@registry.event("forums.SeatRegistered", version=1)
class SeatRegistered(AttendanceEvent):
    """A seat is the person's; `link_serial` numbers their personal join link."""

    link_serial: int


@registry.event("forums.Waitlisted", version=1)
class Waitlisted(AttendanceEvent):
    position: int


@registry.event("forums.SeatOffered", version=1)
class SeatOffered(AttendanceEvent):
    """A freed seat held for the first in line until `claim_until`."""

    claim_until: datetime


@registry.event("forums.OfferClaimed", version=1)
class OfferClaimed(AttendanceEvent):
    link_serial: int


@registry.event("forums.OfferLapsed", version=1)
class OfferLapsed(AttendanceEvent):
    pass


@registry.event("forums.RegistrationCancelled", version=1)
class RegistrationCancelled(AttendanceEvent):
    """A seat, an offer or a place in line given up (or taken away with an invitation)."""

    reason: str


@registry.event("forums.CheckedIn", version=1)
class CheckedIn(AttendanceEvent):
    by: str


@registry.event("forums.Invited", version=1)
class Invited(AttendanceEvent):
    by: str
    why: str


@registry.event("forums.InvitationRevoked", version=1)
class InvitationRevoked(AttendanceEvent):
    by: str
    why: str


@registry.event("forums.Joined", version=1)
class Joined(AttendanceEvent):
    """Let into the online room with the person's own link."""

    link_serial: int


@registry.event("forums.AccessRefused", version=1)
class AccessRefused(AttendanceEvent):
    """Someone was kept out: `action` is what they tried, `why` the rule that refused."""

    action: str
    why: str


# --- a person's agenda ----------------------------------------------------------------------


class AgendaEvent(ForumsEvent):
    edition_code: str
    person: str
    forum_id: str

    def stream_id(self) -> str:
        from .agenda import agenda_stream

        return agenda_stream(self.edition_code, self.person)


@registry.event("forums.SeatTaken", version=1)
class SeatTaken(AgendaEvent):
    """The person holds a seat; `overlaps_confirmed` names the forums they knowingly overlap."""

    overlaps_confirmed: list[str]


@registry.event("forums.SeatGiven", version=1)
class SeatGiven(AgendaEvent):
    pass


# --- sponsors' launch slots, asked by the sponsorship service ---------------------------------


class SponsorLaunchEvent(ForumsEvent):
    """The answer to one request of a sponsorship package's launch slot (its `attempt`)."""

    package_id: str
    benefit_no: int
    attempt: int
    exhibitor_id: str

    def stream_id(self) -> str:
        from .sponsored import sponsor_launch_stream

        return sponsor_launch_stream(self.package_id, self.benefit_no)


@registry.event("forums.SponsorLaunchBooked", version=1)
class SponsorLaunchBooked(SponsorLaunchEvent):
    """A sponsor's launch slot booked: the launch (a forum of kind `launch`, scheduled in a
    launch hall, not yet published) and where and when it runs."""

    forum_id: str
    room_code: str
    venue: Venue
    starts_at: datetime
    ends_at: datetime


@registry.event("forums.SponsorLaunchRefused", version=1)
class SponsorLaunchRefused(SponsorLaunchEvent):
    """A sponsor's launch slot could not be booked, and why (the forums rules' own words)."""

    reason: str
    code: str
