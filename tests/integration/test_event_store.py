"""The event store against a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest
from fairline_events.context import CommandContext
from fairline_events.errors import ConcurrencyConflict
from fairline_events.store import Checkpoint, EventStore, StreamAppend
from support.sample_events import BoothHeld, BoothReleased, registry
from support.waiting import eventually

pytestmark = pytest.mark.infra

ctx = CommandContext(actor="user:sales-1", reason="test")


def held(booth: str, exhibitor: str = "ex-1") -> BoothHeld:
    return BoothHeld(booth=booth, exhibitor=exhibitor, hall="E1")


async def test_append_then_read_keeps_order_and_metadata(store: EventStore) -> None:
    written = await store.append("booth-A1", [held("A1"), BoothReleased(booth="A1")], 0, ctx)
    read = await store.read_stream("booth-A1")
    assert [e.stream_version for e in read] == [1, 2]
    assert [e.event_id for e in read] == [e.event_id for e in written]
    assert read[0].actor == "user:sales-1" and read[0].reason == "test"
    assert read[0].position is not None and read[1].position is not None
    assert read[0].event(registry) == held("A1")


async def test_what_an_append_returns_is_what_was_stored_event_for_event(
    store: EventStore,
) -> None:
    traced = CommandContext(
        actor="user:sales-2",
        reason="fair opens",
        command="HoldBooths",
        causation_id=uuid.uuid4(),
        trace_context={"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
    )
    await store.append("booth-M2", [held("M2")], 0, ctx)
    written = await store.append_streams(
        [
            StreamAppend("booth-M1", [held("M1"), BoothReleased(booth="M1"), held("M1")], 0),
            StreamAppend("booth-M2", [BoothReleased(booth="M2")], 1),
        ],
        traced,
    )
    read = [*await store.read_stream("booth-M1"), *await store.read_stream("booth-M2", 1)]
    assert written == read  # every field: ids, versions, types, payloads, who, why, trace
    assert [(e.stream_id, e.stream_version) for e in read] == [
        ("booth-M1", 1),
        ("booth-M1", 2),
        ("booth-M1", 3),
        ("booth-M2", 2),
    ]
    assert [e.event(registry) for e in read] == [
        held("M1"),
        BoothReleased(booth="M1"),
        held("M1"),
        BoothReleased(booth="M2"),
    ]
    assert len({e.event_id for e in read}) == 4
    assert {(e.actor, e.reason, e.command, e.causation_id) for e in read} == {
        ("user:sales-2", "fair opens", "HoldBooths", traced.causation_id)
    }
    assert all(e.trace_context == traced.trace_context for e in read)


async def test_a_negative_expected_version_is_refused_before_anything_is_written(
    store: EventStore,
) -> None:
    with pytest.raises(ValueError):
        await store.append("booth-N1", [held("N1")], -1, ctx)
    assert await store.read_stream("booth-N1") == []


async def test_concurrent_appends_to_one_stream_exactly_one_wins(store: EventStore) -> None:
    await store.append("booth-B2", [held("B2")], 0, ctx)

    async def attempt(i: int) -> str:
        try:
            await store.append("booth-B2", [held("B2", f"ex-{i}")], 1, ctx)
            return "won"
        except ConcurrencyConflict:
            return "conflict"

    outcomes = await asyncio.gather(*(attempt(i) for i in range(20)))
    assert outcomes.count("won") == 1
    assert outcomes.count("conflict") == 19
    assert [e.stream_version for e in await store.read_stream("booth-B2")] == [1, 2]


async def test_a_stale_or_future_expected_version_is_a_conflict(store: EventStore) -> None:
    await store.append("booth-C3", [held("C3")], 0, ctx)
    with pytest.raises(ConcurrencyConflict):
        await store.append("booth-C3", [held("C3")], 0, ctx)
    with pytest.raises(ConcurrencyConflict):
        await store.append("booth-C3", [held("C3")], 5, ctx)  # would leave a gap
    assert await store.stream_version("booth-C3") == 1


async def test_a_multi_stream_append_is_all_or_nothing(store: EventStore) -> None:
    await store.append("booth-D2", [held("D2")], 0, ctx)
    with pytest.raises(ConcurrencyConflict):
        await store.append_streams(
            [
                StreamAppend("booth-D1", [held("D1")], 0),
                StreamAppend("booth-D2", [held("D2")], 0),  # stale: D2 is at version 1
            ],
            ctx,
        )
    assert await store.read_stream("booth-D1") == []
    assert await store.stream_version("booth-D1") == 0
    await store.append_streams(
        [StreamAppend("booth-D1", [held("D1")], 0), StreamAppend("booth-D2", [held("D2")], 1)],
        ctx,
    )
    assert await store.stream_version("booth-D1") == 1
    assert await store.stream_version("booth-D2") == 2


async def test_old_schema_versions_are_upcast_on_read(store: EventStore) -> None:
    await store.append("booth-E1", [held("E1")], 0, ctx)
    # Write a v1 row as an older release would have: no hall.
    await store.pool.execute(
        "UPDATE events SET schema_version = 1, data = data - 'hall' WHERE stream_id = 'booth-E1'"
    )
    [env] = await store.read_stream("booth-E1")
    assert env.schema_version == 1
    assert env.event(registry) == BoothHeld(booth="E1", exhibitor="ex-1", hall="E1")


async def test_reader_never_skips_a_lower_position_that_commits_late(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """T1 takes a lower position, T2 a higher one and commits first: both are delivered."""
    late = await pool.acquire()
    early = await pool.acquire()
    try:
        t1 = late.transaction()
        await t1.start()
        [env1] = await store.append_streams(
            [StreamAppend("booth-L1", [held("L1")], 0)], ctx, connection=late
        )
        t2 = early.transaction()
        await t2.start()
        [env2] = await store.append_streams(
            [StreamAppend("booth-L2", [held("L2")], 0)], ctx, connection=early
        )
        assert env1.position is not None and env2.position is not None
        assert env1.position < env2.position
        await t2.commit()

        # T2 is committed, T1 is not: reading now must not move past T1's position.
        first = await store.read_all(Checkpoint.start())
        assert [s.envelope.stream_id for s in first] == []
        checkpoint = first[-1].checkpoint if first else Checkpoint.start()

        await t1.commit()
        second = await eventually(
            lambda: store.read_all(checkpoint),
            lambda batch: len(batch) == 2,
            within=10,
            what="both commits readable",
        )
        assert {s.envelope.stream_id for s in second} == {"booth-L1", "booth-L2"}
        third = await store.read_all(second[-1].checkpoint)
        assert third == []
    finally:
        await pool.release(late)
        await pool.release(early)


async def test_read_all_pages_through_everything_once(store: EventStore) -> None:
    for i in range(25):
        await store.append(f"booth-P{i}", [held(f"P{i}"), BoothReleased(booth=f"P{i}")], 0, ctx)
    seen: list[object] = []
    checkpoint = Checkpoint.start()

    async def page() -> int:
        nonlocal checkpoint
        while batch := await store.read_all(checkpoint, limit=7):
            seen.extend(s.envelope.event_id for s in batch)
            checkpoint = batch[-1].checkpoint
        return len(seen)

    await eventually(page, lambda n: n >= 50, within=10, what="all 50 events read")
    assert len(seen) == 50 and len(set(seen)) == 50


async def test_an_early_transaction_cannot_append_after_a_later_writer(
    store: EventStore, pool: asyncpg.Pool
) -> None:
    """Versions of a stream stay in order for readers, who go by transaction id."""
    await store.append("booth-O1", [held("O1")], 0, ctx)
    early = await pool.acquire()
    try:
        tx = early.transaction()
        await tx.start()
        # This transaction writes first (so it has the lower transaction id) ...
        await store.append("booth-O2", [held("O2")], 0, ctx, connection=early)
        # ... then another one appends version 2 to booth-O1 and commits.
        await store.append("booth-O1", [held("O1", "ex-2")], 1, ctx)
        # Appending version 3 now would sort before version 2 in the global order.
        with pytest.raises(ConcurrencyConflict):
            await store.append("booth-O1", [held("O1", "ex-3")], 2, ctx, connection=early)
        await tx.rollback()
    finally:
        await pool.release(early)
    # Retried in a new transaction, it goes through, and readers see 1, 2, 3 in order.
    await store.append("booth-O1", [held("O1", "ex-3")], 2, ctx)

    async def versions() -> list[int]:
        everything = await store.read_all(Checkpoint.start())
        return [s.envelope.stream_version for s in everything if s.envelope.stream_id == "booth-O1"]

    # Readers see a commit once every older transaction of the server has ended.
    seen = await eventually(versions, lambda v: len(v) == 3, within=10, what="all three versions")
    assert seen == [1, 2, 3]
