"""What the forums team, organisers, attendees, the clock and the exhibitors policy ask."""

from __future__ import annotations

from datetime import date

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from .values import (
    Access,
    Duration,
    EditionCode,
    Equipment,
    Format,
    Identifier,
    KindCode,
    Language,
    Minutes,
    Name,
    OrganiserKind,
    Reason,
    Role,
    RoomCode,
    Seats,
    Text,
    Topic,
    Venue,
    both_venues,
    every_format,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AddRoom(Command):
    edition_code: EditionCode
    room_code: RoomCode
    venue: Venue
    name_zh: Name
    name_en: Name
    capacity: Seats
    setup_buffer_minutes: Minutes = 15
    equipment: list[Equipment] = Field(default_factory=list, max_length=20)


class SetKindPolicy(Command):
    edition_code: EditionCode
    kind: KindCode
    name_zh: Name
    name_en: Name
    default_minutes: Duration
    min_capacity: Seats = 1
    venues: list[Venue] = Field(default_factory=both_venues, max_length=2)
    equipment: list[Equipment] = Field(default_factory=list, max_length=20)
    formats: list[Format] = Field(default_factory=every_format, min_length=1, max_length=3)
    approval_chain: list[Role] = Field(default_factory=lambda: ["forums_team"], max_length=5)
    access: Access = "registration"
    waitlist: bool = True
    claim_window_minutes: Minutes = 120
    online_capacity: Seats = 1000


class OrganiserInput(Command):
    kind: OrganiserKind
    name_zh: Name
    name_en: Name
    exhibitor_id: Identifier | None = None

    @model_validator(mode="after")
    def _company_names_its_application(self) -> OrganiserInput:
        if self.kind == "company" and self.exhibitor_id is None:
            raise ValueError("a company organiser names its exhibitor_id (its application)")
        return self


class SpeakerInput(Command):
    speaker_id: Identifier
    name: Name


class ProposeForum(Command):
    forum_id: Identifier
    edition_code: EditionCode
    kind: KindCode
    title_zh: Name
    title_en: Name
    summary: Text = ""
    topics: list[Topic] = Field(default_factory=list, max_length=10)
    language: Language = "zh"
    organiser: OrganiserInput
    speakers: list[SpeakerInput] = Field(default_factory=list, max_length=30)
    access: Access | None = None
    """None takes the kind's; a stricter one (invitation for a closed-door meeting) is kept."""
    minutes: Duration | None = None
    by: str
    on_behalf: bool = False
    """Proposed by the forums team for the organiser (no exhibitor's own login needed)."""
    company_staff_only: bool = False
    """The proposer signs in as an exhibitor's staff only: they propose for their company."""

    @model_validator(mode="after")
    def _speakers_once(self) -> ProposeForum:
        ids = [s.speaker_id for s in self.speakers]
        if len(set(ids)) != len(ids):
            raise ValueError("a speaker is listed twice")
        return self


class ApproveForum(Command):
    forum_id: Identifier
    by: str
    roles: frozenset[str]


class RejectForum(Command):
    forum_id: Identifier
    by: str
    reason: Reason


class ScheduleForum(Command):
    forum_id: Identifier
    format: Format
    room_code: RoomCode | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = None
    capacity: Seats | None = None
    reason: Reason

    @model_validator(mode="after")
    def _times(self) -> ScheduleForum:
        if self.ends_at is not None and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must come after starts_at (the times are reversed)")
        if self.format == "online" and self.room_code is not None:
            raise ValueError("an online forum takes no room")
        if self.format != "online" and self.room_code is None:
            raise ValueError(f"a {self.format} forum needs a room_code")
        return self


class PublishForum(Command):
    forum_id: Identifier
    reason: Reason


class CancelForum(Command):
    forum_id: Identifier
    reason: Reason


class Register(Command):
    forum_id: Identifier
    person: Identifier
    confirm_overlap: bool = False


class CancelRegistration(Command):
    forum_id: Identifier
    person: Identifier
    reason: Reason = "cancelled by the attendee"


class ClaimOffer(Command):
    forum_id: Identifier
    person: Identifier
    confirm_overlap: bool = False


class LapseOffer(Command):
    forum_id: Identifier
    person: Identifier


class CheckIn(Command):
    forum_id: Identifier
    person: Identifier
    by: str


class Invite(Command):
    forum_id: Identifier
    person: Identifier
    by: str
    why: Reason
    as_team: bool = False
    """The forums team invites to any forum; otherwise only the forum's own organiser."""


class RevokeInvitation(Command):
    forum_id: Identifier
    person: Identifier
    by: str
    why: Reason
    as_team: bool = False


class Join(Command):
    forum_id: Identifier
    caller: Identifier
    """Who presents the link (the signed-in caller)."""
    link_person: str | None
    """Whom the link was issued to (None: the link's signature did not verify)."""
    link_serial: int


class RefuseAccess(Command):
    """Record a refusal decided outside the attendance rules (a closed forum hidden)."""

    forum_id: Identifier
    person: Identifier
    action: str
    why: str


class ApproveExhibitor(Command):
    exhibitor_id: Identifier
    edition_code: str
    applicant: str
    name_zh: str
    name_en: str


class WithdrawExhibitor(Command):
    exhibitor_id: Identifier
    reason: str


class BookSponsorLaunch(Command):
    """The sponsorship service asks a launch slot for a package (its policy's command).

    Plain strings: whatever the request holds, the rules answer it (a refusal names why)."""

    package_id: str
    benefit_no: int
    attempt: int
    edition_code: str
    exhibitor_id: str
    sponsor_name: str
    day: date
    title_zh: str
    title_en: str
