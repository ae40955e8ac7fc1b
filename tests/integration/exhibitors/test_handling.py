"""Commands over several streams: they queue on a shared stream, and readers of the event
table (the relay) see each stream's versions in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from exhibitors.domain.cards import CARD_REQUESTS, CountRequest, RateLimit
from exhibitors.service import definition
from exhibitors.streams import windows
from fairline_events.context import CommandContext
from fairline_events.db import migrate
from fairline_events.store import EventStore
from fairline_events.transact import Step, step, stepwise, transact
from fairline_events.transact import Streams as Loader

pytestmark = pytest.mark.infra

UNLIMITED = windows(RateLimit(limit=10_000, window=CARD_REQUESTS.window))


def count(person: str, n: int) -> CountRequest:
    return CountRequest(requester=person, exchange_id=f"x-{n}", at=datetime.now(UTC))


async def test_a_hot_stream_queues_and_keeps_its_versions_in_commit_order(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool)
    store = EventStore(pool, definition.registry)
    ctx = CommandContext(actor="user:test")
    writers = 12
    # Each command first locks a stream of its own that exists already, then the shared one.
    for i in range(writers):
        await transact(store, stepwise([step(UNLIMITED, f"own-{i}", count(f"own-{i}", 0))]), ctx)

    def command(i: int) -> Any:
        async def plan(load: Loader) -> list[Step[Any]]:
            await load(UNLIMITED, f"own-{i}")
            await asyncio.sleep(0.01)  # let the others take their own locks meanwhile
            return [
                step(UNLIMITED, f"own-{i}", count(f"own-{i}", 1)),
                step(UNLIMITED, "shared", count("shared", i)),
            ]

        return plan

    await asyncio.gather(*(transact(store, stepwise(command(i)), ctx) for i in range(writers)))

    assert await store.stream_version("shared") == writers  # every one of them, no 409
    rows = await pool.fetch(
        "SELECT stream_version FROM events WHERE stream_id = 'shared' ORDER BY tx_id, position"
    )
    assert [r["stream_version"] for r in rows] == list(range(1, writers + 1))
