"""What the forums endpoints share: roles, views, and personal join links."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime
from typing import Annotated, Any

from fairline_events.auth import Principal, require
from fairline_events.dependencies import Acting, acting
from fastapi import Depends, Request
from pydantic import BaseModel

from ..domain.events import Organiser, Speaker
from ..domain.forum import Forum

TEAM = "forums_team"
"""The forums team (会议论坛活动组): reviews, schedules, publishes, checks in, sees all."""

ORGANISERS = ("organiser", "exhibitor")
"""Government bodies, institutions and associations sign in as organisers; companies as
their exhibitor staff."""

Team = Annotated[Principal, Depends(require(TEAM))]
Anyone = Annotated[Principal, Depends(require())]

# The role checks of commands: each also brings the store and the command's context, one
# dependency per route (fairline_events.dependencies.Acting).
AsTeam = Annotated[Acting, Depends(acting(TEAM))]
AsProposer = Annotated[Acting, Depends(acting(TEAM, *ORGANISERS))]
AsAnyone = Annotated[Acting, Depends(acting())]


def is_team(who: Principal) -> bool:
    return who.has_any((TEAM,))


class ForumView(BaseModel):
    forum_id: str
    edition_code: str
    kind: str
    title_zh: str
    title_en: str
    topics: list[str]
    language: str
    organiser: Organiser | None
    speakers: list[Speaker]
    access: str
    minutes: int
    status: str
    published: bool
    approvals: list[str]
    policy_version: int | None
    format: str | None = None
    venue: str | None = None
    room_code: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    capacity: int | None = None


def forum_view(forum: Forum) -> ForumView:
    p = forum.placement
    return ForumView(
        forum_id=forum.forum_id,
        edition_code=forum.edition_code,
        kind=forum.kind,
        title_zh=forum.title_zh,
        title_en=forum.title_en,
        topics=list(forum.topics),
        language=forum.language,
        organiser=forum.organiser,
        speakers=list(forum.speakers),
        access=forum.access,
        minutes=forum.minutes,
        status=forum.status,
        published=forum.published,
        approvals=sorted(forum.approvals),
        policy_version=forum.policy_version,
        format=p.format if p else None,
        venue=p.venue if p else None,
        room_code=p.room_code if p else None,
        starts_at=p.starts_at if p else None,
        ends_at=p.ends_at if p else None,
        capacity=p.capacity if p else None,
    )


# --- personal join links --------------------------------------------------------------------


def _key(request: Request) -> bytes:
    secret: str = request.app.state.runtime.settings.fairline_auth_secret
    return hashlib.sha256(f"forums-join-links:{secret}".encode()).digest()


def join_link(request: Request, forum_id: str, person: str, serial: int) -> str:
    """A link that names its holder: it signs (forum, person, serial). Only the person it was
    issued to gets in with it, and a new seat (a new serial) retires the old link."""
    raw = f"{forum_id}\n{person}\n{serial}".encode()
    body = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    mac = hmac.new(_key(request), body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"/forums/{forum_id}/join?link={body}.{mac}"


def read_link(request: Request, forum_id: str, link: str) -> tuple[str | None, int]:
    """Whom a link was issued to and its serial; (None, 0) for a link that is not genuine
    or is another forum's."""
    body, _, mac = link.rpartition(".")
    expected = hmac.new(_key(request), body.encode(), hashlib.sha256).hexdigest()[:32]
    if not body or not hmac.compare_digest(mac.encode(), expected.encode()):
        return None, 0
    try:
        padded = body + "=" * (-len(body) % 4)
        forum, person, serial = base64.urlsafe_b64decode(padded).decode().split("\n")
        return (person, int(serial)) if forum == forum_id else (None, 0)
    except ValueError:
        return None, 0


JSON_COLUMNS = ("organiser", "speakers", "policy")
"""Columns the read model keeps as JSON; answered as JSON, not as strings of it."""


def row(record: Any) -> dict[str, Any]:
    found = dict(record)
    for column in JSON_COLUMNS:
        if isinstance(found.get(column), str):
            found[column] = json.loads(found[column])
    return found


def rows(records: Any) -> list[dict[str, Any]]:
    return [row(r) for r in records]
