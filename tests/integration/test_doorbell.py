"""The relay's wake-up: an append that is its own transaction rings after its commit; one
inside a caller's transaction notifies at that commit. Against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from fairline_events.context import CommandContext
from fairline_events.store import NOTIFY_CHANNEL, EventStore
from support.sample_events import BoothHeld

pytestmark = pytest.mark.infra

ctx = CommandContext(actor="user:sales-1", reason="test")


class Relay:
    """What the relay sees: each wake-up, and how many events were committed at that moment."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.readable_at_wakeups: list[int] = []
        self._reads: list[asyncio.Task[None]] = []

    def woken(self, *_: object) -> None:
        self._reads.append(asyncio.create_task(self._read()))

    async def _read(self) -> None:
        # Committed events, whatever else runs on the server: `read_all` also waits out any
        # older transaction of the cluster, another test's included.
        committed = await self.store.pool.fetchval("SELECT count(*) FROM public.events")
        self.readable_at_wakeups.append(committed)

    async def settled(self) -> list[int]:
        await asyncio.sleep(0.3)  # a ring still on its way
        await asyncio.gather(*self._reads)
        return self.readable_at_wakeups


@pytest.fixture
async def relay(store: EventStore, pool: asyncpg.Pool) -> AsyncIterator[Relay]:
    watcher = Relay(store)
    async with pool.acquire() as conn:
        await conn.add_listener(NOTIFY_CHANNEL, watcher.woken)
        yield watcher
        await conn.remove_listener(NOTIFY_CHANNEL, watcher.woken)


def held(booth: str) -> BoothHeld:
    return BoothHeld(booth=booth, exhibitor="ex-1", hall="E1")


async def test_an_append_wakes_the_relay_when_its_event_can_be_read(
    store: EventStore, relay: Relay
) -> None:
    await store.append("booth-A1", [held("A1")], 0, ctx)
    assert await relay.settled() == [1]


async def test_the_last_append_of_a_burst_wakes_the_relay_with_fewer_rings_than_appends(
    store: EventStore, relay: Relay
) -> None:
    await asyncio.gather(
        *(store.append(f"booth-B{i}", [held(f"B{i}")], 0, ctx) for i in range(200))
    )
    wakeups = await relay.settled()
    assert wakeups, "the relay was never woken"
    assert wakeups[-1] == 200, f"the last wake-up saw {wakeups[-1]} of 200 events"
    assert len(wakeups) < 200, "one NOTIFY per append again"


async def test_an_append_in_a_transaction_wakes_the_relay_at_commit_and_never_on_rollback(
    store: EventStore, relay: Relay, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await store.append("booth-C1", [held("C1")], 0, ctx, connection=conn)
        await asyncio.sleep(0.2)
        assert relay.readable_at_wakeups == [], "woken before the commit"
        await tx.rollback()
        async with conn.transaction():
            await store.append("booth-C2", [held("C2")], 0, ctx, connection=conn)
    assert await relay.settled() == [1]
    assert await pool.fetchval("SELECT array_agg(stream_id) FROM public.events") == ["booth-C2"]
