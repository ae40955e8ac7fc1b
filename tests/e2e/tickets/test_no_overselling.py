"""The shop opens and everyone tries at once: a day quota is never oversold, every other
buyer gets a clean sold-out answer, nothing stays stuck."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fairline_events.errors import DomainError
from fairline_events.store import EventStore
from support.waiting import eventually
from tickets.api.orders import accept_notification
from tickets.domain import quota as quotas
from tickets.domain.events import QuotaKey, registry
from tickets.domain.quota import QUOTA
from tickets.handlers import place_order

from .conftest import DAY1, EDITION, MORNING, Api, at, day_order, seed_visitors

pytestmark = pytest.mark.infra

BUYERS, PLACES = 5000, 1000


async def test_5000_concurrent_orders_for_1000_places_issue_exactly_1000_tickets(api: Api) -> None:
    await api.product()
    await api.quota(PLACES)
    visitors = await seed_visitors(api.store, BUYERS, account="visitor-1")
    context = at(MORNING - timedelta(days=30))
    started = time.monotonic()

    async def buy(visitor_id: str) -> str:
        try:
            await place_order(api.store, day_order(f"o-{visitor_id}", [visitor_id]), context)
        except DomainError as refused:
            return refused.code
        return "held"

    answers = Counter(await asyncio.gather(*(buy(v) for v in visitors)))
    ordering = time.monotonic() - started
    assert answers == {"held": PLACES, "sold_out": BUYERS - PLACES}, answers

    # Every held order is paid through the provider's signed callback, all at once.
    devpay = api.devpay
    held = [f"o-{v}" for v in visitors]
    notes = [devpay.notify(order_id, 10000) for order_id in held]

    async def pay(body: bytes, signature: str) -> str:
        try:
            return (await accept_notification(api.store, devpay, body, signature)).status
        except DomainError as refused:
            return refused.code

    paid = Counter(await asyncio.gather(*(pay(b, s) for b, s in notes)))
    assert paid == {"recorded": PLACES, "order_not_found": BUYERS - PLACES}, paid
    issued = await api.runtime.pool.fetchval(
        "SELECT count(*) FROM public.events WHERE event_type = 'tickets.ticket_issued'"
    )
    assert issued == PLACES

    # What the box office sees: 1,000 sold, none held, none left, nothing stuck.
    sales = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/sales", "box"),
        lambda s: [d["sold"] for d in s["days"] if d["day"] == DAY1.isoformat()] == [PLACES],
        what="the sales read model with every ticket",
    )
    [day1] = [d for d in sales["days"] if d["day"] == DAY1.isoformat()]
    assert (day1["held"], day1["remaining"]) == (0, {"public": 0})
    assert sales["products"][0]["revenue"] == PLACES * 10000
    assert ordering < 60, f"{BUYERS} orders took {ordering:.0f}s"

    # A process that starts now reads the rushed shards from their snapshots (taken every
    # hundred events by reads outside a transaction: the optimistic attempts, the sold-out
    # glances), not from their first order, and sees what the events say: all places taken.
    shards = quotas.shard_streams(EDITION, QuotaKey(day=DAY1, venue="cncc", visitor_class="public"))
    kept = await api.runtime.pool.fetch(
        "SELECT stream_id, version, state FROM public.snapshots WHERE stream_id = ANY($1)", shards
    )
    assert kept and all(r["version"] >= 100 for r in kept), kept
    history = {s: [e.event(registry) for e in await api.store.read_stream(s)] for s in shards}
    for snapshot in kept:
        shard = snapshot["stream_id"]
        then = QUOTA.fold(shard, history[shard][: snapshot["version"]])
        assert json.loads(snapshot["state"])["taken"] == then.taken
    restarted = EventStore(api.runtime.pool, registry)
    loaded = await restarted.load_many([(s, QUOTA.evolve, QUOTA.initial(s)) for s in shards])
    for shard, (state, _) in zip(shards, loaded, strict=True):
        assert state == QUOTA.fold(shard, history[shard])
    assert sum(state.taken for state, _ in loaded) == PLACES


async def test_over_http_the_losers_get_a_clean_sold_out_answer(api: Api) -> None:
    await api.product()
    await api.quota(20)
    visitors = await seed_visitors(api.store, 120, account="visitor-1", prefix="hv")
    responses = await asyncio.gather(*(api.order([v]) for v in visitors))
    codes = Counter(
        r.status_code if r.status_code == 201 else r.json()["error"]["code"] for r in responses
    )
    assert codes == {201: 20, "sold_out": 100}, codes
    await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/quotas", "box"),
        lambda q: bool(q) and q[0]["taken"] == 20 and q[0]["left"] == 0,
        what="the quota read model with every place taken",
    )


async def test_unpaid_orders_expire_and_give_their_places_back(api: Api) -> None:
    await api.product()
    await api.quota(2)
    [v1, v2, v3] = [(await api.register())["visitor_id"] for _ in range(3)]
    # Placed 20 minutes ago (by the service's clock), so their 15-minute hold is over.
    api.clock(datetime.now(UTC) - timedelta(minutes=20))
    first = (await api.order([v1, v2])).json()
    api.clock(None)
    assert (await api.order([v3])).json()["error"]["code"] == "sold_out"
    expired = await eventually(
        lambda: api.ok("GET", f"/orders/{first['order_id']}", "visitor"),
        lambda o: o["status"] == "expired",
        what="the expiry job releasing the unpaid order",
    )
    assert expired["checkout"] is None
    again = await api.order([v3])
    assert again.status_code == 201, again.text


async def test_the_sales_view_counts_places_held_given_back_and_taken_again_by_a_late_payment(
    api: Api,
) -> None:
    """An order's places are counted with the order (its OrderPlaced names them), not a second
    time for its QuotaTaken; a late payment's places taken again count on their own."""
    await api.product()
    await api.quota(3)
    [v1, v2] = [(await api.register())["visitor_id"] for _ in range(2)]

    async def remaining(expected: int) -> None:
        def day1(sales: dict[str, Any]) -> dict[str, Any]:
            [day] = [d for d in sales["days"] if d["day"] == DAY1.isoformat()]
            return day  # type: ignore[no-any-return]

        await eventually(
            lambda: api.ok("GET", f"/editions/{EDITION}/sales", "box"),
            lambda s: day1(s)["remaining"] == {"public": expected},
            what=f"{expected} places left in the sales view",
        )

    api.clock(datetime.now(UTC) - timedelta(minutes=20))  # its 15-minute hold is over
    late = (await api.order([v1, v2])).json()
    api.clock(None)
    await remaining(1)
    await eventually(
        lambda: api.ok("GET", f"/orders/{late['order_id']}", "visitor"),
        lambda o: o["status"] == "expired",
        what="the expiry job releasing the unpaid order",
    )
    await remaining(3)
    await api.pay(late)  # paid after expiry, its places still free: taken again, issued
    paid = await api.ok("GET", f"/orders/{late['order_id']}", "visitor")
    assert paid["status"] == "issued"
    await remaining(1)
