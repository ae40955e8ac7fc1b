"""Who may buy: the exhibitors service's approvals and withdrawals, turned into commands.

A policy over the `exhibitors.events` topic, run by the projection runner (its checkpoint,
its transaction, its retries). It keeps one table of its own, `applications`: the company
details of each registration, kept only so that an approval can admit with them.

Its consumer-side models read only the fields booths needs and ignore any others, so the
producer may add fields freely. An approval admits the exhibitor's account; a withdrawal
closes it, releases its holds and flags its contracts, through the same handlers as the
API. Each command is appended in the projection's own transaction, atomically with
the consumed offset, and is idempotent, so a redelivery or a rebuild changes nothing twice.
"""

from __future__ import annotations

from typing import Literal, cast

import asyncpg
from fairline_events.context import CommandContext, continued_trace
from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql
from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.store import EventStore
from pydantic import BaseModel, ConfigDict

from ..domain.commands import AdmitExhibitor, WithdrawExhibitor
from ..domain.events import registry as booths_registry
from ..handlers import admit_exhibitor, withdraw_exhibitor

consumed = EventRegistry()


class Consumed(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    application_id: str


class Company(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name_zh: str
    name_en: str
    country_or_region: str
    participation_mode: Literal["offline", "online", "both"]


@consumed.event("exhibitors.ExhibitorRegistered", version=1)
class ExhibitorRegistered(Consumed):
    applicant: str = "self-registered"
    edition_code: str
    company: Company


@consumed.event("exhibitors.ApplicationEdited", version=1)
class ApplicationEdited(Consumed):
    name_zh: str | None = None
    name_en: str | None = None
    country_or_region: str | None = None
    participation_mode: Literal["offline", "online", "both"] | None = None


@consumed.event("exhibitors.ApplicationApproved", version=1)
class ApplicationApproved(Consumed):
    pass


@consumed.event("exhibitors.ApplicationWithdrawn", version=1)
class ApplicationWithdrawn(Consumed):
    reason: str


admissions = Projection(
    name="booths_admissions",
    topics=["exhibitors.events"],
    registry=consumed,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS applications (
        application_id     text PRIMARY KEY,
        edition_code       text NOT NULL,
        applicant          text NOT NULL,
        name_zh            text NOT NULL,
        name_en            text NOT NULL,
        country_or_region  text NOT NULL,
        participation_mode text NOT NULL
    );
    """,
)


def _bound(tx: ReadModel) -> tuple[EventStore, asyncpg.Connection]:
    """The booths event store inside the runner's transaction, and that transaction: the
    commands append atomically with the consumed offset (the store names its tables by
    schema, so the projection's search_path does not hide them)."""
    connection = cast(asyncpg.Connection, tx)  # the runner's pipeline forwards to it
    return EventStore(cast(asyncpg.Pool, connection), booths_registry), connection


def _context(env: Envelope, process: str) -> CommandContext:
    return CommandContext(
        actor=f"system:{process}",
        reason=f"{env.event_type} from the exhibitors service",
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
        trace_context=continued_trace(env.trace_context),
    )


@admissions.on(ExhibitorRegistered)
async def registered(e: ExhibitorRegistered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO applications VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (application_id) DO NOTHING""",
        e.application_id,
        e.edition_code,
        e.applicant,
        e.company.name_zh,
        e.company.name_en,
        e.company.country_or_region,
        e.company.participation_mode,
    )


@admissions.on(ApplicationEdited)
async def edited(e: ApplicationEdited, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE applications SET name_zh = coalesce($2, name_zh),
             name_en = coalesce($3, name_en),
             country_or_region = coalesce($4, country_or_region),
             participation_mode = coalesce($5, participation_mode)
           WHERE application_id = $1""",
        e.application_id,
        e.name_zh,
        e.name_en,
        e.country_or_region,
        e.participation_mode,
    )


@admissions.on(ApplicationApproved)
async def approved(e: ApplicationApproved, env: Envelope, tx: ReadModel) -> None:
    row = await tx.fetchrow(
        "SELECT * FROM applications WHERE application_id = $1", e.application_id
    )
    if row is None:
        raise LookupError(f"approval of {e.application_id}, never registered")
    command = AdmitExhibitor(
        edition_code=row["edition_code"],
        exhibitor_id=e.application_id,
        applicant=row["applicant"],
        name_zh=row["name_zh"],
        name_en=row["name_en"],
        country_or_region=row["country_or_region"],
        participation_mode=row["participation_mode"],
    )
    store, connection = _bound(tx)
    await admit_exhibitor(store, command, _context(env, "admissions"), connection=connection)


@admissions.on(ApplicationWithdrawn)
async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: ReadModel) -> None:
    """Close the account, release its holds and flag its contracts, in one append."""
    command = WithdrawExhibitor(exhibitor_id=e.application_id, reason=e.reason)
    store, connection = _bound(tx)
    await withdraw_exhibitor(store, command, _context(env, "admissions"), connection=connection)
