"""An exhibitor's activities in the fair's programme (its launches, 成果发布, and other forums
it organises), as the booth pages show them beside the booth's own activities.

Read from `projections.forum_activities` (learnt from the forums service's events), joined
to the directory by the participation forums names the company by.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Literal, TypeVar

import asyncpg
from pydantic import BaseModel

from ..projections import directory, forum_activities

A = forum_activities.schema
E = TypeVar("E", bound=BaseModel)
_LAST = datetime.max.replace(tzinfo=UTC)


class _Forum(BaseModel):
    forum_id: str
    forum_kind: str
    """The programme's kind: `launch` (成果发布), or another the company organises."""
    edition_code: str
    title_zh: str
    title_en: str
    topics: list[str]
    language: str
    venue: str | None
    room_code: str | None
    room_zh: str | None
    room_en: str | None
    rescheduled: bool
    """Moved since it was published."""


class ForumActivityOut(_Forum):
    """A forum or launch the company organises, as the forums service published it."""

    kind: Literal["activity"] = "activity"
    source: Literal["forums"] = "forums"
    """Not an item of the booth page but an event of the fair's programme (`forum_id`)."""
    format: str
    """`in_person`, `online` or `hybrid`."""
    starts_at: datetime
    ends_at: datetime


class StaffForumActivity(_Forum):
    """The company's staff's view: every forum it organises, public or not (yet)."""

    status: str
    """proposed, approved, rejected, scheduled or cancelled."""
    published: bool
    public: bool
    """On the public booth page now."""
    access: str
    reason: str | None
    """The forums team's reason for the last change (a rejection, a cancellation …)."""
    format: str | None
    starts_at: datetime | None
    ends_at: datetime | None


_PUBLIC = "a.published AND a.status = 'scheduled' AND a.access <> 'invitation'"

_OF_COMPANY = f"""
    SELECT a.*, r.name_zh AS room_zh, r.name_en AS room_en, {_PUBLIC} AS public
    FROM {A}.activities a
    LEFT JOIN {A}.rooms r ON r.edition_code = a.edition_code AND r.room_code = a.room_code
    WHERE a.exhibitor_id IN (SELECT application_id FROM {directory.schema}.exhibitors
                             WHERE company_id = $1)"""


def _fields(r: asyncpg.Record) -> dict[str, object]:
    return {
        "forum_id": r["forum_id"],
        "forum_kind": r["kind"],
        "edition_code": r["edition_code"],
        "title_zh": r["title_zh"],
        "title_en": r["title_en"],
        "topics": list(r["topics"]),
        "language": r["language"],
        "format": r["format"],
        "venue": r["venue"],
        "room_code": r["room_code"],
        "room_zh": r["room_zh"],
        "room_en": r["room_en"],
        "starts_at": r["starts_at"],
        "ends_at": r["ends_at"],
        "rescheduled": r["rescheduled"],
    }


async def published_activities(pool: asyncpg.Pool, company_id: str) -> list[ForumActivityOut]:
    """What anyone sees: published, still on, not closed-door; by start."""
    rows = await pool.fetch(
        f"{_OF_COMPANY} AND {_PUBLIC} ORDER BY a.starts_at, a.forum_id", company_id
    )
    return [ForumActivityOut.model_validate(_fields(r)) for r in rows]


async def staff_activities(pool: asyncpg.Pool, company_id: str) -> list[StaffForumActivity]:
    """Every forum the company organises, with its status, latest change first."""
    rows = await pool.fetch(f"{_OF_COMPANY} ORDER BY a.changed_at DESC, a.forum_id", company_id)
    return [
        StaffForumActivity.model_validate(
            _fields(r)
            | {
                "status": r["status"],
                "published": r["published"],
                "public": r["public"],
                "access": r["access"],
                "reason": r["reason"],
            }
        )
        for r in rows
    ]


def by_start(entries: Iterable[E]) -> list[E]:
    """Booth activities (their start in `content`) and forums (`starts_at`) in one order,
    the earliest first; an entry without a start goes last, the order otherwise kept."""

    def start(entry: E) -> datetime:
        at = getattr(entry, "starts_at", None)
        if at is None:
            content = getattr(entry, "content", None)
            raw = content.get("starts_at") if isinstance(content, dict) else None
            at = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        return at if isinstance(at, datetime) else _LAST

    return sorted(entries, key=start)
