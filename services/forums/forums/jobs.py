"""The service's clock: offers of freed seats that were not claimed in time pass on.

The job finds due offers in the read model, not in memory, so a restart loses nothing: an
offer that lapsed while the service was down passes on at the first tick after it comes
back. Lapsing is an ordinary, idempotent command: a late or repeated run changes nothing
twice, and an offer claimed meanwhile is left alone.
"""

from __future__ import annotations

import structlog
from fairline_events.context import Clock, CommandContext, utc_now
from fairline_events.errors import DomainError
from fairline_events.jobs import Job
from fairline_events.service import Runtime

from .domain.commands import LapseOffer
from .handlers import lapse_offer
from .projections import programme

log = structlog.get_logger(__name__)


async def lapse_due_offers(runtime: Runtime, clock: Clock = utc_now) -> int:
    """Pass on every offer whose claim window has closed (`clock`: a test moves time)."""
    assert runtime.pool is not None and runtime.store is not None
    due = await runtime.pool.fetch(
        f"""SELECT forum_id, person FROM {programme.schema}.attendees
            WHERE standing = 'offered' AND claim_until <= $1
            ORDER BY claim_until LIMIT 200""",
        clock(),
    )
    lapsed = 0
    context = CommandContext(
        actor="system:offer-lapse", reason="the claim window passed", clock=clock
    )
    for row in due:
        command = LapseOffer(forum_id=row["forum_id"], person=row["person"])
        try:
            outcome = await lapse_offer(runtime.store, command, context)
            lapsed += bool(outcome.events)
        except DomainError as exc:
            log.warning("offer not lapsed", forum_id=row["forum_id"], code=exc.code)
    return lapsed


offer_lapse_job = Job(name="forums.offer-lapse", every=1.0, run=lapse_due_offers)
