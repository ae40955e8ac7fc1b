"""The activities an exhibitor holds in the fair's programme: its launches (成果发布) and any
other forum it organises, learnt from the forums service.

A projection over the forums service's `forums.events` topic, decoding only the events it
needs with its own registry (`consumed`): models that read the fields used here and ignore
the rest, so forums may add fields freely. It never reads the forums database. Forums names
a company organiser by its participation here (`organiser.exhibitor_id`, our application
id), which is how the booth pages join it to the directory; forums organised by government
bodies, institutions or associations are not kept.

A forum's events share one stream, so they arrive in order: the proposal (organiser, kind,
titles, access), its approval or rejection, its placement (scheduled, rescheduled), its
publication and its cancellation. The booth page shows an activity once forums has
published it, at the placement it has now, unless it is closed-door (闭门会议, never listed
to the public) or cancelled; the company's staff see every one with its status. Each change
a visitor can see moves the exhibitor's stamp, so the public page's ETag changes with it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, Statements, sql
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from .stamps import STAMPS_SQL, bump

consumed = EventRegistry()


class _Consumed(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _OfForum(_Consumed):
    forum_id: str


class _Organiser(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: str
    exhibitor_id: str | None = None


@consumed.event("forums.RoomAdded", version=1)
class RoomAdded(_Consumed):
    edition_code: str
    room_code: str
    venue: str
    name_zh: str
    name_en: str


@consumed.event("forums.ForumProposed", version=1)
class ForumProposed(_OfForum):
    edition_code: str
    kind: str
    title_zh: str
    title_en: str
    topics: list[str]
    language: str
    organiser: _Organiser
    access: str


@consumed.event("forums.ForumApproved", version=1)
class ForumApproved(_OfForum):
    pass


@consumed.event("forums.ForumRejected", version=1)
class ForumRejected(_OfForum):
    reason: str


class _Placement(_OfForum):
    format: str
    venue: str | None
    room_code: str | None
    starts_at: datetime
    ends_at: datetime
    reason: str


@consumed.event("forums.ForumScheduled", version=1)
class ForumScheduled(_Placement):
    pass


@consumed.event("forums.ForumRescheduled", version=1)
class ForumRescheduled(_Placement):
    pass


@consumed.event("forums.ForumPublished", version=1)
class ForumPublished(_OfForum):
    pass


@consumed.event("forums.ForumCancelled", version=1)
class ForumCancelled(_OfForum):
    reason: str


Status = Literal["proposed", "approved", "rejected", "scheduled", "cancelled"]

forum_activities = Projection(
    name="forum_activities",
    topics=["forums.events"],
    registry=consumed,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS activities (
        forum_id     text PRIMARY KEY,
        exhibitor_id text NOT NULL,
        edition_code text NOT NULL,
        kind         text NOT NULL,
        title_zh     text NOT NULL,
        title_en     text NOT NULL,
        topics       text[] NOT NULL,
        language     text NOT NULL,
        access       text NOT NULL,
        status       text NOT NULL,
        published    boolean NOT NULL DEFAULT false,
        rescheduled  boolean NOT NULL DEFAULT false,
        format       text,
        venue        text,
        room_code    text,
        starts_at    timestamptz,
        ends_at      timestamptz,
        reason       text,
        changed_at   timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS activities_of_exhibitor ON activities (exhibitor_id, starts_at);
    CREATE TABLE IF NOT EXISTS rooms (
        edition_code text NOT NULL,
        room_code    text NOT NULL,
        venue        text NOT NULL,
        name_zh      text NOT NULL,
        name_en      text NOT NULL,
        PRIMARY KEY (edition_code, room_code)
    );
    """
    + STAMPS_SQL,
)

# Only a published, open activity is on a public page: only its changes move the page's
# stamp (a closed-door meeting's changes leave the public ETag as it was).
STAMP_OF_FORUM = bump(
    """SELECT 'exhibitor:' || a.exhibitor_id, 1, $2::timestamptz FROM activities a
       WHERE a.forum_id = $1 AND a.published AND a.access <> 'invitation'"""
)
STAMP_OF_ROOM = bump(
    """SELECT DISTINCT 'exhibitor:' || a.exhibitor_id, 1, $3::timestamptz FROM activities a
       WHERE a.edition_code = $1 AND a.room_code = $2 AND a.published
         AND a.access <> 'invitation'"""
)


