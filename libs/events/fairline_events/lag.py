"""How far behind the relay and each projection are: events and seconds.

The relay is behind by the committed events after its checkpoint; the age of the oldest of
them is how stale the topic is. A projection is behind by the records between the offsets it
recorded in PostgreSQL (with its read model, so they are exact) and the end of each
partition; the age of the first record it has not applied is how stale its read model is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from .kafka import topic_partitions

if TYPE_CHECKING:
    from .kafka import KafkaAccess
    from .projection import Projection


@dataclass(frozen=True)
class Lag:
    name: str
    events: int
    seconds: float
    """Age of the oldest event not yet delivered or applied; 0 when caught up."""


async def relay_lag(conn: asyncpg.Connection, reader: str = "relay") -> Lag:
    """A reader of the event store (the relay) against the committed events; one that never
    ran is behind by all of them."""
    row = await conn.fetchrow(
        """
        WITH c AS (
          SELECT coalesce((SELECT tx_id FROM public.reader_checkpoints WHERE reader = $1),
                          '0'::xid8) AS tx_id,
                 coalesce((SELECT position FROM public.reader_checkpoints WHERE reader = $1),
                          0) AS position
        )
        SELECT count(e.position) AS events,
               coalesce(extract(epoch FROM now() - min(e.occurred_at)), 0) AS seconds
        FROM public.events e, c
        WHERE (e.tx_id, e.position) > (c.tx_id, c.position)
          AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
        """,
        reader,
    )
    assert row is not None
    return Lag(reader, int(row["events"]), float(row["seconds"]))


async def consumed_offsets(conn: asyncpg.Connection, schema: str) -> dict[TopicPartition, int]:
    """The next offset a projection will apply, per partition, as its schema records it."""
    rows = await conn.fetch(
        f'SELECT topic, partition, next_offset FROM "{schema}".consumed_offsets'
    )
    return {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}


async def read_model_lags(
    conn: asyncpg.Connection,
    consumer: AIOKafkaConsumer,
    kafka: KafkaAccess,
    topic_prefix: str,
    projections: Sequence[Projection],
) -> list[Lag]:
    """Each projection's lag: every partition of its topics, at offset 0 until it applied one."""
    # One admin connection (and SASL handshake) for every projection's topics, not one each.
    every = {f"{topic_prefix}{t}" for projection in projections for t in projection.topics}
    partitions = await topic_partitions(kafka, sorted(every)) if every else []
    lags = []
    for projection in projections:
        topics = {f"{topic_prefix}{t}" for t in projection.topics}
        consumed = {tp: 0 for tp in partitions if tp.topic in topics}
        consumed |= await consumed_offsets(conn, projection.schema)
        lags.append(await projection_lag(projection.name, consumed, consumer))
    return lags


async def projection_lag(
    name: str, consumed: dict[TopicPartition, int], consumer: AIOKafkaConsumer
) -> Lag:
    """`consumer` is started and in no group: it only reads end offsets and one record per
    partition behind."""
    if not consumed:
        return Lag(name, 0, 0.0)
    ends = await consumer.end_offsets(list(consumed))
    behind = {tp: ends[tp] - offset for tp, offset in consumed.items() if ends[tp] > offset}
    if not behind:
        return Lag(name, 0, 0.0)
    consumer.assign(list(behind))
    for tp in behind:
        consumer.seek(tp, consumed[tp])
    oldest: float | None = None
    deadline = time.monotonic() + 5
    pending = set(behind)
    while pending and time.monotonic() < deadline:
        batches = await consumer.getmany(*pending, timeout_ms=500, max_records=1)
        for tp, records in batches.items():
            if records:
                pending.discard(tp)
                stamp = records[0].timestamp / 1000
                oldest = stamp if oldest is None else min(oldest, stamp)
    seconds = max(0.0, time.time() - oldest) if oldest is not None else 0.0
    return Lag(name, sum(behind.values()), seconds)
