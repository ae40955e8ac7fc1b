"""Admissions: every scan recorded at the gates (entries and conflicts), live counts per
venue, entrance and hour, and the revocations gates must know of.

Revocations reach gates through this read model, fed by `tickets.ticket_revoked` from the
topic: a gate asks for those after the last one it has (`GET .../revocations?after=`), or
reads the topic itself.

A part of the one `views` projection (`projections/__init__.py`): its tables and handlers.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    EntryConflictFlagged,
    TicketAdmitted,
    TicketIssued,
    TicketRevoked,
    registry,
)

admissions = Projection(
    name="admissions",
    topics=["tickets.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS tickets (
        ticket_id     text PRIMARY KEY,
        edition_code  text NOT NULL,
        product_code  text NOT NULL,
        visitor_class text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS scans (
        scan_id          text PRIMARY KEY,
        ticket_id        text NOT NULL,
        day              date NOT NULL,
        venue            text NOT NULL,
        entrance         text NOT NULL,
        gate_id          text NOT NULL,
        scanned_at       timestamptz NOT NULL,
        offline          boolean NOT NULL,
        conflict         text,
        first_gate_id    text,
        first_scanned_at timestamptz
    );
    CREATE INDEX IF NOT EXISTS scans_day ON scans (day, venue, entrance);
    CREATE TABLE IF NOT EXISTS revocations (
        seq          bigserial PRIMARY KEY,
        ticket_id    text NOT NULL UNIQUE,
        edition_code text NOT NULL,
        revoked_at   timestamptz NOT NULL,
        why          text NOT NULL
    );
    """,
)


@admissions.on(TicketIssued)
async def ticket_issued(e: TicketIssued, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "INSERT INTO tickets VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        e.ticket_id,
        e.edition_code,
        e.product_code,
        e.visitor_class,
    )


_SCAN = """INSERT INTO scans VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
           ON CONFLICT (scan_id) DO NOTHING"""


@admissions.on(TicketAdmitted)
async def ticket_admitted(e: TicketAdmitted, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        _SCAN,
        e.scan_id,
        e.ticket_id,
        e.day,
        e.venue,
        e.entrance,
        e.gate_id,
        e.scanned_at,
        e.offline,
        None,
        None,
        None,
    )


@admissions.on(EntryConflictFlagged)
async def entry_conflict(e: EntryConflictFlagged, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        _SCAN,
        e.scan_id,
        e.ticket_id,
        e.day,
        e.venue,
        e.entrance,
        e.gate_id,
        e.scanned_at,
        e.offline,
        e.conflict,
        e.first_gate_id,
        e.first_scanned_at,
    )


@admissions.on(TicketRevoked)
async def ticket_revoked(e: TicketRevoked, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO revocations (ticket_id, edition_code, revoked_at, why)
           VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id) DO NOTHING""",
        e.ticket_id,
        e.edition_code,
        env.occurred_at,
        e.why,
    )
