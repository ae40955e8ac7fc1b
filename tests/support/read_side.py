"""A relay and a live projection of the sample booth board, as a worker runs them, against
the real broker and database: what the read-side integration tests drive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from fairline_events.db import migrate
from fairline_events.kafka import KafkaAccess, ensure_topics
from fairline_events.projection import LiveProjection, ProjectionRunner
from fairline_events.relay import Relay
from fairline_events.store import EventStore
from fairline_stack.resolve import Infra

from support.kafka_read import end_offsets
from support.sample_events import registry
from support.sample_projection import booth_board


@dataclass
class Pipeline:
    store: EventStore
    runner: ProjectionRunner
    relay: Relay
    live: LiveProjection
    kafka: KafkaAccess
    topic: str

    async def board(self) -> list[tuple[object, ...]]:
        rows = await self.store.pool.fetch(
            f"SELECT * FROM {booth_board.schema}.booths ORDER BY booth"
        )
        return [tuple(r) for r in rows]

    async def holds(self) -> dict[str, int]:
        rows = await self.store.pool.fetch(f"SELECT booth, holds FROM {booth_board.schema}.booths")
        return {r["booth"]: r["holds"] for r in rows}

    async def consumed_everything(self) -> bool:
        """The projection's own offsets reached the end of every partition."""
        ends = await end_offsets(self.kafka, self.topic)
        rows = await self.store.pool.fetch(
            f"SELECT partition, next_offset FROM {booth_board.schema}.consumed_offsets"
            " WHERE topic = $1",
            self.topic,
        )
        done = {r["partition"]: r["next_offset"] for r in rows}
        return all(done.get(tp.partition, 0) >= end for tp, end in ends.items())


@asynccontextmanager
async def running_pipeline(
    pool: asyncpg.Pool, infra: Infra, unique: str
) -> AsyncIterator[Pipeline]:
    await migrate(pool)
    store = EventStore(pool, registry)
    prefix = f"{unique}."
    topic = f"{prefix}booths.events"
    runner = ProjectionRunner(booth_board, pool, infra.kafka, prefix)
    await ensure_topics(infra.kafka, [topic, runner.dead_letter_topic])
    stopping = asyncio.Event()
    relay = Relay(store, infra.kafka, topic)
    relaying = asyncio.create_task(relay.run(stopping))
    live = LiveProjection(runner)
    await live.start()
    try:
        yield Pipeline(store, runner, relay, live, infra.kafka, topic)
    finally:
        stopping.set()
        await live.stop()
        await relaying
