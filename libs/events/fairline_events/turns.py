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

Together: a handler can go further and have the commands that queue on one stream decided
in batches (`together(...)`, see `Together`): the first in line runs a batch of everyone
waiting behind it in one transaction, one lock and one COMMIT for all of them, each command
still decided by its own plan, in arrival order, on the state the one before it left, and
appended with its own who and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from .context import CommandContext
from .decider import Fold
from .errors import DomainError
from .store import EventStore, StreamAppend
from .transact import (
    ATTEMPTS,
    RETRY,
    CommandHandler,
    Outcome,
    Streams,
    by_stream,
    retrying,
)

C = TypeVar("C")


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


# --- commands decided together --------------------------------------------------------------

Locks = Callable[[C, Streams], Awaitable[Sequence[tuple[Fold[Any], str]]]]
"""The streams a command will write (locked together for its batch), found from its fields
and, where needed, a peek (a registration's forum names the person's agenda)."""


@dataclass
class _Waiting(Generic[C]):
    command: C
    context: CommandContext
    answer: asyncio.Future[Outcome]


class Together(Generic[C]):
    """A command handler whose commands on one hot stream, queued in this process, are
    decided together: one transaction, one round of locks and one COMMIT per batch rather
    than per command.

    The first command on a stream starts its batch at once; those that arrive meanwhile
    wait in line (first come, first served) and go as the next batch, up to `limit`. The
    batch's transaction locks every stream its commands write in one statement (in the
    global order, inside the stream's turn), then runs each command's own plan in the
    order of arrival, each on the state the ones before it left, and appends each
    command's events with its own context (who, why, trace). A command its rule refuses
    gets its own refusal and appends nothing; the others go on. A concurrent change (a
    writer that does not lock) or a deadlock makes the whole batch run again on fresh
    state, as `transact` does for one command; anything else fails the batch, and every
    caller in it hears why. So the guarantees are those of one command at a time, in the
    same order: only the round trips are shared.

    The batch runs in a task of its own, so a caller that gives up (a client gone) cancels
    nothing but its own wait; its command, if already decided, stands, as a command
    committed before its caller left does.
    """

    def __init__(
        self,
        handler: CommandHandler[C],
        *,
        queue: Callable[[C], str],
        locks: Locks[C],
        limit: int = 100,
    ) -> None:
        self.handler = handler
        self.queue = queue
        self.locks = locks
        self.limit = limit
        self.__name__ = handler.__name__
        self._lines: dict[tuple[int, str], deque[_Waiting[C]]] = {}
        self._batches: set[asyncio.Task[None]] = set()

    async def __call__(self, store: EventStore, command: C, context: CommandContext) -> Outcome:
        stream_id = self.queue(command)
        key = (id(store), stream_id)
        waiting = _Waiting(command, context, asyncio.get_running_loop().create_future())
        line = self._lines.get(key)
        if line is None:
            line = self._lines[key] = deque()
            # Its own (empty) context: the batch serves many requests, it belongs to none.
            task = asyncio.create_task(self._drain(store, key, line), context=contextvars.Context())
            self._batches.add(task)
            task.add_done_callback(self._batches.discard)
        line.append(waiting)
        return await waiting.answer

    def waiting(self) -> int:
        return sum(len(line) for line in self._lines.values())

    async def _drain(
        self, store: EventStore, key: tuple[int, str], line: deque[_Waiting[C]]
    ) -> None:
        batch: list[_Waiting[C]] = []
        try:
            while line:
                batch = [line.popleft() for _ in range(min(self.limit, len(line)))]
                batch = [w for w in batch if not w.answer.done()]  # callers that gave up
                if not batch:
                    continue
                try:
                    answers = await transact_together(
                        store,
                        self.handler,
                        [(w.command, w.context) for w in batch],
                        locks=self.locks,
                        turn_of=key[1],
                    )
                except Exception as exc:  # the batch failed whole: every caller hears why
                    answers = [exc] * len(batch)
                for w, answer in zip(batch, answers, strict=True):
                    if w.answer.done():
                        continue
                    if isinstance(answer, Exception):
                        w.answer.set_exception(answer)
                    else:
                        w.answer.set_result(answer)
                batch = []
        finally:  # nothing awaits between the last look at the line and this
            del self._lines[key]
            for w in [*batch, *line]:  # only if the batch itself was cancelled
                w.answer.cancel()


