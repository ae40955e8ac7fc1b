"""Two API processes selling one quota: each prefers its own shards (its desk's), neither
ever oversells, and a desk that is gone strands none of its shards' places."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import pytest
from fairline_events.errors import DomainError
from fairline_events.store import EventStore
from tickets.desks import ALIVE, Desk, SalesDesks
from tickets.domain import quota as quotas
from tickets.domain.events import QuotaKey, QuotaTaken, registry
from tickets.domain.quota import QUOTA
from tickets.handlers import place_order_spread
from tickets.shards import ShardRotation

from .conftest import DAY1, EDITION, MORNING, Api, at, day_order, seed_visitors

pytestmark = pytest.mark.infra

CONTEXT = at(MORNING - timedelta(days=30))
IN_FLIGHT = 6
"""Orders one process has in flight at once: a rush of a few hundred a second each."""


class Process:
    """What one API process holds of its own: its store's cache and its rotation."""

    def __init__(self, api: Api, desk: Desk) -> None:
        self.store = EventStore(api.runtime.pool, registry)
        self.rotation = ShardRotation(desk=desk)
        self.shards: Counter[int] = Counter()
        self.in_flight = asyncio.Semaphore(IN_FLIGHT)

    async def buy(self, visitor_id: str) -> str:
        async with self.in_flight:
            return await self._buy(visitor_id)

    async def _buy(self, visitor_id: str) -> str:
        command = day_order(f"o-{visitor_id}", [visitor_id])
        try:
            outcome = await place_order_spread(self.store, command, CONTEXT, at=self.rotation)
        except DomainError as refused:
            return refused.code
        self.shards.update(e.shard for e in outcome.events if isinstance(e, QuotaTaken))
        return "held"


async def quota_taken(api: Api) -> list[int]:
    shards = quotas.shard_streams(EDITION, QuotaKey(day=DAY1, venue="cncc", visitor_class="public"))
    loaded = await api.store.load_many([(s, QUOTA.evolve, QUOTA.initial(s)) for s in shards])
    for state, _ in loaded:
        assert state.taken <= (state.capacity or 0), state
    return [state.taken for state, _ in loaded]


async def test_two_desks_racing_on_one_quota_sell_exactly_it_each_from_its_own_shards(
    api: Api,
) -> None:
    await api.product()
    await api.quota(200)
    visitors = await seed_visitors(api.store, 600, account="visitor-1", prefix="dk")
    desks = [Process(api, Desk(number=0, of=2)), Process(api, Desk(number=1, of=2))]
    # each process has sold once (it knows the product and the shards), as after a warm-up
    assert [await p.buy(v) for p, v in zip(desks, visitors, strict=False)] == ["held"] * 2
    racing = visitors[2:]
    answers = Counter(await asyncio.gather(*(desks[n % 2].buy(v) for n, v in enumerate(racing))))
    assert answers == {"held": 198, "sold_out": 400}, answers
    assert sum(await quota_taken(api)) == 200
    # Each desk sold from its own four shards (25 places each) while they had room, and
    # from the other's only while all of its own were being written for a while, or full:
    # three in four places or more from its own (one in two without desks).
    for number, process in enumerate(desks):
        own = sum(n for shard, n in process.shards.items() if shard % 2 == number)
        assert own >= 0.75 * sum(process.shards.values()), (number, process.shards)


async def test_a_desk_left_alone_sells_the_shards_of_the_desk_that_is_gone(api: Api) -> None:
    await api.product()
    await api.quota(40)
    visitors = await seed_visitors(api.store, 60, account="visitor-1", prefix="dl")
    alone = Process(api, Desk(number=1, of=2))  # desk 0 of 2 died
    answers = Counter([await alone.buy(v) for v in visitors[:1]])
    answers.update(await asyncio.gather(*(alone.buy(v) for v in visitors[1:])))
    assert answers == {"held": 40, "sold_out": 20}, answers
    assert await quota_taken(api) == [5] * quotas.SHARDS


async def test_desks_number_themselves_among_the_live_ones_and_a_dead_one_drops_out(
    api: Api,
) -> None:
    pool = api.runtime.pool
    first, second = SalesDesks(), SalesDesks()
    # claimed at once: two desks taking the same free slot must still end apart
    claimed = await asyncio.gather(first.renew(pool), second.renew(pool))
    assert {first.slot, second.slot} == {0, 1}, claimed
    assert {(await first.renew(pool)).number, (await second.renew(pool)).number} == {0, 1}
    assert (await first.renew(pool)).of == 2
    # the first stops renewing (its process died): once its slot is older than ALIVE, the
    # second is the only desk, and a desk that starts takes the freed slot
    await pool.execute(
        "UPDATE sales_desks SET seen = now() - make_interval(secs => $1) WHERE slot = $2",
        ALIVE + 1,
        first.slot,
    )
    assert await second.renew(pool) == Desk(number=0, of=1)
    third = SalesDesks()
    await third.renew(pool)
    assert third.slot == first.slot
    assert {(await second.renew(pool)).number, (await third.renew(pool)).number} == {0, 1}


async def test_a_desk_that_stops_cleanly_gives_its_shards_back_at_once(api: Api) -> None:
    pool = api.runtime.pool
    leaving, staying = SalesDesks(), SalesDesks()
    await asyncio.gather(leaving.renew(pool), staying.renew(pool))
    assert (await staying.renew(pool)).of == 2
    leaving.keep(pool)  # a renewal under way when the process is told to stop

    await leaving.close(pool)

    assert leaving.desk == Desk() and leaving.slot is None
    assert await staying.renew(pool) == Desk(number=0, of=1)  # not ALIVE seconds later
