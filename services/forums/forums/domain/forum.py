"""One forum of any of the six kinds, from proposal to publication (its placing rules, which
also touch room-days and speaker-days, are in `slots.py`).

proposed --(each step of the kind's approval chain)--> approved --schedule--> scheduled
--publish--> published (still scheduled: it can be rescheduled) ; rejected and cancelled are
final. Every change by the forums team carries a reason (the event's and the envelope's).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent

from .commands import ApproveForum, ProposeForum, PublishForum, RejectForum
from .company import Exhibitor, require_organising_exhibitor
from .events import (
    ForumApprovalGiven,
    ForumApproved,
    ForumCancelled,
    ForumProposed,
    ForumPublished,
    ForumRejected,
    ForumRescheduled,
    ForumScheduled,
    Organiser,
    Speaker,
)
from .programme import KindPolicy, Programme
from .values import Access, Format, Place, Venue

Status = Literal["new", "proposed", "approved", "rejected", "scheduled", "cancelled"]

OPENNESS: dict[Access, int] = {"public": 0, "registration": 1, "invitation": 2}


@dataclass(frozen=True)
class Placement:
    format: Format
    venue: Venue | None
    room_code: str | None
    starts_at: datetime
    ends_at: datetime
    capacity: int

    @property
    def place(self) -> Place:
        """Where a speaker must be: online forums need no journey."""
        return self.venue if self.format != "online" and self.venue is not None else "online"

    def overlaps(self, other: Placement) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclass(frozen=True)
class Forum:
    forum_id: str
    status: Status = "new"
    edition_code: str = ""
    kind: str = ""
    title_zh: str = ""
    title_en: str = ""
    topics: tuple[str, ...] = ()
    language: str = "zh"
    organiser: Organiser | None = None
    proposed_by: str = ""
    speakers: tuple[Speaker, ...] = ()
    access: Access = "registration"
    minutes: int = 0
    approvals: frozenset[str] = frozenset()
    policy_version: int | None = None
    placement: Placement | None = None
    published: bool = False

    def exists(self) -> Forum:
        if self.status == "new":
            raise NotFound(f"no forum {self.forum_id}", code="unknown_forum")
        return self

    @property
    def live(self) -> bool:
        """Scheduled and not cancelled: it holds a room, speakers and seats."""
        return self.status == "scheduled" and self.placement is not None

    def policy(self, programme: Programme) -> KindPolicy:
        """The policy the forum is bound to: the version it was approved under (the current
        one while it is still in review)."""
        if self.policy_version is None:
            return programme.current(self.kind)
        return programme.policy(self.kind, self.policy_version)

    def is_organised_by(self, person: str) -> bool:
        return self.proposed_by == person


def forum_stream(forum_id: str) -> str:
    return f"forum-{forum_id}"


def initial(stream_id: str) -> Forum:
    return Forum(forum_id=stream_id.removeprefix("forum-"))


def evolve(forum: Forum, event: DomainEvent) -> Forum:
    match event:
        case ForumProposed():
            return replace(
                forum,
                status="proposed",
                edition_code=event.edition_code,
                kind=event.kind,
                title_zh=event.title_zh,
                title_en=event.title_en,
                topics=tuple(event.topics),
                language=event.language,
                organiser=event.organiser,
                proposed_by=event.proposed_by,
                speakers=tuple(event.speakers),
                access=event.access,
                minutes=event.minutes,
            )
        case ForumApprovalGiven():
            return replace(forum, approvals=forum.approvals | {event.role})
        case ForumApproved():
            return replace(forum, status="approved", policy_version=event.policy_version)
        case ForumRejected():
            return replace(forum, status="rejected")
        case ForumScheduled() | ForumRescheduled():
            placement = Placement(
                format=event.format,
                venue=event.venue,
                room_code=event.room_code,
                starts_at=event.starts_at,
                ends_at=event.ends_at,
                capacity=event.capacity,
            )
            return replace(forum, status="scheduled", placement=placement)
        case ForumPublished():
            return replace(forum, published=True)
        case ForumCancelled():
            return replace(forum, status="cancelled")
    return forum


FORUM: Fold[Forum] = Fold(initial, evolve)


def propose(
    command: ProposeForum,
    *,
    forum: Forum,
    programme: Programme,
    exhibitor: Exhibitor | None,
) -> list[DomainEvent]:
    if forum.status != "new":
        raise Conflict(f"forum {forum.forum_id} already exists", code="forum_exists")
    policy = programme.current(command.kind)
    if command.company_staff_only and command.organiser.kind != "company":
        raise Forbidden(
            "an exhibitor's staff propose in their company's name (organiser kind company);"
            " other organisers sign in as organisers",
            code="not_your_organisation",
        )
    if command.organiser.kind == "company":
        assert exhibitor is not None, "the plan reads the company's exhibitor stream"
        require_organising_exhibitor(
            exhibitor, edition_code=command.edition_code, by=command.by, on_behalf=command.on_behalf
        )
    access = command.access or policy.access
    if OPENNESS[access] < OPENNESS[policy.access]:
        raise DomainError(
            f"a {policy.name_en} is at least {policy.access}; it cannot be {access}",
            code="access_too_open",
            kind_access=policy.access,
        )
    return [
        ForumProposed(
            forum_id=command.forum_id,
            edition_code=command.edition_code,
            kind=command.kind,
            title_zh=command.title_zh,
            title_en=command.title_en,
            summary=command.summary,
            topics=list(dict.fromkeys(command.topics)),
            language=command.language,
            organiser=Organiser(**command.organiser.model_dump()),
            proposed_by=command.by,
            speakers=[Speaker(**s.model_dump()) for s in command.speakers],
            access=access,
            minutes=command.minutes or policy.default_minutes,
        )
    ]


def approve(command: ApproveForum, *, forum: Forum, programme: Programme) -> list[DomainEvent]:
    """The next steps of the kind's chain the caller's roles cover; approved once all are."""
    forum.exists()
    if forum.status != "proposed":
        raise Conflict(
            f"forum {forum.forum_id} is {forum.status}, not in review",
            code="not_in_review",
            status=forum.status,
        )
    policy = programme.current(forum.kind)
    missing = [role for role in policy.approval_chain if role not in forum.approvals]
    if not missing:  # the chain was shortened since the last step: nothing left to give
        return [ForumApproved(forum_id=forum.forum_id, policy_version=policy.version)]
    admin = "admin" in command.roles
    given: list[DomainEvent] = []
    for role in missing:  # in the chain's order: a later step never goes before an earlier
        if not admin and role not in command.roles:
            break
        step = policy.approval_chain.index(role) + 1
        given.append(
            ForumApprovalGiven(forum_id=forum.forum_id, step=step, role=role, by=command.by)
        )
    if not given:
        raise Forbidden(
            f"the next approval of forum {forum.forum_id} is the {missing[0]}'s",
            code="not_your_step",
            next_step=missing[0],
        )
    if len(given) == len(missing):
        given.append(ForumApproved(forum_id=forum.forum_id, policy_version=policy.version))
    return given


def reject(command: RejectForum, *, forum: Forum) -> list[DomainEvent]:
    forum.exists()
    if forum.status not in ("proposed", "approved"):
        raise Conflict(
            f"forum {forum.forum_id} is {forum.status}; only a forum in review or approved and"
            " not yet scheduled can be rejected (cancel a scheduled one)",
            code="not_in_review",
            status=forum.status,
        )
    return [ForumRejected(forum_id=forum.forum_id, by=command.by, reason=command.reason)]


def publish(command: PublishForum, *, forum: Forum) -> list[DomainEvent]:
    forum.exists()
    if not forum.live or forum.placement is None:
        raise Conflict(
            f"forum {forum.forum_id} is {forum.status}; schedule it before publishing",
            code="not_scheduled",
            status=forum.status,
        )
    if forum.published:
        return []
    p = forum.placement
    assert forum.organiser is not None
    return [
        ForumPublished(
            forum_id=forum.forum_id,
            edition_code=forum.edition_code,
            kind=forum.kind,
            title_zh=forum.title_zh,
            title_en=forum.title_en,
            organiser=forum.organiser,
            format=p.format,
            venue=p.venue,
            room_code=p.room_code,
            starts_at=p.starts_at,
            ends_at=p.ends_at,
            reason=command.reason,
        )
    ]
