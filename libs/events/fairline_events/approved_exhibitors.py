"""The approved exhibitors of an edition, learnt from the exhibitors service's events.

Booths sells only to them and forums lets only them organise; both learn it the same way,
from here: a policy over `exhibitors.events`, run by the projection runner (its checkpoint,
its transaction, its retries), that
- decodes only the four events it needs, with its own models that read only the fields used
  (the producer may add fields freely), and never reads the exhibitors database;
- keeps one table, `applications`: a registration's edition, applicant and company, kept
  only until the approval that needs them (the approval itself names none of them);
- turns an approval and a withdrawal into the service's own commands, through its own
  handlers, in the runner's transaction: atomically with the consumed offset, so with
  idempotent commands a redelivery or a rebuild changes nothing twice.

What stays in each service is only its own: the policy's name, who acts, and what an
approval and a withdrawal become there (`on_approved`, `on_withdrawn`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .envelope import Envelope
from .policy import PolicyCommands, policy_commands
from .projection import Projection, ReadModel, Sql, sql
from .registry import DomainEvent, EventRegistry

TOPIC = "exhibitors.events"
ParticipationMode = Literal["offline", "online", "both"]

consumed = EventRegistry()
"""The exhibitors' events these policies decode (every other type on the topic is ignored)."""


class _Consumed(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    application_id: str


class _Company(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    name_zh: str
    name_en: str
    country_or_region: str
    participation_mode: ParticipationMode


@consumed.event("exhibitors.ExhibitorRegistered", version=1)
class ExhibitorRegistered(_Consumed):
    applicant: str = "self-registered"
    edition_code: str
    company: _Company


@consumed.event("exhibitors.ApplicationEdited", version=1)
class ApplicationEdited(_Consumed):
    name_zh: str | None = None
    name_en: str | None = None
    country_or_region: str | None = None
    participation_mode: ParticipationMode | None = None


@consumed.event("exhibitors.ApplicationApproved", version=1)
class ApplicationApproved(_Consumed):
    pass


@consumed.event("exhibitors.ApplicationWithdrawn", version=1)
class ApplicationWithdrawn(_Consumed):
    reason: str


@dataclass(frozen=True)
class Application:
    """An approved application, as registered (and edited) at the exhibitors service."""

    application_id: str
    edition_code: str
    applicant: str
    name_zh: str
    name_en: str
    country_or_region: str
    participation_mode: ParticipationMode


OnApproved = Callable[[Application, PolicyCommands], Awaitable[object]]
OnWithdrawn = Callable[[str, str, PolicyCommands], Awaitable[object]]
"""(application id, reason, commands)."""

TABLES_SQL = """
CREATE TABLE IF NOT EXISTS applications (
    application_id     text PRIMARY KEY,
    edition_code       text NOT NULL,
    applicant          text NOT NULL,
    name_zh            text NOT NULL,
    name_en            text NOT NULL,
    country_or_region  text NOT NULL,
    participation_mode text NOT NULL
);
-- Added in place where a policy kept only the names (forums before they were shared).
ALTER TABLE applications ADD COLUMN IF NOT EXISTS country_or_region text NOT NULL DEFAULT '';
ALTER TABLE applications ADD COLUMN IF NOT EXISTS participation_mode text NOT NULL DEFAULT '';
"""


def approved_exhibitors(
    *,
    name: str,
    registry: EventRegistry,
    actor: str,
    on_approved: OnApproved,
    on_withdrawn: OnWithdrawn,
) -> Projection:
    """The policy `name`, appending to the store of `registry` as `actor`."""
    policy = Projection(name=name, topics=[TOPIC], registry=consumed, tables_sql=TABLES_SQL)

    def commands(tx: ReadModel, env: Envelope) -> PolicyCommands:
        return policy_commands(tx, registry, env, actor=actor, source="exhibitors")

    @policy.on(ExhibitorRegistered)
    async def registered(e: ExhibitorRegistered, env: Envelope, tx: ReadModel) -> Sql:
        return sql(
            """INSERT INTO applications (application_id, edition_code, applicant, name_zh,
                 name_en, country_or_region, participation_mode)
               VALUES ($1, $2, $3, $4, $5, $6, $7)
               ON CONFLICT (application_id) DO NOTHING""",
            e.application_id,
            e.edition_code,
            e.applicant,
            e.company.name_zh,
            e.company.name_en,
            e.company.country_or_region,
            e.company.participation_mode,
        )

    @policy.on(ApplicationEdited)
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

    @policy.on(ApplicationApproved)
    async def approved(e: ApplicationApproved, env: Envelope, tx: ReadModel) -> None:
        row = await tx.fetchrow(
            """SELECT application_id, edition_code, applicant, name_zh, name_en,
                      country_or_region, participation_mode
               FROM applications WHERE application_id = $1""",
            e.application_id,
        )
        if row is None:  # dead-lettered: an approval of an application never registered
            raise LookupError(f"approval of {e.application_id}, never registered")
        await on_approved(Application(**dict(row)), commands(tx, env))

    @policy.on(ApplicationWithdrawn)
    async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: ReadModel) -> None:
        await on_withdrawn(e.application_id, e.reason, commands(tx, env))

    return policy
