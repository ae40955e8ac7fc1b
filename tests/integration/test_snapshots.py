"""Snapshots of long streams against a real PostgreSQL server: a process that starts folds a
snapshotted stream from its latest snapshot and the events after it, gets the state a full
fold gives, and never reads a snapshot of another shape, nor one a transaction wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import asyncpg
import pytest
from fairline_events import snapshots
from fairline_events.context import CommandContext
from fairline_events.db import migrate
from fairline_events.decider import Fold
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore
from fairline_events.transact import Decision, Streams, transact
from support.sample_events import BoothHeld, registry

pytestmark = pytest.mark.infra

ctx = CommandContext(actor="user:test", reason="snapshot test")


@dataclass(frozen=True)
class Hall:
    """Who holds booths in a hall, and how many events made it."""

    hall: str
    holders: tuple[str, ...] = ()
    events: int = 0


folded: list[str] = []
"""Every event evolve saw: what a load had to read and fold."""


def _evolve(hall: Hall, event: DomainEvent) -> Hall:
    folded.append(hall.hall)
    assert isinstance(event, BoothHeld)
    return replace(hall, holders=(*hall.holders, event.exhibitor), events=hall.events + 1)


HALL: Fold[Hall] = Fold(lambda s: Hall(s.removeprefix("hall-")), _evolve)


@pytest.fixture
async def store(pool: asyncpg.Pool) -> AsyncIterator[EventStore]:
    await migrate(pool)
    snapshots.register(HALL, Hall, kind="test.hall.1", every=100)
    folded.clear()
    yield EventStore(pool, registry)
    snapshots.forget(HALL)


async def _hold(store: EventStore, hall: str, count: int, start: int = 0) -> None:
    version = await store.stream_version(f"hall-{hall}")
    for n in range(start, start + count, 50):
        held = [
            BoothHeld(booth=f"B{i}", exhibitor=f"ex-{i}", hall=hall)
            for i in range(n, min(n + 50, start + count))
        ]
        await store.append(f"hall-{hall}", held, version, ctx)
        version += len(held)


def _restarted(store: EventStore) -> EventStore:
    """A new process's store: nothing folded yet."""
    return EventStore(store.pool, registry)


async def test_a_new_process_folds_a_long_stream_from_its_snapshot(store: EventStore) -> None:
    await _hold(store, "E1", 250)
    full, version = await store.load("hall-E1", HALL.evolve, HALL.initial("hall-E1"))
    assert (version, len(folded)) == (250, 250)  # the first reader folds it all, and keeps it

    folded.clear()
    again, version = await _restarted(store).load("hall-E1", HALL.evolve, Hall("E1"))
    assert (again, version, folded) == (full, 250, [])  # no event read again

    await _hold(store, "E1", 30, start=250)
    folded.clear()
    later, version = await _restarted(store).load("hall-E1", HALL.evolve, Hall("E1"))
    assert (version, len(folded)) == (280, 30)  # only what came after the snapshot
    assert later == HALL.fold(
        "hall-E1", [e.event(registry) for e in await store.read_stream("hall-E1")]
    )


async def test_a_snapshot_moves_forward_every_so_many_events(store: EventStore) -> None:
    await _hold(store, "E2", 120)
    await store.load("hall-E2", HALL.evolve, Hall("E2"))
    await _hold(store, "E2", 60, start=120)
    await store.load("hall-E2", HALL.evolve, Hall("E2"))  # 60 past the snapshot: none yet
    assert await _snapshot_version(store, "hall-E2") == 120
    await _hold(store, "E2", 50, start=180)
    await store.load("hall-E2", HALL.evolve, Hall("E2"))
    assert await _snapshot_version(store, "hall-E2") == 230


async def test_a_snapshot_of_another_shape_is_never_read(store: EventStore) -> None:
    await _hold(store, "E3", 150)
    await store.load("hall-E3", HALL.evolve, Hall("E3"))
    snapshots.forget(HALL)
    snapshots.register(HALL, Hall, kind="test.hall.2", every=1000)  # evolve changed meaning
    folded.clear()
    _, version = await _restarted(store).load("hall-E3", HALL.evolve, Hall("E3"))
    assert (version, len(folded)) == (150, 150)


async def test_a_load_inside_a_transaction_writes_no_snapshot(store: EventStore) -> None:
    """What a transaction reads may hold its own writes, which may still roll back; and a
    command queued on a stream's lock must not also wait on that stream's snapshot row."""
    await _hold(store, "E4", 90)

    async def hold_more(load: Streams) -> Decision:
        hall = await load(HALL, "hall-E4")
        return {"hall-E4": [BoothHeld(booth=f"B{hall.events}", exhibitor="late", hall="E4")]}

    async with store.pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            async with conn.transaction():
                await _hold_in(store, conn, 20)
                # read inside the transaction: 110 events, 20 of them not committed
                await transact(store, hold_more, ctx, connection=conn)
                assert await _snapshot_version(store, "hall-E4", conn) is None
                raise RuntimeError("the fair's payment failed")
    folded.clear()
    hall, version = await _restarted(store).load("hall-E4", HALL.evolve, Hall("E4"))
    assert (version, hall.events, len(folded)) == (90, 90, 90)
    await _hold(store, "E4", 20, start=90)
    await store.load("hall-E4", HALL.evolve, Hall("E4"))  # committed, outside: kept
    assert await _snapshot_version(store, "hall-E4") == 110


async def test_folds_not_registered_leave_no_snapshot(store: EventStore) -> None:
    await _hold(store, "E5", 150)
    count: Fold[int] = Fold(lambda _: 0, lambda n, _: n + 1)
    assert await store.load("hall-E5", count.evolve, 0) == (150, 150)
    assert await store.pool.fetchval("SELECT count(*) FROM public.snapshots") == 0


async def _hold_in(store: EventStore, conn: asyncpg.Connection, count: int) -> None:
    version = await store.stream_version("hall-E4")
    held = [BoothHeld(booth=f"X{i}", exhibitor=f"x-{i}", hall="E4") for i in range(count)]
    await store.append("hall-E4", held, version, ctx, connection=conn)


async def _snapshot_version(
    store: EventStore, stream_id: str, conn: asyncpg.Connection | None = None
) -> int | None:
    version: int | None = await (conn or store.pool).fetchval(
        "SELECT version FROM public.snapshots WHERE stream_id = $1", stream_id
    )
    return version