def together(
    handler: CommandHandler[C], *, queue: Callable[[C], str], locks: Locks[C], limit: int = 100
) -> Together[C]:
    """`handler`, with its concurrent commands on the stream `queue(command)` decided in
    batches (see `Together`)."""
    return Together(handler, queue=queue, locks=locks, limit=limit)


async def transact_together(
    store: EventStore,
    handler: CommandHandler[C],
    commands: Sequence[tuple[C, CommandContext]],
    *,
    locks: Locks[C],
    turn_of: str,
    attempts: int = ATTEMPTS,
) -> list[Outcome | Exception]:
    """Decide `commands` in one transaction, in order, each with `handler`'s plan on the
    state the ones before it left; each one's outcome, or the refusal (`DomainError`) its
    rule gave. A concurrent change runs the whole batch again, up to `attempts` times."""
    contexts = [
        context if context.command is not None else context.for_command(type(command).__name__)
        for command, context in commands
    ]
    return await retrying(
        lambda: _together(store, handler, commands, contexts, locks, turn_of), attempts=attempts
    )


async def _together(
    store: EventStore,
    handler: CommandHandler[C],
    commands: Sequence[tuple[C, CommandContext]],
    contexts: Sequence[CommandContext],
    locks: Locks[C],
    turn_of: str,
) -> list[Outcome | Exception]:
    answers: list[Outcome | Exception] = []
    async with store.pool.acquire() as conn, conn.transaction():
        # Not `ordered`: every stream the batch names is locked at once, in the global order;
        # one a plan finds later is locked as asked, and a deadlock retries the batch.
        streams = Streams(store, conn, ordered=False)
        wanted: dict[str, Fold[Any]] = {}
        refused: dict[int, Exception] = {}
        for n, (command, _) in enumerate(commands):
            try:
                for fold, stream_id in await locks(command, streams):
                    wanted.setdefault(stream_id, fold)
            except RETRY:
                raise
            except DomainError as refusal:  # an unknown forum: refused before any lock
                refused[n] = refusal
        async with TURNS.turn((id(store), turn_of)):
            await streams.all(*((fold, s) for s, fold in wanted.items()))
        for n, ((command, _), context) in enumerate(zip(commands, contexts, strict=True)):
            if n in refused:
                answers.append(refused[n])
                continue
            try:
                answers.append(await _one(streams, handler, command, context))
            except RETRY:
                raise
            except DomainError as refusal:  # this command's rule says no; the others go on
                answers.append(refusal)
    # Committed: the next command on these streams reads only what came after.
    for stream_id, loaded in streams.loaded.items():
        store.remember(stream_id, loaded.fold.evolve, loaded.state, loaded.version)
    for answer, context in zip(answers, contexts, strict=True):
        if isinstance(answer, Outcome) and context.receipt is not None:
            context.receipt.record({e.stream_id: e.stream_version for e in answer.envelopes})
    return answers


async def _one(
    streams: Streams, handler: CommandHandler[C], command: C, context: CommandContext
) -> Outcome:
    """One command of a batch: its plan, its append (its own who and why), and the states
    it leaves for the next."""
    streams.now = context.clock()
    streams.hooks = []
    planned = await handler.plan(command, streams)
    decision = {
        s: list(events)
        for s, events in (planned if isinstance(planned, Mapping) else by_stream(planned)).items()
        if events
    }
    unlocked = sorted(s for s in decision if s not in streams.locked or s not in streams.loaded)
    if unlocked:
        raise RuntimeError(f"decided events for streams it did not lock and load: {unlocked}")
    appends = [StreamAppend(s, events, streams.loaded[s].version) for s, events in decision.items()]
    envelopes = await streams.store.append_streams(appends, context, connection=streams.connection)
    events = [event for a in appends for event in a.events]
    for hook in streams.hooks:
        await hook(streams.connection, events)
    for stream_id, events_of in decision.items():
        loaded = streams.loaded[stream_id]
        state = loaded.state
        for event in events_of:
            state = loaded.fold.evolve(state, event)
        streams.loaded[stream_id] = replace(
            loaded, state=state, version=loaded.version + len(events_of)
        )
    states = {s: loaded.state for s, loaded in streams.loaded.items()}
    versions = {s: loaded.version for s, loaded in streams.loaded.items()}
    return Outcome(events, envelopes, states, versions)
