"""PostgreSQL event store on asyncpg: append with expected versions, read streams, read all.

Recorder only: it persists and reads envelopes; deciding is the domain's job.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar, cast

import asyncpg

from . import snapshots
from .context import CommandContext
from .envelope import Envelope
from .errors import ConcurrencyConflict
from .metrics import EVENTS_APPENDED, labelled
from .registry import DomainEvent, EventRegistry

S = TypeVar("S")

NOTIFY_CHANNEL = "fairline_events"
_CONFLICT = "FL409"  # raised by fairline_require_claims (sql/003)

CONTENDED_SECONDS = 1.0
"""How long a stream that lost an optimistic race is written under its lock from the start."""
CONTENDED_STREAMS = 10_000

_COLUMNS = (
    "event_id, stream_id, stream_version, event_type, schema_version, occurred_at, actor,"
    " reason, command, correlation_id, causation_id, trace_context, data"
)


@dataclass(frozen=True, order=True)
class Checkpoint:
    """A place in commit order: the writing transaction, then the position within it."""

    tx_id: int = 0
    position: int = 0

    @classmethod
    def start(cls) -> Checkpoint:
        return cls(0, 0)


@dataclass(frozen=True)
class StoredEvent:
    envelope: Envelope
    checkpoint: Checkpoint


class EncodedEvent(NamedTuple):
    """A committed event in its wire form, with what the relay needs to route and trace it.

    A tuple of the row's own values, in the order `read_all_encoded` selects them: a relay
    batch holds thousands, and a dataclass's validating, field-by-field constructor was a
    tenth of the relay's time.
    """

    tx_id: int
    position: int
    stream_id: str
    event_type: str
    schema_version: int
    event_id: uuid.UUID
    trace_json: str | None
    """The stored trace context as JSON; None for an event stored without one."""
    value: bytes

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.tx_id, self.position)

    @property
    def trace_context(self) -> dict[str, str]:
        return json.loads(self.trace_json) if self.trace_json else {}

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """As `Envelope.kafka_headers` has them, before the trace's own."""
        described = _TYPE_HEADERS.get((self.event_type, self.schema_version))
        if described is None:
            described = _TYPE_HEADERS[self.event_type, self.schema_version] = (
                ("event_type", self.event_type.encode()),
                ("schema_version", str(self.schema_version).encode()),
            )
        return [*described, ("event_id", str(self.event_id).encode()), _CONTENT_TYPE]


_TYPE_HEADERS: dict[tuple[str, int], tuple[tuple[str, bytes], tuple[str, bytes]]] = {}
"""The headers of each event type and schema version, encoded once (a handful per service)."""
_CONTENT_TYPE = ("content-type", b"application/json")


@dataclass(frozen=True)
class StreamAppend:
    stream_id: str
    events: Sequence[DomainEvent]
    expected_version: int


