"""The expiry clock: unpaid orders past their hold give their places back.

It finds its work in the sales read model, so a restart loses nothing: an order whose hold
ended while the service was down expires on the first tick after it comes back. Each is the
`expire_order` command, decided again on the order's own stream, so a stale read model (an
order paid a moment ago) expires nothing it should not.
"""

from __future__ import annotations

import structlog
from fairline_events.context import CommandContext
from fairline_events.errors import DomainError
from fairline_events.jobs import Job
from fairline_events.service import Runtime

from .domain.commands import ExpireOrder
from .handlers import expire_order
from .projections import views

log = structlog.get_logger(__name__)


async def expire_unpaid_orders(runtime: Runtime, batch: int = 500) -> int:
    assert runtime.pool is not None and runtime.store is not None
    due = await runtime.pool.fetch(
        f"""SELECT order_id FROM {views.schema}.orders
            WHERE status = 'held' AND expires_at <= now() ORDER BY expires_at LIMIT $1""",
        batch,
    )
    expired = 0
    context = CommandContext.system("order-expiry", reason="not paid within the hold")
    for row in due:
        try:
            outcome = await expire_order(
                runtime.store, ExpireOrder(order_id=row["order_id"]), context
            )
        except DomainError as exc:
            log.warning("order not expired", order_id=row["order_id"], code=exc.code)
            continue
        expired += bool(outcome.events)
    return expired


expiry_job = Job(name="tickets.order-expiry", every=1.0, run=expire_unpaid_orders)
