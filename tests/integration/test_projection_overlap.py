"""A live projection decodes the next batch while the one before is written. When that write
fails, the batch is fetched again with the one that followed it: nothing is skipped and
nothing is applied twice, across partitions and many small batches."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from fairline_events.envelope import Envelope
from fairline_events.errors import ConcurrencyConflict
from fairline_events.kafka import DEFAULT_PARTITIONS, ensure_topics, producer
from fairline_events.projection import LiveProjection, Projection, ProjectionRunner, Sql, sql
from fairline_events.relay import _StreamPartitions
from fairline_stack.resolve import Infra
from support.sample_events import BoothHeld, registry
from support.waiting import eventually

pytestmark = pytest.mark.infra

counts = Projection(
    name="counts",
    topics=["booths.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS counts (booth text PRIMARY KEY, applied integer NOT NULL);
    """,
)
first_attempt_fails: set[str] = set()


@counts.on(BoothHeld)
async def counted(e: BoothHeld, env: Envelope, tx: object) -> Sql:
    if e.booth in first_attempt_fails:
        first_attempt_fails.discard(e.booth)
        await asyncio.sleep(0.3)  # the next batch is fetched and decoded meanwhile
        # retryable, as when an API command raced a policy: the whole batch comes again
        raise ConcurrencyConflict(env.stream_id, env.stream_version)
    return sql(
        """INSERT INTO counts VALUES ($1, 1)
           ON CONFLICT (booth) DO UPDATE SET applied = counts.applied + 1""",
        e.booth,
    )


def held(i: int) -> tuple[bytes, bytes]:
    event_type, schema_version, data = registry.encode(
        BoothHeld(booth=f"B{i}", exhibitor="ex", hall="E1")
    )
    env = Envelope(
        event_id=uuid.uuid4(),
        event_type=event_type,
        schema_version=schema_version,
        stream_id=f"booth-B{i}",
        stream_version=1,
        occurred_at=datetime.now(UTC),
        actor="user:x",
        correlation_id=uuid.uuid4(),
        data=data,
    )
    return env.stream_id.encode(), env.to_json()


async def test_a_failed_write_comes_again_with_the_batch_after_it(
    pool: asyncpg.Pool, infra: Infra, unique: str
) -> None:
    events = 600
    runner = ProjectionRunner(counts, pool, infra.kafka, f"{unique}.")
    topic = runner.topics[0]
    await ensure_topics(infra.kafka, [topic, runner.dead_letter_topic])
    send = producer(infra.kafka)
    await send.start()
    try:
        for i in range(events):
            key, value = held(i)
            await send.send(topic, value, key=key)
        await send.flush()
    finally:
        await send.stop()
    # The last hold of each partition fails once: the batch after it is another partition's.
    partition_of = _StreamPartitions(list(range(DEFAULT_PARTITIONS))).of
    last = {partition_of(f"booth-B{i}".encode()): f"B{i}" for i in range(events)}
    first_attempt_fails.update(last.values())
    live = LiveProjection(runner, max_records=40)  # many batches, each followed by another
    await live.start()
    try:
        rows = await eventually(
            lambda: pool.fetch(f"SELECT booth, applied FROM {counts.schema}.counts"),
            lambda rows: len(rows) >= events,
            what=f"all {events} holds applied",
        )
    finally:
        await live.stop()
    assert not first_attempt_fails, "a failing batch was never tried again"
    assert sorted(r["booth"] for r in rows) == sorted(f"B{i}" for i in range(events))
    assert {r["applied"] for r in rows} == {1}, "a hold was applied twice"
    assert live.applied == events
