"""Commands over several streams: they queue on a shared stream, and readers of the event
table (the relay) see each stream's versions in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from exhibitors.domain.cards import CARD_REQUESTS, WINDOW, CountRequest, RateLimit, decide_window
from exhibitors.service import definition
from fairline_events.context import CommandContext
from fairline_events.db import migrate
from fairline_events.store import EventStore
from fairline_events.transact import Streams, command_handler

pytestmark = pytest.mark.infra

UNLIMITED = RateLimit(limit=10_000, window=CARD_REQUESTS.window)


def count(person: str, n: int) -> CountRequest:
    return CountRequest(requester=person, exchange_id=f"x-{n}", at=datetime.now(UTC))


@command_handler
async def count_own(command: CountRequest, streams: Streams) -> dict[str, Any]:
    stream = command.requester
    return {stream: decide_window(command, await streams(WINDOW, stream), UNLIMITED)}


@command_handler
async def count_own_then_shared(n: int, streams: Streams) -> dict[str, Any]:
    """Locks a stream of its own that exists already, then, a moment later, the shared one."""
    own, shared = f"own-{n}", "shared"
    mine = await streams(WINDOW, own)
    await asyncio.sleep(0.01)  # let the others take their own locks meanwhile
    everyone = await streams(WINDOW, shared)
    return {
        own: decide_window(count(f"own-{n}", 1), mine, UNLIMITED),
        shared: decide_window(count("shared", n), everyone, UNLIMITED),
    }


async def test_a_hot_stream_queues_and_keeps_its_versions_in_commit_order(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool)
    store = EventStore(pool, definition.registry)
    ctx = CommandContext(actor="user:test")
    writers = 12
    # Each command first locks a stream of its own that exists already, then the shared one.
    for i in range(writers):
        await count_own(store, count(f"own-{i}", 0), ctx)

    await asyncio.gather(*(count_own_then_shared(store, i, ctx) for i in range(writers)))

    assert await store.stream_version("shared") == writers  # every one of them, no 409
    rows = await pool.fetch(
        "SELECT stream_version FROM events WHERE stream_id = 'shared' ORDER BY tx_id, position"
    )
    assert [r["stream_version"] for r in rows] == list(range(1, writers + 1))
