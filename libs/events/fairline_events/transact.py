"""Commands over several streams: lock, load, decide, append, all in one transaction.

Every command of every service is a `@command_handler` plan: it reads the streams its rule
needs (a booth and the exhibitor's hold cap, every night of a hotel stay, a meeting and each
party's agenda), calls the pure rule, and appends to all of them or to none; `transact` is
that plumbing, once, for every service.

Round trips. A command's first attempt runs without a transaction: it reads the streams it
needs in one query, unlocked, and appends in one statement that first takes the locks the
streams it writes would have had (held until that statement commits) and checks that every
stream it read, written or not, is still at the version it read; only then does it claim
the versions and insert. So it is as if it had locked, read and appended, in two round trips
for a booth, an account and the edition's market. When a stream moved meanwhile, or one it
writes lost such a race in the last second (`EventStore.contended`), the command runs
locked: BEGIN, lock and read (one round trip), append, COMMIT, decided again on fresh
state, so a lost race ends in the rule's answer.

Locks. On a locked attempt each stream a command writes is locked before it is read, so
concurrent commands on a stream queue, and each decides on the state the previous one left.
Locks are taken in one global order (by key), so two commands never wait on each other in a
cycle; a command that finds it needs a stream ordered before one it already holds starts
over, with every stream it now knows of locked first.

They are transaction-level advisory locks, not row locks (`FOR UPDATE`), because taking one
gives the transaction no id. Its id comes with its first write, the append, after every lock
is held. Readers of the event table go in transaction-id order, so the store refuses an
append by a transaction older than the stream's last writer: a command that took an id
early and then waited for a lock would lose its append. With advisory locks, for each
stream the order of transaction ids is the order of versions.

Retries. The append still checks every version read: a writer that does not lock (another
command's optimistic attempt, a plain append) or a policy's batch may get in first. The
command is then decided again on fresh state, after a short random pause that spreads the
racers out, a bounded number of times, so the loser of a race gets the rule's answer
(`booth_unavailable`, `no_room`), not a bare 409.

Policies. With `connection` the command runs in the caller's transaction (a policy appends
with its checkpoint): no transaction of its own and no retry. That transaction may already
have an id (the runner locks its bookkeeping rows first), so a conflict propagates: the
append is one statement that fails whole, which aborts the caller's transaction, so none of
it can commit, and the projection runner retries the whole batch on fresh state. It cannot
start over either, so its locks are taken as asked; if a batch's locks cross an API
command's, PostgreSQL breaks the deadlock, and both sides retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar, cast

import asyncpg

from .context import CommandContext, utc_now
from .decider import Fold
from .envelope import Envelope
from .errors import ConcurrencyConflict, DomainError
from .registry import DomainEvent
from .store import EventStore, Guard, StreamAppend
from .telemetry import database_span

C = TypeVar("C")
S = TypeVar("S")
T = TypeVar("T")

Decision = Mapping[str, Sequence[DomainEvent]]
"""What a command appends: the events for each stream, streams in the order to append."""


class Located(Protocol):
    """An event that names the stream it belongs to (booths' and hotels' events do)."""

    def stream_id(self) -> str: ...


After = Callable[[asyncpg.Connection, Sequence[DomainEvent]], Awaitable[None]]
"""Work outside the event table that must commit with the events or not at all (a key)."""

ATTEMPTS = 6
JITTER = 0.02
"""Seconds of random pause per failed attempt, so racers do not collide again in step."""

RETRY = (ConcurrencyConflict, asyncpg.DeadlockDetectedError)
"""A writer that does not lock got in first, or locks crossed with a policy's batch."""


