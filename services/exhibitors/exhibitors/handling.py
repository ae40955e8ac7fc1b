"""Commands that touch several streams at once: load each, decide each, append all or none.

`decider.handle` covers one stream. Some rules span streams: a credit code held by one company
only (the company and its `company-code-…` stream), nobody in two meetings at once (the
meeting and each person's agenda), a requester's rate window and the exchange it opens.
Each stream still gets a pure decision on its own state; this module reads, decides and
appends them in one transaction, each written stream locked from its read to the commit, so
concurrent commands on a stream queue and each decides on the state the previous one left.
The append still checks every expected version: a writer that does not lock (a plain
`decider.handle`) makes the command be planned and decided again, and the rules (not the
race) give the answer.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.decider import Decider
from fairline_events.envelope import Envelope
from fairline_events.errors import ConcurrencyConflict
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore, StreamAppend

S = TypeVar("S")
C = TypeVar("C")


@dataclass(frozen=True)
class Step(Generic[S]):
    """One stream's part of a command: its state's initial value, evolve, and a decision."""

    stream_id: str
    initial: S
    evolve: Callable[[S, DomainEvent], S]
    decide: Callable[[S], Sequence[DomainEvent]]


def step(decider: Decider[C, S], stream_id: str, *commands: C) -> Step[S]:
    """A step that runs `commands` in turn on one stream, each seeing the previous' events."""

    def decide(state: S) -> list[DomainEvent]:
        events: list[DomainEvent] = []
        for command in commands:
            new = list(decider.decide(command, state))
            for event in new:
                state = decider.evolve(state, event)
            events += new
        return events

    return Step(stream_id, decider.initial(stream_id), decider.evolve, decide)


@dataclass(frozen=True)
class Outcome:
    states: dict[str, Any]
    """Each stream's state after the command."""
    versions: dict[str, int]
    envelopes: list[Envelope]


class Loader:
    """Reads streams for a command, inside its transaction.

    Each stream a step writes is locked before it is read, so from that read until the
    commit no other command of this kind appends to it: the decision is made on state that
    is still current when it commits, and concurrent writers to a hot stream (a requester's
    rate window, a busy agenda) queue instead of failing. `peek` reads without locking, for
    checks that must not serialise unrelated commands (is this person on the staff?).

    The locks are transaction-level advisory locks, not row locks (`FOR UPDATE`): a row lock
    gives the transaction its id at once, so a command could take an id, wait for a stream,
    and then append that stream's next version under an id older than the previous
    version's. Readers of the event table go in transaction-id order and would see the two
    versions swapped (and a projection skip the older one as applied). With advisory locks
    the id comes with the first write, after every lock is held.
    """

    def __init__(self, store: EventStore, connection: asyncpg.Connection) -> None:
        self.store = store
        self.connection = connection
        self.loaded: dict[str, tuple[Any, int]] = {}
        self.locked: set[str] = set()

    async def _read(
        self, stream_id: str, evolve: Callable[[S, DomainEvent], S], initial: S, lock: bool
    ) -> tuple[S, int]:
        if lock and stream_id not in self.locked:
            await self.connection.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"stream:{stream_id}"
            )
            self.locked.add(stream_id)
            self.loaded.pop(stream_id, None)  # a peek before the lock may be stale
        if stream_id not in self.loaded:
            self.loaded[stream_id] = await self.store.load(
                stream_id, evolve, initial, connection=self.connection
            )
        state, version = self.loaded[stream_id]
        return state, version

    async def __call__(self, decider: Decider[Any, S], stream_id: str) -> S:
        """The stream's state, locked for this command."""
        state, _ = await self._read(stream_id, decider.evolve, decider.initial(stream_id), True)
        return state

    async def peek(self, decider: Decider[Any, S], stream_id: str) -> S:
        """The stream's state, without locking it (for checks, not for writes)."""
        state, _ = await self._read(stream_id, decider.evolve, decider.initial(stream_id), False)
        return state

    async def state_and_version(self, s: Step[Any]) -> tuple[Any, int]:
        return await self._read(s.stream_id, s.evolve, s.initial, True)


Plan = Callable[[Loader], Awaitable[Sequence[Step[Any]]]]

RETRY = (ConcurrencyConflict, asyncpg.DeadlockDetectedError)
"""A stream written concurrently by a command that does not lock (`decider.handle`), or
two commands locking crosswise: both are decided again."""


async def handle_steps(
    store: EventStore,
    plan: Plan | Sequence[Step[Any]],
    context: CommandContext,
    *,
    command: str | None = None,
    attempts: int = 6,
) -> Outcome:
    """Plan the steps (the plan may read streams), decide them, append them atomically.

    One transaction: lock and read each stream, decide, append with the versions read.
    When another command created one of the new streams first, or locks crossed, the whole
    command is planned and decided again: a double booking that lost the race then meets
    the overlap rule, not a bare 409.
    """
    if command is not None and context.command is None:
        context = context.for_command(command)
    for attempt in range(1, attempts + 1):
        try:
            async with store.pool.acquire() as conn, conn.transaction():
                load = Loader(store, conn)
                steps = plan if isinstance(plan, Sequence) else await plan(load)
                appends: list[StreamAppend] = []
                states: dict[str, Any] = {}
                versions: dict[str, int] = {}
                for s in steps:
                    state, version = await load.state_and_version(s)
                    events = list(s.decide(state))
                    for event in events:
                        state = s.evolve(state, event)
                    states[s.stream_id] = state
                    versions[s.stream_id] = version + len(events)
                    appends.append(StreamAppend(s.stream_id, events, version))
                envelopes = await store.append_streams(appends, context, connection=conn)
        except RETRY:
            if attempt == attempts:
                raise
            await asyncio.sleep(random.uniform(0, 0.02 * attempt))
            continue
        return Outcome(states, versions, envelopes)
    raise AssertionError("unreachable")  # pragma: no cover


def after(decider: Decider[C, S], state: S, *commands: C) -> S:
    """The state `commands` would lead to (a plan's look ahead; deciding is pure)."""
    for command in commands:
        for event in decider.decide(command, state):
            state = decider.evolve(state, event)
    return state
