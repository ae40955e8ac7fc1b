"""Turns: commands on one hot stream wait for its lock in this process, in arrival order,
rather than all at once in PostgreSQL.

When hundreds of commands race for one stream (300 registrations for one forum's seats), each
would otherwise hold a pooled connection, start its transaction and ask PostgreSQL for the
stream's lock, and each, once it got the lock, would read every event the others appended
while it waited, because it learnt where the stream stood before waiting: quadratic work, all
of it inside the lock. With a turn, one command at a time per process asks for the lock; the
next asks once the lock is granted to the one before, so it waits in PostgreSQL behind it
alone and then reads only that one's events. The order is still the order of arrival (the
queue is first come, first served), and the lock in PostgreSQL still decides between
processes.

A command takes its turn in its plan, just before it locks (`async with turn(streams, id)`),
and gives it back once its locks are held. A command that may already hold locks skips the
turn: one that locked first (a retry), and one inside a caller's transaction (a policy's
batch, which keeps the locks of its earlier commands). A command holding a lock never waits
for a turn, so turns and locks cannot wait on each other in a cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from .transact import Streams


class Turns:
    """First come, first served queues by key, dropped when nobody waits."""

    def __init__(self) -> None:
        self._queues: dict[tuple[int, str], tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: tuple[int, str]) -> AsyncIterator[None]:
        lock, users = self._queues.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._queues[key] = (lock, users + 1)
        try:
            async with lock:  # asyncio.Lock wakes its waiters in the order they came
                yield
        finally:
            lock, users = self._queues[key]
            if users == 1:
                del self._queues[key]
            else:
                self._queues[key] = (lock, users - 1)

    def waiting(self) -> int:
        return sum(users for _, users in self._queues.values())


TURNS = Turns()


@contextlib.asynccontextmanager
async def turn(streams: Streams, stream_id: str) -> AsyncIterator[None]:
    """Wait in this process's queue for `stream_id` (of this event store) before locking it;
    the block locks (and reads) it, and the turn passes on as the block ends."""
    if streams.locked or not streams.ordered:  # it may hold locks: no turn (see above)
        yield
        return
    async with TURNS.turn((id(streams.store), stream_id)):
        yield