def lock_key(stream_id: str) -> int:
    """A stream's advisory lock: 64 bits of its id's hash (a collision only queues more)."""
    digest = hashlib.blake2b(f"stream:{stream_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class _Loaded:
    fold: Fold[Any]
    state: Any
    version: int


class _Relock(Exception):
    """A stream is needed that orders before a lock already held: start over, all locked."""

    def __init__(self, streams: frozenset[str]) -> None:
        super().__init__(sorted(streams))
        self.streams = streams


class _Contended(_Relock):
    """A stream this command writes lost a race lately: queue on its lock from the start."""


class Streams:
    """The streams one attempt of a command reads and writes, inside its transaction.

    `await load(fold, stream_id)` is a stream the command writes: locked, then read, so its
    state is still current when the command commits. `load.peek` reads without locking, for
    streams only read (who is on the staff, the block a booking goes into); after the locks
    it sees a state no older than theirs. `load.lock` locks several streams at once, in
    order, before any is read.
    """

    def __init__(
        self,
        store: EventStore,
        connection: asyncpg.Connection,
        ordered: bool,
        now: datetime | None = None,
        *,
        locking: bool = True,
    ) -> None:
        self.store = store
        self.connection = connection
        self.ordered = ordered
        self.locking = locking
        """False for a command's first, optimistic attempt: no transaction and no locks; the
        append's version checks alone decide whether what it read is still current."""
        self.now = now if now is not None else utc_now()
        """The time this attempt's rules see (the context's clock, read once)."""
        self.locked: set[str] = set()
        self.loaded: dict[str, _Loaded] = {}
        self.queries = 0
        """Reads so far: unlocked, each is a snapshot of its own moment."""
        self.hooks: list[After] = []
        self._keys: set[int] = set()

    def with_events(self, hook: After) -> None:
        """Work outside the event table that commits with the events or not at all (a
        guest's key, an erasure): run in the same transaction, right after the append."""
        self.hooks.append(hook)

    async def lock(self, *stream_ids: str) -> None:
        """Lock streams for writing. One read before its lock is read again: if the stream
        moved meanwhile, whatever was planned from it is stale, a concurrent change."""
        keys, seen = self._take(stream_ids)
        if self.locking:
            await self._read([(loaded.fold, s) for s, loaded in seen.items()], keys)
            self._check(seen)

    def _take(self, stream_ids: Iterable[str]) -> tuple[list[int], dict[str, _Loaded]]:
        """The lock keys still to take for `stream_ids`, in the global order, and the states
        read before their lock (to read again once it is held)."""
        wanted = set(stream_ids) - self.locked
        if not self.locking:
            # Nothing to lock and nothing to read again: the append checks every version read.
            if self.store.contended(wanted):
                raise _Contended(frozenset(self.locked | wanted))
            self.locked |= wanted
            return [], {}
        keys = sorted({lock_key(s) for s in wanted} - self._keys)
        if self.ordered and keys and self._keys and keys[0] < max(self._keys):
            raise _Relock(frozenset(self.locked | wanted))
        self._keys.update(keys)
        self.locked |= wanted
        return keys, {s: self.loaded.pop(s) for s in sorted(wanted & self.loaded.keys())}

    def _check(self, seen: dict[str, _Loaded]) -> None:
        for stream_id, before in seen.items():
            if (now := self.loaded[stream_id].version) != before.version:
                raise ConcurrencyConflict(stream_id, before.version, now)

    async def __call__(self, fold: Fold[S], stream_id: str) -> S:
        """The state of a stream this command writes: locked for it, then read."""
        [state] = await self.all((fold, stream_id))
        return cast(S, state)

    async def all(
        self, *wanted: tuple[Fold[Any], str], also: Sequence[tuple[Fold[Any], str]] = ()
    ) -> list[Any]:
        """The states of streams this command writes, locked together, then read together
        with the streams it only reads (`also`, not locked): one round trip for the locks
        and the read."""
        keys, seen = self._take(stream_id for _, stream_id in wanted)
        again = [(loaded.fold, s) for s, loaded in seen.items()]
        await self._read([*wanted, *also, *again], keys)
        self._check(seen)
        return [self.loaded[s].state for _, s in (*wanted, *also)]

    def contended(self, stream_ids: Iterable[str]) -> bool:
        """Whether a writer of any of `stream_ids` lost a race in the last second (a hint for
        choosing among streams, as `EventStore.contended` keeps it)."""
        return self.store.contended(stream_ids)

    def known(self, fold: Fold[S], stream_id: str) -> S | None:
        """The stream's state as this process last saw it committed, without a query: a hint
        (it may be behind), to skip a lock that would only lead to a refusal. Read the stream
        (`peek`) before refusing on it."""
        return cast(S | None, self.store.known(stream_id, fold.evolve))

    async def peek(self, fold: Fold[S], stream_id: str) -> S:
        """The state of a stream, not locked (for checks and reads, not for writes)."""
        [state] = await self.peek_all((fold, stream_id))
        return cast(S, state)

    async def peek_all(self, *wanted: tuple[Fold[Any], str]) -> list[Any]:
        """The states of several streams, not locked, read in one query."""
        await self._read(wanted)
        return [self.loaded[s].state for _, s in wanted]

    async def _read(
        self, wanted: Iterable[tuple[Fold[Any], str]], locking: Sequence[int] = ()
    ) -> None:
        """Read the streams not read yet, after taking `locking` (advisory lock keys, in
        order), in one query."""
        missing: dict[str, Fold[Any]] = {}
        for fold, stream_id in wanted:
            if stream_id not in self.loaded:
                missing.setdefault(stream_id, fold)
        if not missing and not locking:
            return
        self.queries += 1
        loaded = await self.store.load_many(
            [(s, fold.evolve, fold.initial(s)) for s, fold in missing.items()],
            connection=self.connection,
            locking=locking,
        )
        for (s, fold), (state, version) in zip(missing.items(), loaded, strict=True):
            self.loaded[s] = _Loaded(fold, state, version)


Decide = Callable[[Streams], Awaitable[Decision]]
"""A command: load what it needs through `Streams`, return the events for each stream."""


@dataclass(frozen=True)
class Outcome:
    events: list[DomainEvent]
    """Everything appended, stream by stream in the decision's order."""
    envelopes: list[Envelope]
    states: dict[str, Any]
    """Each stream the command loaded, as its events left it."""
    versions: dict[str, int]

    def state(self, stream_id: str, kind: type[S]) -> S:
        """One stream's state after the command, checked to be what the caller expects."""
        state = self.states[stream_id]
        if not isinstance(state, kind):
            raise TypeError(f"{stream_id} holds a {type(state).__name__}, not a {kind.__name__}")
        return state


async def transact(
    store: EventStore,
    decide: Decide,
    context: CommandContext,
    *,
    command: str | None = None,
    after: After | None = None,
    connection: asyncpg.Connection | None = None,
    attempts: int = ATTEMPTS,
) -> Outcome:
    """Lock and load what `decide` asks for, let it decide, append it all atomically.

    `command` names the command in the events' metadata (unless the context does already).
    A concurrent change makes the whole of it, `decide` included, run again on fresh state,
    up to `attempts` times; inside a caller's `connection`, it propagates instead.

    The first attempt is optimistic: it reads without a transaction or a lock and appends in
    one statement that takes the locks, then checks every stream read (two round trips
    instead of BEGIN, lock and read, append, COMMIT). What it costs is a race lost, after
    which the command queues on the locks like any other, and the streams it lost on are
    locked from the start by the next commands for a while.
    """
    if command is not None and context.command is None:
        context = context.for_command(command)
    if connection is not None:  # the caller's transaction: it cannot start over, nor retry
        load = Streams(store, connection, ordered=False, now=context.clock())
        return await _attempt(load, decide, context, after)
    first: frozenset[str] = frozenset()
    try:
        return await _optimistic(store, decide, context, after)
    except _Contended as contended:
        first = contended.streams
    except RETRY as lost:
        if isinstance(lost, ConcurrencyConflict):
            store.contend(lost.stream_id)
    relocks = 0

    async def locked() -> Outcome:
        nonlocal first, relocks
        while True:
            try:
                async with store.pool.acquire() as conn, conn.transaction():
                    # A plan that keeps finding new streams is not restarted for ever: from
                    # then on it locks as asked, and a deadlock is retried like a conflict.
                    load = Streams(store, conn, ordered=relocks < attempts, now=context.clock())
                    await load.lock(*first)
                    outcome = await _attempt(load, decide, context, after)
                return _committed(store, load, outcome, context)
            except _Relock as relock:  # not a failure: start over at once, more locked first
                relocks += 1
                first |= relock.streams

    return await retrying(locked, attempts=attempts)


async def retrying(attempt: Callable[[], Awaitable[T]], *, attempts: int = ATTEMPTS) -> T:
    """`attempt()` again after a concurrent change or a deadlock (`RETRY`), after a short
    random pause that grows with each failure, up to `attempts` times in all; the last
    failure propagates, and so does any other exception, at once."""
    failures = 0
    while True:
        try:
            return await attempt()
        except RETRY:
            failures += 1
            if failures >= attempts:
                raise
            await asyncio.sleep(random.uniform(0, JITTER * failures))


async def _optimistic(
    store: EventStore, decide: Decide, context: CommandContext, after: After | None
) -> Outcome:
    """One attempt that reads unlocked and appends with its locks taken and every stream it
    read checked; a transaction only when work outside the event table must commit with
    the events."""
    async with store.pool.acquire() as conn:
        load = Streams(store, conn, ordered=False, now=context.clock(), locking=False)
        try:
            decision = await _decision(load, decide)
        except DomainError:
            await _one_moment(load)  # a refusal stands only on a state that existed
            raise
        if not decision:
            await _one_moment(load)
        if not load.hooks and after is None:
            outcome = await _append(load, decision, context, None)
        else:
            async with conn.transaction():
                outcome = await _append(load, decision, context, after)
    return _committed(store, load, outcome, context)


async def _one_moment(load: Streams) -> None:
    """Start over locked unless what the attempt read, in several unlocked queries, was the
    state of one moment: it was if every stream read is still at the version read (versions
    only grow). A slot read open, then its host's agenda read with the winner's booking,
    would otherwise refuse with `double_booked` instead of `slot_taken`."""
    if load.queries < 2:
        return
    rows = await load.connection.fetch(
        "SELECT stream_id, version FROM public.streams WHERE stream_id = ANY($1::text[])",
        list(load.loaded),
    )
    now = {r["stream_id"]: r["version"] for r in rows}
    if any(now.get(s, 0) != loaded.version for s, loaded in load.loaded.items()):
        raise _Contended(frozenset(load.locked))


def _committed(
    store: EventStore, load: Streams, outcome: Outcome, context: CommandContext
) -> Outcome:
    if context.receipt is not None:  # the answer's consistency token
        context.receipt.record({e.stream_id: e.stream_version for e in outcome.envelopes})
    # Committed: the next command on these streams reads only what came after.
    for stream_id, loaded in load.loaded.items():
        store.remember(
            stream_id,
            loaded.fold.evolve,
            outcome.states[stream_id],
            outcome.versions[stream_id],
        )
    return outcome


async def _attempt(
    load: Streams, decide: Decide, context: CommandContext, after: After | None
) -> Outcome:
    return await _append(load, await _decision(load, decide), context, after)


async def _decision(load: Streams, decide: Decide) -> dict[str, list[DomainEvent]]:
    decision = {s: list(events) for s, events in (await decide(load)).items() if events}
    unlocked = sorted(s for s in decision if s not in load.locked or s not in load.loaded)
    if unlocked:
        raise RuntimeError(f"decided events for streams it did not lock and load: {unlocked}")
    return decision


async def _append(
    load: Streams,
    decision: dict[str, list[DomainEvent]],
    context: CommandContext,
    after: After | None,
) -> Outcome:
    appends = [StreamAppend(s, events, load.loaded[s].version) for s, events in decision.items()]
    guard = None
    if not load.locking:  # the locks now, and every stream read checked as it was read
        keys = sorted({lock_key(s) for s in load.locked})
        guard = Guard(keys, {s: loaded.version for s, loaded in load.loaded.items()})
    with database_span("INSERT", "events", load.connection, batch=len(appends)):
        envelopes = await load.store.append_streams(
            appends, context, connection=load.connection, guard=guard
        )
    events = [event for a in appends for event in a.events]
    for hook in [*load.hooks, *([after] if after is not None else [])]:
        await hook(load.connection, events)
    states: dict[str, Any] = {}
    versions: dict[str, int] = {}
    for stream_id, loaded in load.loaded.items():
        state = loaded.state
        for event in decision.get(stream_id, ()):
            state = loaded.fold.evolve(state, event)
        states[stream_id] = state
        versions[stream_id] = loaded.version + len(decision.get(stream_id, ()))
    return Outcome(events, envelopes, states, versions)


def by_stream(
    events: Iterable[DomainEvent], stream_of: Callable[[DomainEvent], str] | None = None
) -> dict[str, list[DomainEvent]]:
    """A decision across streams whose events each name their stream, grouped by stream."""
    grouped: dict[str, list[DomainEvent]] = {}
    for event in events:
        stream_id = stream_of(event) if stream_of is not None else _located(event)
        grouped.setdefault(stream_id, []).append(event)
    return grouped


def _located(event: DomainEvent) -> str:
    locate = getattr(event, "stream_id", None)
    if not callable(locate):
        raise TypeError(f"{type(event).__name__} does not name its stream: return a Decision")
    return cast(str, locate())


Plan = Callable[[C, Streams], Coroutine[Any, Any, Decision | Sequence[DomainEvent]]]
"""A command's plan: read the streams the decision needs (those it writes locked, through
`streams`), call the pure decision, and return its events, grouped by stream or each naming
its own stream."""


class CommandHandler(Generic[C]):
    """The one way to handle a command in every service; made by `@command_handler`.

    `await hold_booth(store, command, context)` runs the plan inside one transaction: the
    streams it writes are locked before they are read, streams found from another stream's
    state (a booth's holder's account) are read and locked in the same attempt, and a
    concurrent change anywhere makes the whole plan run again on fresh state. Inside a
    policy's transaction, pass `connection`.
    """

    def __init__(self, plan: Plan[C]) -> None:
        self.plan = plan
        self.__name__ = getattr(plan, "__name__", "command")
        self.__doc__ = plan.__doc__

    async def __call__(
        self,
        store: EventStore,
        command: C,
        context: CommandContext,
        *,
        connection: asyncpg.Connection | None = None,
    ) -> Outcome:
        async def decide(streams: Streams) -> Decision:
            decision = await self.plan(command, streams)
            return decision if isinstance(decision, Mapping) else by_stream(decision)

        name = type(command).__name__
        return await transact(store, decide, context, command=name, connection=connection)


def command_handler(plan: Plan[C]) -> CommandHandler[C]:
    """Make a command handler of a plan (see `CommandHandler`)."""
    return CommandHandler(plan)
