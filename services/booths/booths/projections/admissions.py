"""Who may buy: the exhibitors service's approvals and withdrawals, turned into commands.

A policy over the `exhibitors.events` topic. Its consumer-side models read only the fields
booths needs and ignore any others, so the producer may add fields freely. An approval
admits the exhibitor's account; a withdrawal closes it, releases its holds and flags its
contracts. Each command is appended in the projection's own transaction, atomically with
the consumed offset, and is idempotent, so a redelivery or a rebuild changes nothing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.decider import Fold, handle
from fairline_events.envelope import Envelope
from fairline_events.projection import Projection
from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.store import EventStore
from pydantic import BaseModel, ConfigDict

from ..domain import sales, streams
from ..domain.account import Account
from ..domain.booth import Booth
from ..domain.catalogue import Catalogue
from ..domain.commands import AdmitExhibitor, WithdrawExhibitor
from ..domain.events import registry as booths_registry
from ..domain.pricing import PriceList
from ..domain.sales import Market
from ..domain.waitlist import Waitlist
from ..handling import ACCOUNT, BOOTH, WAITLIST, accounts, decide_across, load, load_market

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


async def _store(tx: asyncpg.Connection) -> EventStore:
    """The booths event store inside this projection's transaction.

    The runner points `search_path` at the projection's schema only; the event tables live
    in `public`, so it is added behind the projection's schema for the rest of the batch.
    """
    await tx.execute(
        "SELECT set_config('search_path', current_setting('search_path') || ', public', true)"
    )
    return EventStore(tx, booths_registry)


def _context(env: Envelope, process: str) -> CommandContext:
    return CommandContext(
        actor=f"system:{process}",
        reason=f"{env.event_type} from the exhibitors service",
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
        trace_context=env.trace_context,
    )


@admissions.on(ExhibitorRegistered)
async def registered(e: ExhibitorRegistered, env: Envelope, tx: asyncpg.Connection) -> None:
    await tx.execute(
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
async def edited(e: ApplicationEdited, env: Envelope, tx: asyncpg.Connection) -> None:
    await tx.execute(
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
async def approved(e: ApplicationApproved, env: Envelope, tx: asyncpg.Connection) -> None:
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
    stream = streams.account_stream(e.application_id)
    store = await _store(tx)
    await handle(store, accounts, stream, command, _context(env, "admissions"), connection=tx)


@admissions.on(ApplicationWithdrawn)
async def withdrawn(e: ApplicationWithdrawn, env: Envelope, tx: asyncpg.Connection) -> None:
    await withdraw(await _store(tx), tx, e.application_id, e.reason, env)


async def withdraw(
    store: EventStore, tx: asyncpg.Connection, exhibitor_id: str, reason: str, env: Envelope
) -> None:
    """Close the account, release its holds and flag its contracts, in one append."""
    account: Account = await load(store, ACCOUNT, streams.account_stream(exhibitor_id), tx)
    if account.status != "admitted" or account.edition_code is None:
        return
    edition = account.edition_code
    codes = sorted(set(account.holds) | {c for c in account.contracts.values() if c})
    market = (
        await load_market(store, edition, tx)
        if codes
        else Market(Catalogue(edition_code=edition), PriceList(edition_code=edition))
    )
    zones = set()
    for code in codes:
        booth: Booth = await load(store, BOOTH, streams.booth_stream(edition, code), tx)
        zones.add(booth.listed().zone_code)
    sources: list[tuple[str, Fold[Any]]] = [(streams.account_stream(exhibitor_id), ACCOUNT)]
    sources += [(streams.booth_stream(edition, code), BOOTH) for code in codes]
    sources += [(streams.waitlist_stream(edition, zone), WAITLIST) for zone in sorted(zones)]
    command = WithdrawExhibitor(exhibitor_id=exhibitor_id, reason=reason)

    def decision(account: Account, *rest: object) -> list[DomainEvent]:
        booth_states = {b.booth_code: b for b in rest[: len(codes)] if isinstance(b, Booth)}
        lines = {w.zone_code: w for w in rest[len(codes) :] if isinstance(w, Waitlist)}
        return sales.withdraw(command, account, booth_states, lines, market, datetime.now(UTC))

    await decide_across(
        store,
        sources,
        decision,
        _context(env, "admissions"),
        command="WithdrawExhibitor",
        connection=tx,
    )
