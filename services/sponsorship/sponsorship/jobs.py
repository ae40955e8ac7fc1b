"""The expiry clock: offers past their date give their tier place and category back, and
holds past their end give their days back.

It finds its work in the desk read model, so a restart loses nothing: what fell due while the
service was down expires on the first tick after it comes back. Each is a command decided
again on its own stream, so a stale read model (an offer signed a moment ago) expires
nothing it should not. A lapsed hold already stops counting against its days the moment it
lapses; the job only records it.
"""

from __future__ import annotations

import structlog
from fairline_events.context import CommandContext
from fairline_events.errors import DomainError
from fairline_events.jobs import Job
from fairline_events.service import Runtime

from .domain.commands import ExpireOffer, LapseHold
from .handlers import expire_offer, lapse_hold
from .projections import desk

log = structlog.get_logger(__name__)


async def expire_due(runtime: Runtime, batch: int = 200) -> int:
    assert runtime.pool is not None and runtime.store is not None
    offers = await runtime.pool.fetch(
        f"""SELECT package_id FROM {desk.schema}.packages
            WHERE status = 'offered' AND expires_at <= now() ORDER BY expires_at LIMIT $1""",
        batch,
    )
    holds = await runtime.pool.fetch(
        f"""SELECT booking_id FROM {desk.schema}.bookings
            WHERE status = 'held' AND expires_at <= now() ORDER BY expires_at LIMIT $1""",
        batch,
    )
    expired = 0
    context = CommandContext.system("sponsorship-expiry", reason="past its date")
    for offer in offers:
        try:
            command = ExpireOffer(package_id=offer["package_id"])
            expired += bool((await expire_offer(runtime.store, command, context)).events)
        except DomainError as exc:
            log.warning("offer not expired", package_id=offer["package_id"], code=exc.code)
    for held in holds:
        try:
            lapse = LapseHold(booking_id=held["booking_id"])
            expired += bool((await lapse_hold(runtime.store, lapse, context)).events)
        except DomainError as exc:
            log.warning("hold not released", booking_id=held["booking_id"], code=exc.code)
    return expired


expiry_job = Job(name="sponsorship.expiry", every=5.0, run=expire_due)
