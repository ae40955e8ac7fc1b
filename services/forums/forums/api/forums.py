"""The programme's set-up and each forum's life: rooms, kinds, propose, review, schedule,
publish, cancel. Every change by the forums team carries a reason."""

from __future__ import annotations

from fairline_events.dependencies import Body, new_id
from fastapi import APIRouter, Path
from pydantic import AwareDatetime, Field

from ..domain.commands import (
    AddRoom,
    ApproveForum,
    CancelForum,
    OrganiserInput,
    ProposeForum,
    PublishForum,
    RejectForum,
    ScheduleForum,
    SetKindPolicy,
    SpeakerInput,
)
from ..domain.forum import Forum, forum_stream
from ..domain.programme import Programme, programme_stream
from ..domain.values import (
    PRINTABLE,
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
from ..handlers import (
    add_room,
    approve_forum,
    cancel_forum,
    propose_forum,
    publish_forum,
    reject_forum,
    schedule_forum,
    set_kind_policy,
)
from .common import (
    TEAM,
    AsAnyone,
    AsProposer,
    AsTeam,
    ForumView,
    forum_view,
    is_team,
)

router = APIRouter(tags=["programme"])

ForumId = Path(description="the forum's id", max_length=64, pattern=PRINTABLE)


class RoomRequest(Body):
    room_code: RoomCode
    venue: Venue
    name_zh: Name
    name_en: Name
    capacity: Seats
    setup_buffer_minutes: Minutes = 15
    equipment: list[Equipment] = Field(default_factory=list, max_length=20)


class RoomView(RoomRequest):
    edition_code: str


@router.post(
    "/editions/{edition_code}/rooms",
    status_code=201,
    summary="Add a room at a venue, with its seats and set-up buffer (forums team)",
)
async def add_a_room(edition_code: EditionCode, body: RoomRequest, acting: AsTeam) -> RoomView:
    command = AddRoom(edition_code=edition_code, **body.model_dump())
    await add_room(acting.store, command, acting.context)
    return RoomView(edition_code=edition_code, **body.model_dump())


class KindPolicyRequest(Body):
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
    reason: Reason = "kind policy set"


class KindView(KindPolicyRequest):
    edition_code: str
    kind: str
    version: int


@router.put(
    "/editions/{edition_code}/kinds/{kind}",
    summary="Set a kind's policy: a new version; forums approved earlier keep theirs",
)
async def set_a_kind_policy(
    edition_code: EditionCode,
    kind: KindCode,
    body: KindPolicyRequest,
    acting: AsTeam,
) -> KindView:
    fields = body.model_dump(exclude={"reason"})
    command = SetKindPolicy(edition_code=edition_code, kind=kind, **fields)
    outcome = await set_kind_policy(acting.store, command, acting.context.because(body.reason))
    setup = outcome.state(programme_stream(edition_code), Programme)
    version = setup.current(kind).version
    return KindView(edition_code=edition_code, kind=kind, version=version, **body.model_dump())


class ProposalRequest(Body):
    forum_id: Identifier | None = None
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
    minutes: Duration | None = None


@router.post(
    "/forums",
    status_code=201,
    summary="Propose a forum (organisers; companies must be approved exhibitors)",
    tags=["forums"],
)
async def propose(body: ProposalRequest, acting: AsProposer) -> ForumView:
    forum_id = body.forum_id or new_id("fo")
    command = ProposeForum(
        **body.model_dump(exclude={"forum_id"}),
        forum_id=forum_id,
        by=acting.who.subject,
        on_behalf=is_team(acting.who),
        company_staff_only=not acting.who.has_any(("organiser", TEAM)),
    )
    outcome = await propose_forum(acting.store, command, acting.context)
    return forum_view(outcome.state(forum_stream(forum_id), Forum))


class ReasonRequest(Body):
    reason: Reason


class ApprovalRequest(Body):
    reason: Reason = "approved"


@router.post(
    "/forums/{forum_id}/approve",
    summary="Give the next step(s) of the kind's approval chain your roles cover",
    tags=["forums"],
)
async def approve(
    body: ApprovalRequest,
    acting: AsAnyone,
    forum_id: str = ForumId,
) -> ForumView:
    command = ApproveForum(forum_id=forum_id, by=acting.who.subject, roles=acting.who.roles)
    outcome = await approve_forum(acting.store, command, acting.context.because(body.reason))
    return forum_view(outcome.state(forum_stream(forum_id), Forum))


@router.post("/forums/{forum_id}/reject", summary="Reject a proposal", tags=["forums"])
async def reject(body: ReasonRequest, acting: AsTeam, forum_id: str = ForumId) -> ForumView:
    command = RejectForum(forum_id=forum_id, by=acting.who.subject, reason=body.reason)
    outcome = await reject_forum(acting.store, command, acting.context.because(body.reason))
    return forum_view(outcome.state(forum_stream(forum_id), Forum))


class ScheduleRequest(Body):
    format: Format
    room_code: RoomCode | None = None
    starts_at: AwareDatetime
    ends_at: AwareDatetime | None = Field(
        default=None, description="defaults to the kind's default duration"
    )
    capacity: Seats | None = Field(
        default=None, description="defaults to the room's seats, or the kind's online capacity"
    )
    reason: Reason


@router.post(
    "/forums/{forum_id}/schedule",
    summary="Schedule or reschedule: a room at a venue, online, or hybrid (forums team)",
    description=(
        "Refused with 409 `room_taken` or `speaker_busy`, naming the other forum, when the"
        " room (set-up buffer included) or a speaker (travel between venues included) is taken."
    ),
    tags=["forums"],
)
async def schedule(body: ScheduleRequest, acting: AsTeam, forum_id: str = ForumId) -> ForumView:
    command = ScheduleForum(forum_id=forum_id, **body.model_dump())
    outcome = await schedule_forum(acting.store, command, acting.context.because(body.reason))
    return forum_view(outcome.state(forum_stream(forum_id), Forum))


@router.post("/forums/{forum_id}/publish", summary="Put on the public agenda", tags=["forums"])
async def publish(body: ReasonRequest, acting: AsTeam, forum_id: str = ForumId) -> ForumView:
    command = PublishForum(forum_id=forum_id, reason=body.reason)
    outcome = await publish_forum(acting.store, command, acting.context.because(body.reason))
    return forum_view(outcome.state(forum_stream(forum_id), Forum))


@router.post(
    "/forums/{forum_id}/cancel",
    summary="Cancel, freeing the room and the speakers",
    tags=["forums"],
)
async def cancel(body: ReasonRequest, acting: AsTeam, forum_id: str = ForumId) -> ForumView:
    command = CancelForum(forum_id=forum_id, reason=body.reason)
    outcome = await cancel_forum(acting.store, command, acting.context.because(body.reason))
    return forum_view(outcome.state(forum_stream(forum_id), Forum))