class EventStore:
    def __init__(
        self,
        pool: asyncpg.Pool,
        registry: EventRegistry,
        *,
        cached_states: int = 20_000,
        service: str | None = None,
    ) -> None:
        self.service = service
        """Stamped on every envelope read or relayed: the consumers' check of its origin."""
        self.pool = pool
        self.registry = registry
        # Folded states by (stream, evolve): a load reads only the events after the cached
        # version, so hot streams (an edition's catalogue, a price list) are not re-read and
        # re-decoded on every command. States are immutable, so sharing them is safe.
        self._states: OrderedDict[tuple[str, Callable[..., Any]], tuple[Any, int]] = OrderedDict()
        self._cached_states = cached_states
        # Streams whose optimistic writers lost a race lately, until when (monotonic): a
        # rush on one booth queues on its lock instead of racing, losing and queueing anyway.
        self._contended: OrderedDict[str, float] = OrderedDict()
        self.doorbell = Doorbell(pool)

    async def append(
        self,
        stream_id: str,
        events: Sequence[DomainEvent],
        expected_version: int,
        context: CommandContext,
        connection: asyncpg.Connection | None = None,
    ) -> list[Envelope]:
        append = StreamAppend(stream_id, events, expected_version)
        return await self.append_streams([append], context, connection=connection)

    async def append_streams(
        self,
        appends: Sequence[StreamAppend],
        context: CommandContext,
        connection: asyncpg.Connection | None = None,
        *,
        guard: Guard | None = None,
    ) -> list[Envelope]:
        """Append to several streams: all of them, or none (one statement, so it needs no
        transaction of its own; inside a caller's, a conflict aborts the caller's too).
        With `guard`, the statement first takes its locks and checks what was read."""
        appends = [a for a in appends if a.events]
        if not appends:
            return []
        if len({a.stream_id for a in appends}) != len(appends):
            raise ValueError("one StreamAppend per stream")
        recording = _Recording(self, appends, context)
        if connection is not None:
            return await self._write(connection, appends, recording, guard)
        async with self.pool.acquire() as conn:
            return await self._write(conn, appends, recording, guard)

    async def _write(
        self,
        conn: asyncpg.Connection,
        appends: Sequence[StreamAppend],
        recording: _Recording,
        guard: Guard | None = None,
    ) -> list[Envelope]:
        """Claim each stream's versions and insert the events, in one round trip.

        The claim is a compare-and-set on `streams`; its row lock serialises writers per
        stream. Readers deliver events in transaction-id order, so a transaction that got
        its id early (it wrote or locked something first) may not append after a writer
        with a higher id: that would put the stream's versions out of order for them. It is
        refused as a concurrent change, and its retry, with a new id, goes through.
        """
        guarded = () if guard is None else (list(guard.keys), [*guard.read], [*guard.read.values()])
        own_transaction = not conn.is_in_transaction()
        if guard is not None:
            statement = _GUARDED_APPEND
        else:
            statement = _APPEND if own_transaction else _APPEND_NOTIFYING
        try:
            written = await conn.fetch(
                statement,
                [a.stream_id for a in appends],
                [a.expected_version for a in appends],
                [a.expected_version + len(a.events) for a in appends],
                *recording.columns(),
                *guarded,
            )
        except asyncpg.PostgresError as exc:
            if exc.sqlstate == _CONFLICT:
                stream_id = getattr(exc, "detail", None) or appends[0].stream_id
                expected = {a.stream_id: a.expected_version for a in appends}
                if guard is not None:
                    expected = {**guard.read, **expected}
                raise ConcurrencyConflict(stream_id, expected.get(stream_id, 0)) from exc
            if isinstance(exc, asyncpg.UniqueViolationError):  # a writer bypassed `streams`
                first = appends[0]
                raise ConcurrencyConflict(first.stream_id, first.expected_version) from exc
            raise
        if own_transaction:  # committed: the relay may read it now
            self.doorbell.ring()
        # written; a caller's later rollback is not subtracted
        for event_type, count in Counter(recording.event_types).items():
            labelled(EVENTS_APPENDED, event_type).inc(count)
        return recording.envelopes(written)

    async def stream_version(self, stream_id: str) -> int:
        version = await self.pool.fetchval(
            "SELECT version FROM public.streams WHERE stream_id = $1", stream_id
        )
        return int(version or 0)

    async def read_stream(
        self,
        stream_id: str,
        after_version: int = 0,
        connection: asyncpg.Connection | None = None,
    ) -> list[Envelope]:
        rows = await (connection or self.pool).fetch(
            f"SELECT position, {_COLUMNS} FROM public.events"
            " WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [_envelope(r, self.service) for r in rows]

    async def load(
        self,
        stream_id: str,
        evolve: Callable[[S, DomainEvent], S],
        initial: S,
        connection: asyncpg.Connection | None = None,
    ) -> tuple[S, int]:
        """Fold a stream into its current state; returns the state and its version."""
        [loaded] = await self.load_many([(stream_id, evolve, initial)], connection)
        return cast(tuple[S, int], loaded)

    async def load_many(
        self,
        wanted: Sequence[tuple[str, Callable[[Any, DomainEvent], Any], Any]],
        connection: asyncpg.Connection | None = None,
        *,
        locking: Sequence[int] = (),
    ) -> list[tuple[Any, int]]:
        """Fold several streams (stream, evolve, initial state) with one query.

        `locking`: transaction-level advisory lock keys to take first, in that order, in the
        same round trip (inside the caller's transaction); the streams are read after every
        lock is held."""
        starts = [self._states.get((sid, evolve), (initial, 0)) for sid, evolve, initial in wanted]
        starts = await snapshots.starts(connection or self.pool, wanted, starts)
        after: dict[str, int] = {}
        for (sid, _, _), (_, version) in zip(wanted, starts, strict=True):
            after[sid] = min(after.get(sid, version), version)
        if locking:
            if connection is None or not connection.is_in_transaction():
                raise ValueError("locks are taken inside the caller's transaction")
            rows = await connection.fetch(
                _LOCK_AND_LOAD, list(locking), list(after), list(after.values())
            )
        else:
            rows = await (connection or self.pool).fetch(_LOAD, list(after), list(after.values()))
        # Only what folding needs: no envelope per event (its metadata is not folded).
        by_stream: dict[str, list[asyncpg.Record]] = {}
        for r in rows:
            by_stream.setdefault(r["stream_id"], []).append(r)
        decode = self.registry.decode
        # Only committed states are cached: what a transaction read of its own writes may
        # still roll back.
        committed = connection is None or not connection.is_in_transaction()
        loaded = []
        for (sid, evolve, _), (state, version) in zip(wanted, starts, strict=True):
            for r in by_stream.get(sid, ()):
                if r["stream_version"] > version:
                    data = json.loads(r["data"])
                    state = evolve(state, decode(r["event_type"], r["schema_version"], data))
                    version = r["stream_version"]
            if committed:
                self.remember(sid, evolve, state, version)
            loaded.append((state, version))
        await snapshots.keep(connection or self.pool, wanted, loaded)
        return loaded

    def known(self, stream_id: str, evolve: Callable[[Any, DomainEvent], Any]) -> Any | None:
        """The last committed state of a stream this process folded, if any: a hint, with no
        query, that may be behind the database (never decide a write on it)."""
        found = self._states.get((stream_id, evolve))
        return found[0] if found is not None else None

    def remember(
        self, stream_id: str, evolve: Callable[[Any, DomainEvent], Any], state: Any, version: int
    ) -> None:
        """Cache a committed state, so the next load of the stream reads only newer events."""
        if not version:
            return
        key = (stream_id, evolve)
        if self._states.get(key, (None, 0))[1] > version:
            return
        self._states[key] = (state, version)
        self._states.move_to_end(key)
        if len(self._states) > self._cached_states:
            self._states.popitem(last=False)

    def contend(self, stream_id: str) -> None:
        """A writer of `stream_id` lost a race: lock it from the start for a while."""
        self._contended[stream_id] = time.monotonic() + CONTENDED_SECONDS
        self._contended.move_to_end(stream_id)
        if len(self._contended) > CONTENDED_STREAMS:
            self._contended.popitem(last=False)

    def contended(self, stream_ids: Iterable[str]) -> bool:
        """Whether a writer of any of `stream_ids` lost a race in the last moments."""
        if not self._contended:
            return False
        now = time.monotonic()
        for stream_id in stream_ids:
            until = self._contended.get(stream_id)
            if until is not None:
                if until > now:
                    return True
                del self._contended[stream_id]
        return False

    async def read_all(self, after: Checkpoint, limit: int = 1000) -> list[StoredEvent]:
        """Committed events after `after`, in commit order, never skipping a late commit.

        Only transactions older than every transaction still running are read; anything
        that commits later has a larger transaction id, so it sorts after the checkpoint.
        """
        rows = await self.pool.fetch(
            f"""
            SELECT position, tx_id::text::bigint AS tx, {_COLUMNS} FROM public.events
            WHERE (tx_id, position) > ($1::text::xid8, $2)
              AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY tx_id, position
            LIMIT $3
            """,
            str(after.tx_id),
            after.position,
            limit,
        )
        return [
            StoredEvent(_envelope(r, self.service), Checkpoint(r["tx"], r["position"]))
            for r in rows
        ]

    async def read_all_encoded(
        self, after: Checkpoint, limit: int = 1000, connection: asyncpg.Connection | None = None
    ) -> list[EncodedEvent]:
        """Like read_all, with each envelope already in its JSON encoding, built by PostgreSQL.

        The relay only forwards bytes, so it skips decoding and re-encoding every event.
        """
        rows = await (connection or self.pool).fetch(
            _READ_ENCODED, str(after.tx_id), after.position, limit, json.dumps(self.service)
        )
        return list(map(EncodedEvent._make, rows))

    async def load_checkpoint(self, reader: str) -> Checkpoint:
        row = await self.pool.fetchrow(
            "SELECT tx_id::text::bigint AS tx, position FROM public.reader_checkpoints"
            " WHERE reader = $1",
            reader,
        )
        return Checkpoint(row["tx"], row["position"]) if row else Checkpoint.start()

    async def save_checkpoint(self, reader: str, checkpoint: Checkpoint) -> None:
        await self.pool.execute(
            """
            INSERT INTO public.reader_checkpoints (reader, tx_id, position)
            VALUES ($1, $2::text::xid8, $3)
            ON CONFLICT (reader) DO UPDATE
              SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()
            """,
            reader,
            str(checkpoint.tx_id),
            checkpoint.position,
        )


_FOLDED = "stream_id, stream_version, event_type, schema_version, data"
"""What a load folds: an event's place in its stream, its type and its payload."""

_READ_ENCODED = """
SELECT tx_id::text::bigint AS tx, position, stream_id, event_type, schema_version, event_id,
       NULLIF(trace_context, '{}'::jsonb)::text AS trace_json,
       -- The envelope as Envelope.to_json has it (keys in its order, same values), built by
       -- concatenation: json_build_object looks up each argument's type again for every row,
       -- and took half as long again. Bytes, since that is what goes to Kafka.
       convert_to(
         '{"event_id":"' || event_id::text
         || '","event_type":' || to_json(event_type)::text
         || ',"schema_version":' || schema_version::text
         || ',"stream_id":' || to_json(stream_id)::text
         || ',"stream_version":' || stream_version::text
         || ',"service":' || $4::text
         || ',"position":' || position::text
         || ',"occurred_at":' || to_json(occurred_at)::text
         || ',"actor":' || to_json(actor)::text
         || ',"reason":' || coalesce(to_json(reason)::text, 'null')
         || ',"command":' || coalesce(to_json(command)::text, 'null')
         || ',"correlation_id":"' || correlation_id::text
         || '","causation_id":' || coalesce('"' || causation_id::text || '"', 'null')
         || ',"trace_context":' || trace_context::text
         || ',"data":' || data::text
         || '}',
         'UTF8'
       ) AS value
FROM public.events
WHERE (tx_id, position) > ($1::text::xid8, $2)
  AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY tx_id, position
LIMIT $3
"""
"""Committed events after a checkpoint, in commit order, as EncodedEvent's fields; $4 is the
service as JSON (`"booths"` or `null`)."""

_LOAD = f"SELECT {_FOLDED} FROM public.fairline_load($1::text[], $2::int[])"
"""A command's read without locks: the key lookup planned once per connection
(sql/008_load_by_key.sql); sent as its own statement it was planned anew on every call."""
_LOCK_AND_LOAD = (
    f"SELECT {_FOLDED} FROM public.fairline_lock_and_load($1::bigint[], $2::text[], $3::int[])"
)
"""Locks first, then the read, in one round trip (sql/004_lock_and_load.sql)."""

_APPEND_SHAPE = f"""
WITH wanted AS (
  SELECT * FROM unnest($1::text[], $2::int[], $3::int[]) AS w(stream_id, expected, next)
  {{guard}}
), created AS (
  INSERT INTO public.streams (stream_id, version, last_tx_id)
  SELECT stream_id, next, pg_current_xact_id() FROM wanted WHERE expected = 0
  ON CONFLICT (stream_id) DO NOTHING
  RETURNING stream_id
), moved AS (
  UPDATE public.streams s SET version = w.next, last_tx_id = pg_current_xact_id()
  FROM wanted w
  WHERE w.expected > 0 AND s.stream_id = w.stream_id AND s.version = w.expected
    AND s.last_tx_id <= pg_current_xact_id()
  RETURNING s.stream_id
), claims AS (
  SELECT public.fairline_require_claims(
    ARRAY(SELECT stream_id FROM created UNION ALL SELECT stream_id FROM moved), $1::text[]
  ) AS ok
), appended AS (
  -- Per event what differs; the command's metadata once, as parameters.
  INSERT INTO public.events ({_COLUMNS})
  SELECT e.event_id, e.stream_id, e.stream_version, e.event_type, e.schema_version,
         $9::timestamptz, $10::text, $11::text, $12::text, $13::uuid, $14::uuid, $15::jsonb,
         e.data
  FROM unnest($4::uuid[], $5::text[], $6::int[], $7::text[], $8::int[], $16::jsonb[])
    AS e(event_id, stream_id, stream_version, event_type, schema_version, data)
  WHERE (SELECT ok FROM claims)
  RETURNING event_id, position
){{woken}}
"""
"""Every stream's claim, then the events: one statement, so all of it or none of it."""
_WOKEN = f"""
, woken AS MATERIALIZED (
  -- Wake the relay at commit: one call per append, not one per event (a CTE scanned once).
  SELECT pg_notify('{NOTIFY_CHANNEL}', '') WHERE EXISTS (SELECT FROM appended)
)
SELECT event_id, position FROM appended, woken"""
_RETURNED = "\nSELECT event_id, position FROM appended"
_APPEND = _APPEND_SHAPE.replace("{guard}", "").replace("{woken}", _RETURNED)
"""An append that is its own transaction. It does not NOTIFY: the store's doorbell wakes the
relay right after it commits (`Doorbell`)."""
_APPEND_NOTIFYING = _APPEND_SHAPE.replace("{guard}", "").replace("{woken}", _WOKEN)
"""An append inside a caller's transaction (a policy's batch, a command under its locks): it
wakes the relay at that transaction's commit."""
_GUARDED_APPEND = _APPEND_SHAPE.replace(
    "{guard}",
    "WHERE (SELECT public.fairline_lock_and_check($17::bigint[], $18::text[], $19::int[]))",
).replace("{woken}", _RETURNED)
"""An append after the locks and the checks of what was read (sql/005_lock_and_check.sql),
its own transaction too: the scalar subquery runs once, before any claim, since every claim
reads `wanted`."""


class Doorbell:
    """Wakes the relay (LISTEN on `NOTIFY_CHANNEL`) after appends that were their own
    transaction, with one NOTIFY for all the appends of a few milliseconds; and, on
    `READ_MODELS_CHANNEL`, API processes after a projection's batch (projection.py).

    A transaction that notifies takes one lock for the whole database at its commit
    (PostgreSQL's async.c, so that notifications keep commit order) and holds it while its
    commit is flushed to disk. When every append notified, appends committed one at a time
    behind that lock (wait event `Lock: object`), never together in one flush: under a rush
    a slow flush queued every command behind it, for seconds in `make bench`. The doorbell's
    own transaction writes nothing that matters, so it commits without waiting for its flush.

    It rings after the commit: a relay woken by it reads the appends it rang for. A ring
    while one is on its way rings once more when it is back, so the last append of a burst
    is never left to the relay's idle poll. When the database is down the ring is dropped:
    the relay's poll (every half second) still finds the events."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        channel: str = NOTIFY_CHANNEL,
        payload: str = "",
        *,
        every_s: float = 0.005,
    ) -> None:
        self.pool = pool
        self.channel = channel
        self.payload = payload
        self.every_s = every_s
        self._ringing: asyncio.Task[None] | None = None
        self._again = False

    def ring(self) -> None:
        if self._ringing is None or self._ringing.done():
            self._ringing = asyncio.create_task(self._ring())
        else:
            self._again = True

    async def _ring(self) -> None:
        while True:
            self._again = False
            with contextlib.suppress(Exception):  # the relay's poll covers a lost ring
                await self.pool.execute(_RING, self.channel, self.payload)
            if not self._again:
                return
            await asyncio.sleep(self.every_s)

    async def silence(self) -> None:
        """Wait for a ring on its way (a clean stop, before the pool closes)."""
        if self._ringing is not None:
            with contextlib.suppress(Exception):
                await self._ringing


_RING = "SELECT pg_notify($1, $2), set_config('synchronous_commit', 'off', true)"
"""A notification only: it commits without waiting for the disk, so it holds the database's
notify lock for microseconds, not a flush."""


@dataclass(frozen=True)
class Guard:
    """What an append without a transaction of its own first does in the same statement: take
    the advisory locks `keys` (in that order, held until it commits) and then check that each
    stream read is still at the version read (0: it did not exist)."""

    keys: Sequence[int]
    read: Mapping[str, int]


class _Recording:
    """One append's rows, built without an envelope per event before the write.

    The caller's metadata is checked once, by validating the first event's envelope; every
    other envelope is that one with the event's own fields put in (each already valid: a
    fresh id, a version above the stream's, a validated event's type and payload). Each
    payload is encoded once; the metadata is sent once per append, not once per event.
    """

    def __init__(
        self, store: EventStore, appends: Sequence[StreamAppend], context: CommandContext
    ) -> None:
        self.event_ids: list[uuid.UUID] = []
        self.stream_ids: list[str] = []
        self.versions: list[int] = []
        self.event_types: list[str] = []
        self.schema_versions: list[int] = []
        self.payloads: list[dict[str, Any]] = []
        encode = store.registry.encode
        for append in appends:
            if append.expected_version < 0:
                raise ValueError(f"{append.stream_id}: expected version below 0")
            version = append.expected_version
            for event in append.events:
                version += 1
                event_type, schema_version, data = encode(event)
                self.event_ids.append(uuid.uuid4())
                self.stream_ids.append(append.stream_id)
                self.versions.append(version)
                self.event_types.append(event_type)
                self.schema_versions.append(schema_version)
                self.payloads.append(data)
        self.first = Envelope(
            event_id=self.event_ids[0],
            event_type=self.event_types[0],
            schema_version=self.schema_versions[0],
            stream_id=self.stream_ids[0],
            stream_version=self.versions[0],
            service=store.service,
            occurred_at=datetime.now(UTC),
            actor=context.actor,
            reason=context.reason,
            command=context.command,
            correlation_id=context.correlation_id,
            causation_id=context.causation_id,
            trace_context=context.trace_context,
            data=self.payloads[0],
        )

    def columns(self) -> tuple[Any, ...]:
        """$4 to $16 of the append: the events' columns, then the metadata."""
        first = self.first
        return (
            self.event_ids,
            self.stream_ids,
            self.versions,
            self.event_types,
            self.schema_versions,
            first.occurred_at,
            first.actor,
            first.reason,
            first.command,
            first.correlation_id,
            first.causation_id,
            json.dumps(first.trace_context),
            [json.dumps(data) for data in self.payloads],
        )

    def envelopes(self, written: Sequence[asyncpg.Record]) -> list[Envelope]:
        position_of = {r["event_id"]: r["position"] for r in written}
        return [
            self.first.model_copy(
                update={
                    "event_id": event_id,
                    "stream_id": stream_id,
                    "stream_version": version,
                    "event_type": event_type,
                    "schema_version": schema_version,
                    "data": data,
                    "position": position_of[event_id],
                }
            )
            for event_id, stream_id, version, event_type, schema_version, data in zip(
                self.event_ids,
                self.stream_ids,
                self.versions,
                self.event_types,
                self.schema_versions,
                self.payloads,
                strict=True,
            )
        ]


def _envelope(r: asyncpg.Record, service: str | None) -> Envelope:
    return Envelope(
        event_id=r["event_id"],
        event_type=r["event_type"],
        schema_version=r["schema_version"],
        stream_id=r["stream_id"],
        stream_version=r["stream_version"],
        service=service,
        position=r["position"],
        occurred_at=r["occurred_at"],
        actor=r["actor"],
        reason=r["reason"],
        command=r["command"],
        correlation_id=r["correlation_id"],
        causation_id=r["causation_id"],
        trace_context=json.loads(r["trace_context"]),
        data=json.loads(r["data"]),
    )
