"""Which companies may organise: the exhibitors service's approvals, turned into commands.

A policy over the `exhibitors.events` topic, run by the projection runner (its checkpoint,
its transaction, its retries), like booths' admissions. It decodes only the events it needs,
with its own models that read only the fields it uses (the producer may add fields freely),
and keeps one table of its own, `applications`: the edition, applicant and names of each
registration, so that an approval can be recorded with them. An approval appends
`forums.ExhibitorApproved`, a withdrawal `forums.ExhibitorWithdrawn`, through the same
handlers as everything else, in the runner's transaction (atomically with the consumed
offset); both are idempotent, so a redelivery or a rebuild changes nothing twice.
"""

from __future__ import annotations

from typing import cast

import asyncpg
from fairline_events.context import CommandContext, continued_trace
from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql
from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.store import EventStore
from pydantic import BaseModel, ConfigDict

from ..domain.commands import ApproveExhibitor, WithdrawExhibitor
from ..domain.events import registry as forums_registry
from ..handlers import approve_exhibitor, withdraw_exhibitor

consumed = EventRegistry()


class Consumed(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    application_id: str


class Company(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name_zh: str
    name_en: str


@consumed.event("exhibitors.ExhibitorRegistered", version=1)
class ExhibitorRegistered(Consumed):
    applicant: str = "self-registered"
    edition_code: str
    company: Company


@consumed.event("exhibitors.ApplicationEdited", version=1)
class ApplicationEdited(Consumed):
    name_zh: str | None = None
    name_en: str | None = None


@consumed.event("exhibitors.ApplicationApproved", version=1)
class ApplicationApproved(Consumed):
    pass


@consumed.event("exhibitors.ApplicationWithdrawn", version=1)
class ApplicationWithdrawn(Consumed):
    reason: str


exhibitors = Projection(
    name="forums_exhibitors",
    topics=["exhibitors.events"],
    registry=consumed,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS applications (
        application_id text PRIMARY KEY,
        edition_code   text NOT NULL,
        applicant      text NOT NULL,
        name_zh        text NOT NULL,
        name_en        text NOT NULL
    );
    """,
)


def _bound(tx: ReadModel) -> tuple[EventStore, asyncpg.Connection]:
    """The forums event store inside the runner's transaction, and that transaction."""
    connection = cast(asyncpg.Connection, tx)  # the runner's pipeline forwards to it
    return EventStore(cast(asyncpg.Pool, connection), forums_registry), connection


def _context(env: Envelope) -> CommandContext:
    return CommandContext(
        actor="system:exhibitors-policy",
        reason=f"{env.event_type} from the exhibitors service",
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
        trace_context=continued_trace(env.trace_context),
    )


@exhibitors.on(ExhibitorRegistered)
async def registered(e: ExhibitorRegistered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO applications VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (application_id) DO NOTHING""",
        e.application_id,
        e.edition_code,
        e.applicant,
        e.company.name_zh,
        e.company.name_en,
    )


@exhibitors.on(ApplicationEdited)
async def edited(e: ApplicationEdited, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE applications SET name_zh = coalesce($2, name_zh),
             name_en = coalesce($3, name_en)
           WHERE application_id = $1""",
        e.application_id,
        e.name_zh,
        e.name_en,
    )


@exhibitors.on(ApplicationApproved)
async def approved(e: ApplicationApproved, env: Envelope, tx: ReadModel) -> None:
    row = await tx.fetchrow(
        "SELECT * FROM applications WHERE application_id = $1", e.application_id
    )
    if row is None:  # dead-lettered: an approval of an application never registered
        raise LookupError(f"approval of {e.application_id}, never registered")
    command = ApproveExhibitor(
        exhibitor_id=e.application_id,
        edition_code=row["edition_code"],
        applicant=row["applicant"],
        name_zh=row["name_zh"],
        name_en=row["name_en"],
    )
    store, connection = _bound(tx)
    await approve_exhibitor(store, command, _context(env), connection=connection)


@exhibitors.on(ApplicationWithdrawn)
async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: ReadModel) -> None:
    command = WithdrawExhibitor(exhibitor_id=e.application_id, reason=e.reason)
    store, connection = _bound(tx)
    await withdraw_exhibitor(store, command, _context(env), connection=connection)
