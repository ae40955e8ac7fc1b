"""Each person's meeting agenda, and each company's offered slots."""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Statements, sql

from ..domain.events import registry
from ..domain.meetings import (
    MeetingAccepted,
    MeetingBooked,
    MeetingCancelled,
    MeetingDeclined,
    MeetingRequested,
    MeetingRescheduled,
    SlotFreed,
    SlotOffered,
    SlotTaken,
    SlotWithdrawn,
)

agendas = Projection(
    name="agendas",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS meetings (
        meeting_id text PRIMARY KEY,
        company_id text NOT NULL,
        kind       text NOT NULL,
        organiser  text NOT NULL,
        invitee    text NOT NULL,
        status     text NOT NULL,
        awaiting   text,
        start_at   timestamptz NOT NULL,
        end_at     timestamptz NOT NULL,
        subject    text NOT NULL,
        location   text NOT NULL,
        slot_id    text,
        updated_at timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS meetings_of_organiser ON meetings (organiser, start_at);
    CREATE INDEX IF NOT EXISTS meetings_of_invitee ON meetings (invitee, start_at);
    CREATE TABLE IF NOT EXISTS slots (
        slot_id    text PRIMARY KEY,
        company_id text NOT NULL,
        host       text NOT NULL,
        kind       text NOT NULL,
        start_at   timestamptz NOT NULL,
        end_at     timestamptz NOT NULL,
        location   text NOT NULL,
        status     text NOT NULL
    );
    CREATE INDEX IF NOT EXISTS slots_of_company ON slots (company_id, status, start_at);
    """,
)


@agendas.on(MeetingRequested)
async def requested(e: MeetingRequested, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO meetings
           VALUES ($1, $2, $3, $4, $5, 'pending', $5, $6, $7, $8, $9, NULL, $10)""",
        e.meeting_id,
        e.company_id,
        e.kind,
        e.organiser,
        e.invitee,
        e.period.start,
        e.period.end,
        e.subject,
        e.location,
        env.occurred_at,
    )


@agendas.on(MeetingBooked)
async def booked(e: MeetingBooked, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """INSERT INTO meetings
           VALUES ($1, $2, $3, $4, $5, 'confirmed', NULL, $6, $7, $8, $9, $10, $11)""",
        e.meeting_id,
        e.company_id,
        e.kind,
        e.guest,
        e.host,
        e.period.start,
        e.period.end,
        e.subject,
        e.location,
        e.slot_id,
        env.occurred_at,
    )


_STATUS = "UPDATE meetings SET status = $2, awaiting = NULL, updated_at = $3 WHERE meeting_id = $1"


@agendas.on(MeetingAccepted)
async def accepted(e: MeetingAccepted, env: Envelope, tx: ReadModel) -> Statements:
    return sql(_STATUS, e.meeting_id, "confirmed", env.occurred_at)


@agendas.on(MeetingDeclined)
async def declined(e: MeetingDeclined, env: Envelope, tx: ReadModel) -> Statements:
    return sql(_STATUS, e.meeting_id, "declined", env.occurred_at)


@agendas.on(MeetingCancelled)
async def cancelled(e: MeetingCancelled, env: Envelope, tx: ReadModel) -> Statements:
    return sql(_STATUS, e.meeting_id, "cancelled", env.occurred_at)


@agendas.on(MeetingRescheduled)
async def rescheduled(e: MeetingRescheduled, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        """UPDATE meetings SET status = 'pending', start_at = $2, end_at = $3, updated_at = $5,
             awaiting = CASE WHEN organiser = $4 THEN invitee ELSE organiser END
           WHERE meeting_id = $1""",
        e.meeting_id,
        e.period.start,
        e.period.end,
        e.by,
        env.occurred_at,
    )


@agendas.on(SlotOffered)
async def offered(e: SlotOffered, env: Envelope, tx: ReadModel) -> Statements:
    return sql(
        "INSERT INTO slots VALUES ($1, $2, $3, $4, $5, $6, $7, 'open')",
        e.slot_id,
        e.company_id,
        e.host,
        e.kind,
        e.period.start,
        e.period.end,
        e.location,
    )


_SLOT = "UPDATE slots SET status = $2 WHERE slot_id = $1"


@agendas.on(SlotTaken)
async def taken(e: SlotTaken, env: Envelope, tx: ReadModel) -> Statements:
    return sql(_SLOT, e.slot_id, "taken")


@agendas.on(SlotFreed)
async def freed(e: SlotFreed, env: Envelope, tx: ReadModel) -> Statements:
    return sql(_SLOT, e.slot_id, "open")


@agendas.on(SlotWithdrawn)
async def withdrawn(e: SlotWithdrawn, env: Envelope, tx: ReadModel) -> Statements:
    return sql(_SLOT, e.slot_id, "withdrawn")
