"""The review audit trail: who did what to which application, when, and why.

One row per step of the workflow (submitted, assigned, review started, approved, rejected,
returned, withdrawn), with the actor and the reason as the event envelope recorded them.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, Statements, sql

from ..domain.events import (
    ApplicationApproved,
    ApplicationRejected,
    ApplicationReturned,
    ApplicationSubmitted,
    ApplicationWithdrawn,
    ExhibitorRegistered,
    ReviewerAssigned,
    ReviewStarted,
    registry,
)

review_audit = Projection(
    name="review_audit",
    topics=["exhibitors.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS editions_of (
        application_id text PRIMARY KEY,
        edition_code   text NOT NULL
    );
    CREATE TABLE IF NOT EXISTS review_log (
        application_id text        NOT NULL,
        version        integer     NOT NULL,
        edition_code   text        NOT NULL,
        action         text        NOT NULL,
        actor          text        NOT NULL,
        reviewer       text,
        reason         text,
        at             timestamptz NOT NULL,
        PRIMARY KEY (application_id, version)
    );
    CREATE INDEX IF NOT EXISTS review_log_by_edition ON review_log (edition_code, at);
    """,
)

_LOG = """
INSERT INTO review_log
SELECT $1, $2, edition_code, $3, $4, $5, $6, $7 FROM editions_of WHERE application_id = $1
"""


def _log(
    env: Envelope,
    application_id: str,
    action: str,
    reviewer: str | None = None,
    reason: str | None = None,
) -> Sql:
    return sql(
        _LOG,
        application_id,
        env.stream_version,
        action,
        env.actor,
        reviewer,
        reason if reason is not None else env.reason,
        env.occurred_at,
    )


@review_audit.on(ExhibitorRegistered)
async def registered(e: ExhibitorRegistered, env: Envelope, tx: ReadModel) -> Statements:
    return sql("INSERT INTO editions_of VALUES ($1, $2)", e.application_id, e.edition_code)


@review_audit.on(ApplicationSubmitted)
async def submitted(e: ApplicationSubmitted, env: Envelope, tx: ReadModel) -> Statements:
    return _log(env, e.application_id, "submitted")


@review_audit.on(ReviewerAssigned)
async def assigned(e: ReviewerAssigned, env: Envelope, tx: ReadModel) -> Statements:
    return _log(env, e.application_id, "assigned", e.reviewer)


@review_audit.on(ReviewStarted)
async def started(e: ReviewStarted, env: Envelope, tx: ReadModel) -> Statements:
    return _log(env, e.application_id, "review_started", e.reviewer)


@review_audit.on(ApplicationApproved)
async def approved(e: ApplicationApproved, env: Envelope, tx: ReadModel) -> Statements:
    return _log(env, e.application_id, "approved", e.reviewer, e.note or None)


@review_audit.on(ApplicationRejected)
async def rejected(e: ApplicationRejected, env: Envelope, tx: ReadModel) -> Statements:
    return _log(env, e.application_id, "rejected", e.reviewer, e.reason)


@review_audit.on(ApplicationReturned)
async def returned(e: ApplicationReturned, env: Envelope, tx: ReadModel) -> Statements:
    return _log(env, e.application_id, "returned", e.reviewer, e.reason)


@review_audit.on(ApplicationWithdrawn)
async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: ReadModel) -> Statements:
    return _log(env, e.application_id, "withdrawn", None, e.reason)