def _stamp(forum_id: str, env: Envelope) -> Sql:
    return sql(STAMP_OF_FORUM, forum_id, env.occurred_at)


def _status(forum_id: str, status: Status, reason: str | None, env: Envelope) -> Sql:
    return sql(
        "UPDATE activities SET status = $2, reason = $3, changed_at = $4 WHERE forum_id = $1",
        forum_id,
        status,
        reason,
        env.occurred_at,
    )


@forum_activities.on(RoomAdded)
async def room(e: RoomAdded, env: Envelope, tx: ReadModel) -> Statements:
    # Another stream (the programme's) than the forums placed in it: names may come later.
    return [
        sql(
            """INSERT INTO rooms VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (edition_code, room_code) DO UPDATE SET venue = excluded.venue,
                 name_zh = excluded.name_zh, name_en = excluded.name_en""",
            e.edition_code,
            e.room_code,
            e.venue,
            e.name_zh,
            e.name_en,
        ),
        sql(STAMP_OF_ROOM, e.edition_code, e.room_code, env.occurred_at),
    ]


@forum_activities.on(ForumProposed)
async def proposed(e: ForumProposed, env: Envelope, tx: ReadModel) -> Statements:
    if e.organiser.kind != "company" or e.organiser.exhibitor_id is None:
        return None  # not an exhibitor's: no booth page shows it
    return sql(
        """INSERT INTO activities (forum_id, exhibitor_id, edition_code, kind, title_zh,
             title_en, topics, language, access, status, changed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'proposed', $10)
           ON CONFLICT (forum_id) DO NOTHING""",
        e.forum_id,
        e.organiser.exhibitor_id,
        e.edition_code,
        e.kind,
        e.title_zh,
        e.title_en,
        e.topics,
        e.language,
        e.access,
        env.occurred_at,
    )


@forum_activities.on(ForumApproved)
async def approved(e: ForumApproved, env: Envelope, tx: ReadModel) -> Statements:
    return _status(e.forum_id, "approved", None, env)


@forum_activities.on(ForumRejected)
async def rejected(e: ForumRejected, env: Envelope, tx: ReadModel) -> Statements:
    return _status(e.forum_id, "rejected", e.reason, env)


def _placed(e: _Placement, env: Envelope, *, moved: bool) -> Statements:
    return [
        sql(
            """UPDATE activities SET status = 'scheduled', format = $2, venue = $3,
                 room_code = $4, starts_at = $5, ends_at = $6, reason = $7, changed_at = $8,
                 rescheduled = rescheduled OR ($9 AND published)
               WHERE forum_id = $1""",
            e.forum_id,
            e.format,
            e.venue,
            e.room_code,
            e.starts_at,
            e.ends_at,
            e.reason,
            env.occurred_at,
            moved,
        ),
        _stamp(e.forum_id, env),
    ]


@forum_activities.on(ForumScheduled)
async def scheduled(e: ForumScheduled, env: Envelope, tx: ReadModel) -> Statements:
    return _placed(e, env, moved=False)


@forum_activities.on(ForumRescheduled)
async def rescheduled(e: ForumRescheduled, env: Envelope, tx: ReadModel) -> Statements:
    return _placed(e, env, moved=True)


@forum_activities.on(ForumPublished)
async def published(e: ForumPublished, env: Envelope, tx: ReadModel) -> Statements:
    # Published at its last placement, already kept: a forum's events come in order.
    return [
        sql(
            "UPDATE activities SET published = true, changed_at = $2 WHERE forum_id = $1",
            e.forum_id,
            env.occurred_at,
        ),
        _stamp(e.forum_id, env),
    ]


@forum_activities.on(ForumCancelled)
async def cancelled(e: ForumCancelled, env: Envelope, tx: ReadModel) -> Statements:
    return [_status(e.forum_id, "cancelled", e.reason, env), _stamp(e.forum_id, env)]
