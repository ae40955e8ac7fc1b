"""Under a steady trickle of commands the read side works in batches, not event by event,
and still applies every event once; the group's Kafka offsets follow once it caught up.

Against the real broker and database: a relay and a live projection, as a worker runs them.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import TopicPartition
from fairline_events.context import CommandContext
from fairline_events.kafka import admin_client
from fairline_events.store import EventStore
from fairline_stack.resolve import Infra
from support.kafka_read import end_offsets
from support.read_side import Pipeline
from support.sample_events import BoothHeld
from support.waiting import eventually

pytestmark = pytest.mark.infra

ctx = CommandContext(actor="user:sales-1")


async def trickle(store: EventStore, count: int, every_s: float) -> float:
    """`count` holds, one command (transaction) each, `every_s` apart; returns how long the
    trickle lasted."""
    started = time.monotonic()
    for i in range(count):
        due = started + i * every_s
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        await store.append(
            f"booth-{i}", [BoothHeld(booth=f"T{i}", exhibitor="ex", hall="E1")], 0, ctx
        )
    return time.monotonic() - started


async def test_a_trickle_of_holds_is_relayed_and_applied_in_batches_each_once(
    pipeline: Pipeline,
) -> None:
    count = 150
    lasted = await trickle(pipeline.store, count, every_s=0.004)
    holds = await eventually(
        pipeline.holds, lambda h: len(h) == count, what=f"all {count} holds on the board"
    )
    assert set(holds.values()) == {1}, "a hold was applied twice"
    assert pipeline.relay.published == count
    # One read (and send, and checkpoint) per event would be `count`; the relay reads at most
    # every 40 ms while commits keep coming, the projection starts a batch at most every 40 ms.
    assert pipeline.relay.batches <= lasted / 0.040 + 5, (
        f"{pipeline.relay.batches} relay batches for {count} events in {lasted:.2f} s"
    )
    assert pipeline.live.batches <= lasted / 0.040 + 5, (
        f"{pipeline.live.batches} projection batches for {count} events in {lasted:.2f} s"
    )
    assert pipeline.live.batches < count / 3


async def test_the_relay_saves_its_checkpoint_once_the_trickle_stops(pipeline: Pipeline) -> None:
    """While commits keep coming the relay saves its checkpoint at most every quarter second
    (relay.py); once it falls idle, everything Kafka acknowledged is saved: a restart
    re-sends nothing (and its lag reads zero)."""
    await trickle(pipeline.store, 40, every_s=0.002)
    last = await pipeline.store.pool.fetchval(
        "SELECT tx_id::text::bigint AS tx FROM events ORDER BY position DESC LIMIT 1"
    )
    position = await pipeline.store.pool.fetchval("SELECT max(position) FROM events")
    saved = await eventually(
        lambda: pipeline.store.load_checkpoint(pipeline.relay.name),
        lambda c: c.position == position,
        what="the relay's checkpoint at the last event",
    )
    assert saved.tx_id == last
    assert pipeline.relay.published == 40


async def test_the_group_offsets_catch_up_once_the_projection_has(
    pipeline: Pipeline, infra: Infra
) -> None:
    await trickle(pipeline.store, 30, every_s=0.002)
    await eventually(pipeline.holds, lambda h: len(h) == 30, what="30 holds on the board")
    # the partitions the holds went to, and where they end
    ends = {tp: end for tp, end in (await end_offsets(infra.kafka, pipeline.topic)).items() if end}
    group = pipeline.live.runner.group_id

    async def committed() -> dict[TopicPartition, int]:
        admin = admin_client(infra.kafka)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        return {tp: meta.offset for tp, meta in offsets.items()}

    # Ops read the group's lag from Kafka: it reaches zero while the worker runs, not only
    # when it stops.
    await eventually(
        committed,
        lambda c: all(c.get(tp) == e for tp, e in ends.items()),
        what="the group's offsets at the end of every partition",
        within=10,
    )
