"""The programme as people read it: the agenda, rooms' schedules, attendee lists, each
person's agenda, the forums team's dashboard and the edition's statistics.

One read model (`proj_forums_programme`): forums, rooms, kinds, attendees, invitees and the
access log. The offer-lapse job finds its due offers here (`attendees.claim_until`).
Closed-door forums are stored like any other; the API shows them only to their invitees,
the organiser and the forums team, and never stores or lists a join link.
"""

from __future__ import annotations

import json

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    AccessRefused,
    CheckedIn,
    ExhibitorApproved,
    ExhibitorWithdrawn,
    ForumApproved,
    ForumCancelled,
    ForumProposed,
    ForumPublished,
    ForumRejected,
    ForumRescheduled,
    ForumScheduled,
    InvitationRevoked,
    Invited,
    Joined,
    KindPolicySet,
    OfferClaimed,
    OfferLapsed,
    RegistrationCancelled,
    RoomAdded,
    SeatOffered,
    SeatRegistered,
    Waitlisted,
    registry,
)
from ..domain.values import fair_day

programme = Projection(
    name="forums_programme",
    topics=["forums.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS forums (
        forum_id       text PRIMARY KEY,
        edition_code   text NOT NULL,
        kind           text NOT NULL,
        title_zh       text NOT NULL,
        title_en       text NOT NULL,
        summary        text NOT NULL,
        topics         text[] NOT NULL,
        language       text NOT NULL,
        organiser      jsonb NOT NULL,
        exhibitor_id   text,
        proposed_by    text NOT NULL,
        speakers       jsonb NOT NULL,
        access         text NOT NULL,
        minutes        integer NOT NULL,
        status         text NOT NULL,
        published      boolean NOT NULL DEFAULT false,
        policy_version integer,
        format         text,
        venue          text,
        room_code      text,
        starts_at      timestamptz,
        ends_at        timestamptz,
        day            date,
        capacity       integer,
        cancel_reason  text,
        proposed_at    timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS forums_agenda ON forums (edition_code, day, starts_at)
        WHERE published AND status = 'scheduled';
    CREATE INDEX IF NOT EXISTS forums_room ON forums (edition_code, room_code, day);
    CREATE TABLE IF NOT EXISTS rooms (
        edition_code text NOT NULL,
        room_code    text NOT NULL,
        venue        text NOT NULL,
        name_zh      text NOT NULL,
        name_en      text NOT NULL,
        capacity     integer NOT NULL,
        setup_buffer_minutes integer NOT NULL,
        equipment    text[] NOT NULL,
        PRIMARY KEY (edition_code, room_code)
    );
    CREATE TABLE IF NOT EXISTS kinds (
        edition_code text NOT NULL,
        kind         text NOT NULL,
        version      integer NOT NULL,
        policy       jsonb NOT NULL,
        set_at       timestamptz NOT NULL,
        PRIMARY KEY (edition_code, kind, version)
    );
    CREATE TABLE IF NOT EXISTS attendees (
        forum_id     text NOT NULL,
        person       text NOT NULL,
        standing     text NOT NULL,
        line_order   bigint,
        claim_until  timestamptz,
        checked_in_at timestamptz,
        joined_at    timestamptz,
        since        timestamptz NOT NULL,
        PRIMARY KEY (forum_id, person)
    );
    CREATE INDEX IF NOT EXISTS attendees_person ON attendees (person);
    CREATE INDEX IF NOT EXISTS attendees_due ON attendees (claim_until)
        WHERE standing = 'offered';
    CREATE TABLE IF NOT EXISTS invitees (
        forum_id text NOT NULL,
        person   text NOT NULL,
        active   boolean NOT NULL,
        by_whom  text NOT NULL,
        why      text NOT NULL,
        PRIMARY KEY (forum_id, person)
    );
    CREATE INDEX IF NOT EXISTS invitees_person ON invitees (person) WHERE active;
    CREATE TABLE IF NOT EXISTS access_log (
        event_id  uuid PRIMARY KEY,
        forum_id  text NOT NULL,
        person    text NOT NULL,
        decision  text NOT NULL,
        action    text,
        why       text,
        actor     text NOT NULL,
        at        timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS access_log_forum ON access_log (forum_id, at);
    CREATE TABLE IF NOT EXISTS companies (
        exhibitor_id text PRIMARY KEY,
        edition_code text NOT NULL,
        name_en      text NOT NULL,
        applicant    text NOT NULL,
        approved     boolean NOT NULL
    );
    """,
)


@programme.on(RoomAdded)
async def room_added(e: RoomAdded, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO rooms VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (edition_code, room_code) DO NOTHING""",
        e.edition_code,
        e.room_code,
        e.venue,
        e.name_zh,
        e.name_en,
        e.capacity,
        e.setup_buffer_minutes,
        e.equipment,
    )


@programme.on(KindPolicySet)
async def kind_set(e: KindPolicySet, env: Envelope, tx: ReadModel) -> Sql:
    policy = e.model_dump(mode="json", exclude={"edition_code", "kind", "version"})
    return sql(
        """INSERT INTO kinds VALUES ($1, $2, $3, $4::jsonb, $5)
           ON CONFLICT (edition_code, kind, version) DO NOTHING""",
        e.edition_code,
        e.kind,
        e.version,
        json.dumps(policy, ensure_ascii=False),
        env.occurred_at,
    )


@programme.on(ExhibitorApproved)
async def exhibitor_approved(e: ExhibitorApproved, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO companies VALUES ($1, $2, $3, $4, true)
           ON CONFLICT (exhibitor_id) DO UPDATE SET approved = true""",
        e.exhibitor_id,
        e.edition_code,
        e.name_en,
        e.applicant,
    )


@programme.on(ExhibitorWithdrawn)
async def exhibitor_withdrawn(e: ExhibitorWithdrawn, env: Envelope, tx: ReadModel) -> Sql:
    return sql("UPDATE companies SET approved = false WHERE exhibitor_id = $1", e.exhibitor_id)


@programme.on(ForumProposed)
async def proposed(e: ForumProposed, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO forums (forum_id, edition_code, kind, title_zh, title_en, summary, topics,
               language, organiser, exhibitor_id, proposed_by, speakers, access, minutes, status,
               proposed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12::jsonb, $13, $14,
                   'proposed', $15)
           ON CONFLICT (forum_id) DO NOTHING""",
        e.forum_id,
        e.edition_code,
        e.kind,
        e.title_zh,
        e.title_en,
        e.summary,
        e.topics,
        e.language,
        e.organiser.model_dump_json(),
        e.organiser.exhibitor_id,
        e.proposed_by,
        json.dumps([s.model_dump() for s in e.speakers], ensure_ascii=False),
        e.access,
        e.minutes,
        env.occurred_at,
    )


@programme.on(ForumApproved)
async def approved(e: ForumApproved, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE forums SET status = 'approved', policy_version = $2 WHERE forum_id = $1",
        e.forum_id,
        e.policy_version,
    )


@programme.on(ForumRejected)
async def rejected(e: ForumRejected, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE forums SET status = 'rejected', cancel_reason = $2 WHERE forum_id = $1",
        e.forum_id,
        e.reason,
    )


@programme.on(ForumScheduled)
@programme.on(ForumRescheduled)
async def scheduled(e: ForumScheduled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE forums SET status = 'scheduled', format = $2, venue = $3, room_code = $4,
               starts_at = $5, ends_at = $6, day = $7, capacity = $8
           WHERE forum_id = $1""",
        e.forum_id,
        e.format,
        e.venue,
        e.room_code,
        e.starts_at,
        e.ends_at,
        fair_day(e.starts_at),
        e.capacity,
    )


@programme.on(ForumPublished)
async def published(e: ForumPublished, env: Envelope, tx: ReadModel) -> Sql:
    return sql("UPDATE forums SET published = true WHERE forum_id = $1", e.forum_id)


@programme.on(ForumCancelled)
async def cancelled(e: ForumCancelled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE forums SET status = 'cancelled', cancel_reason = $2 WHERE forum_id = $1",
        e.forum_id,
        e.reason,
    )


_STANDING = """INSERT INTO attendees (forum_id, person, standing, line_order, claim_until, since)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (forum_id, person) DO UPDATE SET standing = excluded.standing,
        line_order = excluded.line_order, claim_until = excluded.claim_until,
        since = excluded.since"""


@programme.on(SeatRegistered)
@programme.on(OfferClaimed)
async def seated(e: SeatRegistered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STANDING, e.forum_id, e.person, "registered", None, None, env.occurred_at)


@programme.on(Waitlisted)
async def waitlisted(e: Waitlisted, env: Envelope, tx: ReadModel) -> Sql:
    # the stream's version orders the line as the attendance stream does
    order = env.stream_version
    return sql(_STANDING, e.forum_id, e.person, "waitlisted", order, None, env.occurred_at)


@programme.on(SeatOffered)
async def offered(e: SeatOffered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STANDING, e.forum_id, e.person, "offered", None, e.claim_until, env.occurred_at)


@programme.on(OfferLapsed)
async def lapsed(e: OfferLapsed, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STANDING, e.forum_id, e.person, "lapsed", None, None, env.occurred_at)


@programme.on(RegistrationCancelled)
async def registration_cancelled(e: RegistrationCancelled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(_STANDING, e.forum_id, e.person, "cancelled", None, None, env.occurred_at)


@programme.on(CheckedIn)
async def checked_in(e: CheckedIn, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE attendees SET checked_in_at = $3 WHERE forum_id = $1 AND person = $2",
        e.forum_id,
        e.person,
        env.occurred_at,
    )


def _logged(env: Envelope, forum_id: str, person: str, decision: str, action: str | None,
            why: str | None) -> Sql:  # fmt: skip
    return sql(
        """INSERT INTO access_log VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (event_id) DO NOTHING""",
        env.event_id,
        forum_id,
        person,
        decision,
        action,
        why,
        env.actor,
        env.occurred_at,
    )


@programme.on(Joined)
async def joined(e: Joined, env: Envelope, tx: ReadModel) -> list[Sql]:
    return [
        sql(
            """UPDATE attendees SET joined_at = coalesce(joined_at, $3)
               WHERE forum_id = $1 AND person = $2""",
            e.forum_id,
            e.person,
            env.occurred_at,
        ),
        _logged(env, e.forum_id, e.person, "joined", "join", None),
    ]


@programme.on(AccessRefused)
async def refused(e: AccessRefused, env: Envelope, tx: ReadModel) -> Sql:
    return _logged(env, e.forum_id, e.person, "refused", e.action, e.why)


@programme.on(Invited)
async def invited(e: Invited, env: Envelope, tx: ReadModel) -> list[Sql]:
    return [
        sql(
            """INSERT INTO invitees VALUES ($1, $2, true, $3, $4)
               ON CONFLICT (forum_id, person) DO UPDATE SET active = true,
                   by_whom = excluded.by_whom, why = excluded.why""",
            e.forum_id,
            e.person,
            e.by,
            e.why,
        ),
        _logged(env, e.forum_id, e.person, "invited", None, e.why),
    ]


@programme.on(InvitationRevoked)
async def revoked(e: InvitationRevoked, env: Envelope, tx: ReadModel) -> list[Sql]:
    return [
        sql(
            """UPDATE invitees SET active = false, by_whom = $3, why = $4
               WHERE forum_id = $1 AND person = $2""",
            e.forum_id,
            e.person,
            e.by,
            e.why,
        ),
        _logged(env, e.forum_id, e.person, "revoked", None, e.why),
    ]
