"""Command handling across streams: lock, load, decide, append — all in one transaction.

A booking decides on several streams (every night of the stay, the booking, its guest, its
block). The streams it writes are locked first, in one global order, so concurrent bookings
of the same nights queue instead of failing, and never deadlock; the append then still
checks every expected version.

The locks are transaction-level advisory locks, not row locks, on purpose: they give the
transaction no id. Its id is taken by its first write, after it holds every lock, so for
each stream the order of transaction ids is the order of stream versions. The relay reads in
transaction-id order; with a row lock (`FOR UPDATE`) a transaction could take its id, wait,
and commit the next version of a stream under an older id than the version before it, which
readers then see out of order (and a projection skips as already applied).

Streams only read (a block a booking goes into) are read after the locks are held, so a
decision never sees a state older than the nights it writes. Whatever must change outside
the event table in the same transaction (a guest's key) is done by `after`, so it commits
with the events or not at all.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.envelope import Envelope
from fairline_events.errors import ConcurrencyConflict
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore, StreamAppend

from .domain.events import stream_of
from .domain.world import World, fold

After = Callable[[asyncpg.Connection, Sequence[DomainEvent]], Awaitable[None]]


def lock_key(stream_id: str) -> int:
    """A stream's advisory lock: 64 bits of its id's hash (a collision only queues more)."""
    digest = hashlib.blake2b(f"stream:{stream_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def clock() -> datetime:
    return datetime.now(UTC)


async def transact(
    store: EventStore,
    command: Any,
    decide: Callable[[World], Sequence[DomainEvent]],
    context: CommandContext,
    *,
    lock: Iterable[str],
    read: Iterable[str] = (),
    expect: Mapping[str, int] | None = None,
    after: After | None = None,
) -> tuple[list[DomainEvent], list[Envelope]]:
    """Decide `command` on the streams `lock` (written) and `read`, and append atomically.

    `expect` names versions the caller planned with (it chose the streams from them); a
    stream that moved on since is a concurrent change (409), never a decision on a stream
    that was not loaded.
    """
    locked = sorted(set(lock))
    loaded = locked + sorted(set(read) - set(locked))
    if context.command is None:
        context = context.for_command(type(command).__name__)
    async with store.pool.acquire() as conn, conn.transaction():
        for key in sorted({lock_key(s) for s in locked}):
            await conn.execute("SELECT pg_advisory_xact_lock($1)", key)
        states: dict[str, Any] = {}
        versions: dict[str, int] = {}
        for stream_id in loaded:
            envelopes = await store.read_stream(stream_id, connection=conn)
            states[stream_id] = fold(stream_id, [e.event(store.registry) for e in envelopes])
            versions[stream_id] = envelopes[-1].stream_version if envelopes else 0
        for stream_id, version in (expect or {}).items():
            if versions.get(stream_id, 0) != version:
                raise ConcurrencyConflict(stream_id, version, versions.get(stream_id, 0))
        events = list(decide(World(states)))
        by_stream: dict[str, list[DomainEvent]] = defaultdict(list)
        for event in events:
            by_stream[stream_of(event)].append(event)
        unlocked = set(by_stream) - set(locked)
        if unlocked:
            raise RuntimeError(f"decided events for streams it did not lock: {sorted(unlocked)}")
        appends = [StreamAppend(s, evs, versions[s]) for s, evs in by_stream.items()]
        envelopes = await store.append_streams(appends, context, connection=conn)
        if after is not None:
            await after(conn, events)
    return events, envelopes


async def load(store: EventStore, stream_id: str) -> tuple[Any, int]:
    """One stream's current state and version, outside any command (for planning and views)."""
    envelopes = await store.read_stream(stream_id)
    state = fold(stream_id, [e.event(store.registry) for e in envelopes])
    return state, (envelopes[-1].stream_version if envelopes else 0)
