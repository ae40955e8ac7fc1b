"""Deadlines that fire on their own and survive restarts: hold expiry and offer lapse.

Each run reads what is due from the floor plan (durable, in PostgreSQL) and issues the same
commands as everyone else, through the same handlers; a command whose booth changed
meanwhile decides nothing, so a late, repeated or concurrent run changes nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from fairline_events.context import CommandContext, utc_now
from fairline_events.errors import DomainError
from fairline_events.jobs import Job
from fairline_events.service import Runtime
from fairline_events.transact import CommandHandler

from .domain.commands import ExpireHold, LapseOffer
from .handlers import expire_hold, lapse_offer
from .projections import floor_plan

log = structlog.get_logger(__name__)

BATCH = 200

C = TypeVar("C", ExpireHold, LapseOffer)


async def _run_due(
    runtime: Runtime,
    column: str,
    status: str,
    process: str,
    handler: CommandHandler[C],
    due: Callable[[str, str], C],
) -> int:
    assert runtime.pool is not None and runtime.store is not None
    rows = await runtime.pool.fetch(
        f"""SELECT edition_code, booth_code FROM {floor_plan.schema}.booths
            WHERE status = $1 AND {column} <= $2 ORDER BY {column} LIMIT $3""",
        status,
        utc_now(),
        BATCH,
    )
    handled = 0
    for row in rows:
        edition, code = row["edition_code"], row["booth_code"]
        context = CommandContext.system(process, reason=f"{column} passed")
        try:
            await handler(runtime.store, due(edition, code), context)
            handled += 1
        except DomainError as exc:  # the booth changed meanwhile: nothing is due any more
            log.info("deadline skipped", job=process, booth=code, code=exc.code)
    return handled


async def expire_holds(runtime: Runtime) -> int:
    def due(edition: str, code: str) -> ExpireHold:
        return ExpireHold(edition_code=edition, booth_code=code)

    return await _run_due(runtime, "hold_expires_at", "held", "hold-expiry", expire_hold, due)


async def lapse_offers(runtime: Runtime) -> int:
    def due(edition: str, code: str) -> LapseOffer:
        return LapseOffer(edition_code=edition, booth_code=code)

    return await _run_due(runtime, "offer_until", "offered", "offer-lapse", lapse_offer, due)


hold_expiry = Job(name="booths.hold-expiry", every=1.0, run=expire_holds)
offer_lapse = Job(name="booths.offer-lapse", every=1.0, run=lapse_offers)
