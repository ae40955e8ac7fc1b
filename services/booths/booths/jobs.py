"""Deadlines that fire on their own and survive restarts: hold expiry and offer lapse.

Each run reads what is due from the floor plan (durable, in PostgreSQL) and issues ordinary
commands; a command whose booth changed meanwhile decides nothing, so a late, repeated or
concurrent run changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog
from fairline_events.context import CommandContext
from fairline_events.errors import DomainError
from fairline_events.jobs import Job
from fairline_events.registry import DomainEvent
from fairline_events.service import Runtime

from .domain import sales
from .domain.commands import ExpireHold, LapseOffer
from .handling import on_occupied
from .projections import floor_plan

log = structlog.get_logger(__name__)

BATCH = 200


def now() -> datetime:
    return datetime.now(UTC)


async def _run_due(
    runtime: Runtime,
    column: str,
    status: str,
    process: str,
    decide: Callable[[str, str], Callable[..., Sequence[DomainEvent]]],
    command: str,
) -> int:
    assert runtime.pool is not None and runtime.store is not None
    due = await runtime.pool.fetch(
        f"""SELECT edition_code, booth_code FROM {floor_plan.schema}.booths
            WHERE status = $1 AND {column} <= $2 ORDER BY {column} LIMIT $3""",
        status,
        now(),
        BATCH,
    )
    handled = 0
    for row in due:
        edition, code = row["edition_code"], row["booth_code"]
        context = CommandContext.system(process, reason=f"{column} passed")
        try:
            await on_occupied(
                runtime.store, edition, code, decide(edition, code), context, command, now
            )
            handled += 1
        except DomainError as exc:  # the booth changed meanwhile: nothing is due any more
            log.info("deadline skipped", job=process, booth=code, code=exc.code)
    return handled


async def expire_holds(runtime: Runtime) -> int:
    def decide(edition: str, code: str) -> Callable[..., Sequence[DomainEvent]]:
        command = ExpireHold(edition_code=edition, booth_code=code)
        return lambda *state: sales.expire(command, *state)

    return await _run_due(runtime, "hold_expires_at", "held", "hold-expiry", decide, "ExpireHold")


async def lapse_offers(runtime: Runtime) -> int:
    def decide(edition: str, code: str) -> Callable[..., Sequence[DomainEvent]]:
        command = LapseOffer(edition_code=edition, booth_code=code)
        return lambda booth, _account, line, market, at: sales.lapse(
            command, booth, line, market, at
        )

    return await _run_due(runtime, "offer_until", "offered", "offer-lapse", decide, "LapseOffer")


hold_expiry = Job(name="booths.hold-expiry", every=1.0, run=expire_holds)
offer_lapse = Job(name="booths.offer-lapse", every=1.0, run=lapse_offers)
