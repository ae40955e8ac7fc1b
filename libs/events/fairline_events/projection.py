"""Projections: read models built from events, exactly once in effect.

A projection owns one PostgreSQL schema (`proj_<name>`) holding its tables and the last
version (and event id) it applied of each stream. One batch from Kafka is applied in one
transaction that also moves those versions on, and the Kafka offsets are committed only
after it: a redelivered or re-sent event finds its version already applied and changes
nothing. The broker is not trusted blindly: version n+1 of a stream is applied only after n;
an event from further ahead (a gap), one that claims an applied version under another event
id, one that says it comes from another service than the topic's owner, or, on the
service's own topic, one its event store never wrote, is refused. A refused event, and one
that cannot be decoded or applied (in either mode, even when the database itself refuses
its row), goes to the projection's dead-letter topic with the reason in its headers, and
the batch goes on. Handlers use unqualified table names; the
runner points `search_path` at the schema, which is what lets `rebuild` replay into a fresh
schema and swap it in.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import ConsumerStoppedError, KafkaError

from .envelope import Envelope
from .errors import (
    ConcurrencyConflict,
    ConflictingEvent,
    EventDecodingError,
    RefusedEvent,
    VersionGap,
    WrongOrigin,
)
from .kafka import KafkaAccess, topic_partitions
from .kafka import consumer as make_consumer
from .kafka import producer as make_producer
from .metrics import DEAD_LETTERS, REBALANCES
from .outage import outage_cause, unavailable_dependency
from .pauses import PAUSED_SQL, PAUSES_SQL, SCHEMAS_LOCK
from .reads import READ_MODELS_CHANNEL
from .registry import DomainEvent, EventRegistry
from .store import Doorbell
from .telemetry import _unseen as spans_unseen
from .telemetry import process_span

log = structlog.get_logger(__name__)

E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any, Envelope, Any], Awaitable["Statements"]]

# Errors that say "the infrastructure failed, try again", never "this event is poison".
RETRYABLE = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InvalidCachedStatementError,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    KafkaError,
    ConcurrencyConflict,  # a policy's command raced an API command: retry on fresh state
)

_BOOKKEEPING_SQL = """
CREATE TABLE IF NOT EXISTS applied_versions (
    stream_id text PRIMARY KEY,
    version   integer NOT NULL
);
-- the event applied as that version: a same-version event with another id is no re-send
ALTER TABLE applied_versions ADD COLUMN IF NOT EXISTS event_id uuid;
CREATE TABLE IF NOT EXISTS consumed_offsets (
    topic       text    NOT NULL,
    partition   integer NOT NULL,
    next_offset bigint  NOT NULL,
    PRIMARY KEY (topic, partition)
);
-- events whose version was taken but whose handler (or the database) failed: what
-- `fairctl dead-letters redrive` may apply, once (fairline_events.redrive)
CREATE TABLE IF NOT EXISTS dead_letters (
    event_id    uuid PRIMARY KEY,
    stream_id   text NOT NULL,
    version     integer NOT NULL,
    source      text NOT NULL,
    error       text NOT NULL,
    dead_at     timestamptz NOT NULL DEFAULT now(),
    redriven_at timestamptz,
    redriven_by text
);
"""


_APPLIED_SQL = """
SELECT true AS applied, stream_id, version, event_id FROM applied_versions
WHERE stream_id = ANY($1::text[]) FOR UPDATE
"""
"""Each stream's applied version, locked until the batch commits."""

_CHECKED_SQL = """
WITH applied AS (
  SELECT stream_id, version, event_id FROM applied_versions
  WHERE stream_id = ANY($1::text[]) FOR UPDATE
)
SELECT true AS applied, stream_id, version, event_id FROM applied
UNION ALL
SELECT false, stream_id, stream_version, event_id FROM events WHERE event_id = ANY($2::uuid[])
"""
"""The same and, of the events that claim to come from the service's own store (on its own
topic), what that store holds."""

_SAVE_SQL = """
WITH versions AS (
  INSERT INTO applied_versions (stream_id, version, event_id)
  SELECT * FROM unnest($1::text[], $2::int[], $3::uuid[])
  ON CONFLICT (stream_id) DO UPDATE
  SET version = excluded.version, event_id = excluded.event_id
  WHERE applied_versions.version < excluded.version
), offsets AS (
  INSERT INTO consumed_offsets (topic, partition, next_offset)
  SELECT * FROM unnest($4::text[], $5::int[], $6::bigint[])
  ON CONFLICT (topic, partition) DO UPDATE SET next_offset = excluded.next_offset
  WHERE consumed_offsets.next_offset < excluded.next_offset
)
SELECT 1
"""
"""The batch's bookkeeping: the versions it applied, the offsets it consumed. API processes
hear of it after the commit (`ProjectionRunner.moved`), not from a NOTIFY in the batch: a
notifying commit holds the database's notify lock through its flush, and every projection's
batches and every append would commit one after another behind it."""


class Sql(NamedTuple):
    """One statement a handler asks for; the runner pipelines runs of the same statement.
    (A named tuple: one is made per event, and a frozen dataclass costs twice as much.)"""

    query: str
    args: tuple[Any, ...]


def sql(query: str, *args: Any) -> Sql:
    return Sql(query, args)


Statements = Sql | Sequence[Sql] | None
"""What a projection handler returns: the read model's change, as statements the runner
pipelines (several for an event that touches several rows' shapes, none to ignore it)."""


class _PoisonInBatch(Exception):
    """An event of the batch failed on the fast path: redo the batch carefully."""


class ProjectionPaused(Exception):
    """`fairctl pause` holds the projection: the batch is not applied (nor consumed)."""


class _Pipeline:
    """The connection handlers see: statements they return are queued and sent together
    (asyncpg's executemany pipelines them); anything they run themselves first flushes the
    queue, so every handler sees all earlier effects."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._query: str | None = None
        self._rows: list[tuple[Any, ...]] = []

    async def run(self, handler: Handler, event: DomainEvent, env: Envelope) -> None:
        out = await handler(event, env, self)
        # Usually one statement, most often the same one as before (compared by identity
        # first: the handler's query is a constant).
        for statement in (out,) if isinstance(out, Sql) else out or ():
            if statement.query is not self._query and statement.query != self._query:
                await self.flush()
                self._query = statement.query
            self._rows.append(statement.args)

    async def flush(self) -> None:
        # The queue is emptied before it is sent: rows the database refuses must not stay
        # queued, or every later flush would send (and fail on) them again.
        query, rows = self._query, self._rows
        self._query, self._rows = None, []
        if query is not None and rows:
            if len(rows) == 1:
                await self._conn.execute(query, *rows[0])
            else:
                await self._conn.executemany(query, rows)

    async def execute(self, query: str, *args: Any) -> str:
        await self.flush()
        return await self._conn.execute(query, *args)  # type: ignore[no-any-return]

    async def executemany(self, query: str, args: Any) -> None:
        await self.flush()
        await self._conn.executemany(query, args)

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        await self.flush()
        return await self._conn.fetch(query, *args)  # type: ignore[no-any-return]

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        await self.flush()
        return await self._conn.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        await self.flush()
        return await self._conn.fetchval(query, *args)

    def transaction(self) -> Any:
        return self._conn.transaction()

    def __getattr__(self, name: str) -> Any:  # anything else: the real connection
        return getattr(self._conn, name)


ReadModel = _Pipeline
"""What a projection handler gets as its third argument: reads (`fetch`, `fetchrow`,
`fetchval`) see every earlier change of the batch; changes are returned as `Statements`."""


_UNTRACED = contextlib.nullcontext()


def _span(
    group: str, record: ConsumerRecord[bytes, bytes], env: Envelope, *, seen: bool = True
) -> Any:
    """A consumer span continuing the event's trace, when it carries one and this process's
    spans reach anyone (`seen`). When none does, the span would only be current, unrecorded,
    while the handler runs: a policy's commands then continue the trace the event carried
    (`continued_trace`), in the same trace; making it was a fifth of a batch's own CPU."""
    if not seen:
        return _UNTRACED
    for name, _ in record.headers or ():
        if name == "traceparent":
            break
    else:  # most events: no span, and none of the work of naming one
        return _UNTRACED
    return process_span(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        headers=record.headers or (),
        group=group,
        event_type=env.event_type,
        event_id=str(env.event_id),
    )


class _SharedEnvelopes:
    """The envelopes decoded in this process, by their bytes, for the topics that several
    live projections here read (a worker's projections of its service's own topic): each of
    them receives every record, the first decodes it and the others find it here. Bytes
    decode to one envelope only, and an envelope is immutable, so each projection still gets
    exactly what it would have decoded itself; its own checks (origin, store, versions,
    registry) still run on it. A projection alone on its topics (a rebuild, the bench) keeps
    decoding for itself."""

    KEEP = 4096
    """Envelopes kept: a few seconds' worth at a fair-day rush, while the other projections
    of the topic fetch the same records."""

    def __init__(self) -> None:
        self.readers: dict[str, int] = {}
        self._by_bytes: dict[bytes, Envelope] = {}

    def shared(self, topic: str) -> bool:
        return self.readers.get(topic, 0) > 1

    def join(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self.readers[topic] = self.readers.get(topic, 0) + 1

    def leave(self, topics: Iterable[str]) -> None:
        for topic in topics:
            self.readers[topic] = self.readers.get(topic, 1) - 1
        if not any(count > 1 for count in self.readers.values()):
            self._by_bytes.clear()

    def decode(self, raw: bytes) -> Envelope:
        env = self._by_bytes.get(raw)
        if env is None:
            env = Envelope.from_json(raw)  # one that cannot be decoded is not kept
            kept = self._by_bytes
            kept[raw] = env
            if len(kept) > self.KEEP:
                del kept[next(iter(kept))]  # the oldest: dicts keep insertion order
        return env


_ENVELOPES = _SharedEnvelopes()


@dataclass
class Projection:
    """What a read model is: its name, the topics it reads, its tables, its handlers."""

    name: str
    topics: Sequence[str]
    registry: EventRegistry
    tables_sql: str
    handlers: dict[str, Handler] = field(default_factory=dict)

    @property
    def schema(self) -> str:
        return f"proj_{self.name}"

    @functools.cached_property
    def lock_key(self) -> int:  # asked for by every batch
        return int.from_bytes(hashlib.sha1(self.schema.encode()).digest()[:4], "big")

    def on(self, event_cls: type[E]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.handlers[event_cls.event_type] = handler
            return handler

        return register


@dataclass(frozen=True)
class DeadLetter:
    record: ConsumerRecord[bytes, bytes]
    error: BaseException
    taken: Envelope | None = None
    """The event, when its version was taken and only its handler failed: redrivable."""


@dataclass
class Prepared:
    """A batch decoded before its transaction (no database needed): the envelopes, what could
    not be decoded or came from the wrong service, and each applicable event decoded (or why
    it cannot be), so a live projection decodes the next batch while this one is written."""

    decoded: list[tuple[ConsumerRecord[bytes, bytes], Envelope]]
    dead: list[DeadLetter]
    events: dict[int, DomainEvent | Exception]
    """By the envelope's identity (`id`), not its event id: a forged record may claim one."""


@dataclass
class BatchResult:
    applied: int = 0
    duplicates: int = 0
    ignored: int = 0
    dead: list[DeadLetter] = field(default_factory=list)


class ProjectionRunner:
    """Applies Kafka records to a projection. Used by the live subscriber and by rebuild."""

    def __init__(
        self,
        projection: Projection,
        pool: asyncpg.Pool,
        kafka: KafkaAccess,
        topic_prefix: str,
        service: str | None = None,
    ) -> None:
        self.projection = projection
        self.pool = pool
        self._doorbells: dict[str, Doorbell] = {}
        self.kafka = kafka
        self.topics = [f"{topic_prefix}{t}" for t in projection.topics]
        # Named after the service too, so two services' projections never share a group.
        owner = f"{service}." if service else ""
        self.service = service or ""
        self.dead_letter_topic = f"{topic_prefix}{owner}{projection.name}.dlq"
        self.group_id = f"{topic_prefix}{owner}projection.{projection.name}"
        # `<prefix><service>.events` is written by <service> alone.
        self.topic_owners = {
            f"{topic_prefix}{t}": t.removesuffix(".events")
            for t in projection.topics
            if t.endswith(".events")
        }
        # On the service's own topic every event must be one its event store wrote.
        self.own_topics = {t for t, o in self.topic_owners.items() if service and o == service}

    async def create_schema(self, schema: str | None = None) -> None:
        schema = schema or self.projection.schema
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMAS_LOCK)
            await conn.execute(PAUSES_SQL)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            await conn.execute(f'SET LOCAL search_path TO "{schema}"')
            await conn.execute(_BOOKKEEPING_SQL)
            await conn.execute(self.projection.tables_sql)

    def prepare(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> Prepared:
        """Decode a batch: envelopes, their origin, and the events the handlers will get."""
        prepared = Prepared([], [], {})
        handlers, registry = self.projection.handlers, self.projection.registry
        shared = _ENVELOPES.shared
        for record in records:
            try:
                raw = record.value or b""
                env = _ENVELOPES.decode(raw) if shared(record.topic) else Envelope.from_json(raw)
                self._check_origin(record.topic, env)
            except (EventDecodingError, RefusedEvent) as exc:
                prepared.dead.append(DeadLetter(record, exc))
                continue
            prepared.decoded.append((record, env))
            if env.event_type in handlers:
                try:
                    prepared.events[id(env)] = env.event(registry)
                except Exception as exc:  # its handler's failure, once its version is taken
                    prepared.events[id(env)] = exc
        return prepared

    async def apply(
        self,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        *,
        schema: str | None = None,
        publish_dead: Callable[[list[DeadLetter]], Awaitable[None]] | None = None,
        prepared: Prepared | None = None,
    ) -> BatchResult:
        """Apply a batch in one transaction; dead letters are published before it commits.

        The fast path pipelines the handlers' statements; if any event fails, the batch is
        rolled back and applied again one event at a time, each in a savepoint, so only the
        poison is set aside.
        """
        prepared = prepared or self.prepare(records)
        try:
            return await self._apply(records, prepared, schema, publish_dead, careful=False)
        except _PoisonInBatch:
            return await self._apply(records, prepared, schema, publish_dead, careful=True)

    async def _apply(
        self,
        records: Sequence[ConsumerRecord[bytes, bytes]],
        prepared: Prepared,
        schema: str | None,
        publish_dead: Callable[[list[DeadLetter]], Awaitable[None]] | None,
        *,
        careful: bool,
    ) -> BatchResult:
        schema = schema or self.projection.schema
        result = BatchResult(dead=list(prepared.dead))
        async with self.pool.acquire() as raw, raw.transaction():
            search_path = f'"{schema}", public'
            if schema == self.projection.schema:
                # Shared with other live batches, exclusive for the rebuild's swap and for
                # `fairctl pause`, which so waits out the batches under way.
                paused, _ = await raw.fetchrow(
                    PAUSED_SQL, self.projection.lock_key, self.projection.name, search_path
                )
                if paused:
                    raise ProjectionPaused(self.projection.name)
            else:
                await raw.execute(f"SET LOCAL search_path TO {search_path}")
            # The projection's tables first; then the service's own (events, streams), so a
            # policy can issue commands through the event store in the same transaction.
            decoded, versions = await self._checked(raw, prepared.decoded, result)
            conn = _Pipeline(raw)
            handlers, events, group = self.projection.handlers, prepared.events, self.group_id
            seen = not spans_unseen()
            for record, env in decoded:
                applied, applied_id = versions.get(env.stream_id, (0, None))
                if env.stream_version <= applied:
                    if env.stream_version == applied and applied_id not in (None, env.event_id):
                        result.dead.append(DeadLetter(record, _conflict(env, applied_id)))
                    else:  # a redelivery or re-send: already applied
                        result.duplicates += 1
                    continue
                if env.stream_version != applied + 1:
                    gap = VersionGap(
                        f"{env.stream_id}: version {env.stream_version} arrived while"
                        f" {applied} is the last applied; only {applied + 1} may come next"
                    )
                    result.dead.append(DeadLetter(record, gap))
                    continue
                # Taken even if the handler fails below: a dead-lettered event is consumed.
                versions[env.stream_id] = (env.stream_version, env.event_id)
                handler = handlers.get(env.event_type)
                if handler is None:
                    result.ignored += 1
                    continue
                event = events[id(env)]
                with _span(group, record, env, seen=seen):
                    if not careful:
                        try:
                            await conn.run(handler, _decoded(event), env)
                        except Exception as exc:
                            if _retryable(exc):
                                raise
                            raise _PoisonInBatch from exc
                        result.applied += 1
                        continue
                    try:
                        async with raw.transaction():  # a savepoint: poison rolls back alone
                            await conn.run(handler, _decoded(event), env)
                            await conn.flush()
                        result.applied += 1
                    except Exception as exc:
                        if _retryable(exc):
                            raise
                        result.dead.append(DeadLetter(record, exc, taken=env))
            try:
                await conn.flush()
            except Exception as exc:
                if _retryable(exc) or careful:
                    raise
                raise _PoisonInBatch from exc
            await self._save(raw, versions, records)
            await self._keep_redrivable(raw, result.dead)
            if result.dead:
                for dead in result.dead:
                    log.warning(
                        "event dead-lettered",
                        projection=self.projection.name,
                        topic=dead.record.topic,
                        partition=dead.record.partition,
                        offset=dead.record.offset,
                        error=repr(dead.error),
                    )
                if publish_dead is not None:
                    await publish_dead(result.dead)
        self.moved(schema)
        return result

    def moved(self, schema: str) -> None:
        """Tell API processes, once the batch committed, that this read model moved: they keep
        answers rendered per position until then (reads.py)."""
        doorbell = self._doorbells.get(schema)
        if doorbell is None:
            doorbell = self._doorbells[schema] = Doorbell(self.pool, READ_MODELS_CHANNEL, schema)
        doorbell.ring()

    def _check_origin(self, topic: str, env: Envelope) -> None:
        """`<service>.events` carries only the events <service> says it wrote."""
        owner = self.topic_owners.get(topic)
        if owner is not None and env.service is not None and env.service != owner:
            raise WrongOrigin(
                f"{env.event_type} from service {env.service!r} on {topic}, which only"
                f" {owner!r} writes"
            )

    async def _checked(
        self,
        conn: asyncpg.Connection,
        decoded: list[tuple[ConsumerRecord[bytes, bytes], Envelope]],
        result: BatchResult,
    ) -> tuple[
        list[tuple[ConsumerRecord[bytes, bytes], Envelope]],
        dict[str, tuple[int, uuid.UUID | None]],
    ]:
        """One round trip: on the service's own topic, keep only the events its event store
        holds as they say; and the version (and event id) applied of each stream, locked."""
        own = [env for record, env in decoded if record.topic in self.own_topics]
        streams = list({env.stream_id for _, env in decoded})
        if own:
            rows = await conn.fetch(_CHECKED_SQL, streams, [env.event_id for env in own])
        else:
            rows = await conn.fetch(_APPLIED_SQL, streams)
        versions: dict[str, tuple[int, uuid.UUID | None]] = {}
        stored: dict[uuid.UUID, tuple[str, int]] = {}
        for r in rows:
            if r["applied"]:
                versions[r["stream_id"]] = (r["version"], r["event_id"])
            else:
                stored[r["event_id"]] = (r["stream_id"], r["version"])
        if not own:
            return decoded, versions
        kept = []
        for record, env in decoded:
            if record.topic in self.own_topics and stored.get(env.event_id) != (
                env.stream_id,
                env.stream_version,
            ):
                refused = WrongOrigin(
                    f"{env.event_type} {env.event_id} (version {env.stream_version} of"
                    f" {env.stream_id}) is not in the event store of the service owning"
                    f" {record.topic}"
                )
                result.dead.append(DeadLetter(record, refused))
            else:
                kept.append((record, env))
        return kept, versions

    @staticmethod
    async def _save(
        conn: asyncpg.Connection,
        versions: dict[str, tuple[int, uuid.UUID | None]],
        records: Sequence[ConsumerRecord[bytes, bytes]],
    ) -> None:
        offsets: dict[tuple[str, int], int] = {}
        for r in records:
            key = (r.topic, r.partition)
            offsets[key] = max(offsets.get(key, 0), r.offset + 1)
        # One round trip.
        await conn.execute(
            _SAVE_SQL,
            list(versions),
            [v for v, _ in versions.values()],
            [e for _, e in versions.values()],
            [t for t, _ in offsets],
            [p for _, p in offsets],
            list(offsets.values()),
        )

    @staticmethod
    async def _keep_redrivable(conn: asyncpg.Connection, dead: list[DeadLetter]) -> None:
        taken = [d for d in dead if d.taken is not None]
        if taken:
            await conn.executemany(
                """INSERT INTO dead_letters (event_id, stream_id, version, source, error)
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (event_id) DO NOTHING""",
                [
                    (
                        d.taken.event_id,
                        d.taken.stream_id,
                        d.taken.stream_version,
                        f"{d.record.topic}/{d.record.partition}/{d.record.offset}",
                        repr(d.error)[:2000],
                    )
                    for d in taken
                    if d.taken is not None
                ],
            )

    async def rebuild(self, *, batch_size: int = 5000) -> int:
        """Replay every record of the projection's topics into a fresh schema, then swap it in.

        The live subscriber may keep running: the final catch-up and the swap happen under
        the projection's exclusive lock, and afterwards the live subscriber finds every
        event it may see again already applied in the new schema.
        """
        fresh = f"{self.projection.schema}__rebuild"
        await self.create_schema()  # the live schema must exist to be swapped out
        async with self.pool.acquire() as conn:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{fresh}" CASCADE')
        await self.create_schema(fresh)
        consumer = make_consumer(
            self.kafka,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=batch_size,
        )
        await consumer.start()
        total = 0
        try:
            partitions = await topic_partitions(self.kafka, self.topics)
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            total += await self._replay_to_end(consumer, partitions, fresh)
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", self.projection.lock_key)
                # Whatever reached Kafka while we replayed is applied before the swap.
                total += await self._replay_to_end(consumer, partitions, fresh)
                old = f"{self.projection.schema}__old"
                await conn.execute(f'DROP SCHEMA IF EXISTS "{old}" CASCADE')
                await conn.execute(f'ALTER SCHEMA "{self.projection.schema}" RENAME TO "{old}"')
                await conn.execute(f'ALTER SCHEMA "{fresh}" RENAME TO "{self.projection.schema}"')
                await conn.execute(f'DROP SCHEMA "{old}" CASCADE')
        finally:
            await consumer.stop()
        log.info("projection rebuilt", projection=self.projection.name, events=total)
        return total

    async def _replay_to_end(
        self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition], schema: str
    ) -> int:
        end = await consumer.end_offsets(partitions)
        applied = 0
        producer = make_producer(self.kafka)
        await producer.start()

        async def publish_dead(dead: list[DeadLetter]) -> None:
            await _publish_dead_letters(producer, self.dead_letter_topic, dead)

        try:
            while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
                batches = await consumer.getmany(timeout_ms=1000)
                records = [r for tp in batches for r in batches[tp]]
                if records:
                    await self.apply(records, schema=schema, publish_dead=publish_dead)
                    applied += len(records)
        finally:
            await producer.stop()
        return applied


def _decoded(event: DomainEvent | Exception) -> DomainEvent:
    """The event as its handler gets it; one that could not be decoded fails as its handler
    would have."""
    if isinstance(event, Exception):
        raise event
    return event


def _retryable(exc: BaseException) -> bool:
    """Infrastructure trouble (the batch is tried again), not an event the database or the
    handler refuses. asyncpg reports an argument it cannot encode (an integer beyond bigint)
    as an InterfaceError that is also a ValueError: that is the event's fault."""
    if isinstance(exc, asyncpg.InterfaceError) and isinstance(exc, ValueError):
        return False
    return isinstance(exc, RETRYABLE)


def _conflict(env: Envelope, applied_id: uuid.UUID | None) -> ConflictingEvent:
    return ConflictingEvent(
        f"{env.stream_id}: version {env.stream_version} was applied as event {applied_id};"
        f" {env.event_type} {env.event_id} claims it too"
    )


async def _publish_dead_letters(producer: Any, topic: str, dead: list[DeadLetter]) -> None:
    sends = []
    for d in dead:
        headers = [
            *(d.record.headers or ()),
            ("dlq.error", repr(d.error)[:2000].encode()),
            ("dlq.reason", str(d.error)[:2000].encode()),
            ("dlq.error_type", type(d.error).__name__.encode()),
            ("dlq.traceback", "".join(traceback.format_exception(d.error))[-4000:].encode()),
            ("dlq.source", f"{d.record.topic}/{d.record.partition}/{d.record.offset}".encode()),
        ]
        sends.append(await producer.send(topic, d.record.value, key=d.record.key, headers=headers))
    await asyncio.gather(*sends)


class _ResumeFromCheckpoint(ConsumerRebalanceListener):  # type: ignore[misc]
    """On assignment, seek each partition to the offset PostgreSQL says comes next.

    PostgreSQL, not Kafka's committed offset, is the truth: a commit that ran ahead of an
    unapplied batch (one consumer commits every position it fetched) cannot skip it.
    """

    def __init__(self, runner: ProjectionRunner, written: Callable[[], Awaitable[None]]) -> None:
        self.runner = runner
        self.written = written
        self.consumer: AIOKafkaConsumer | None = None

    async def on_partitions_revoked(self, revoked: Any) -> None:
        # The batch being written commits (or fails) before its partitions move: the next
        # owner resumes from what PostgreSQL then says, never beside a transaction in flight.
        await self.written()

    def _count_rebalance(self) -> None:
        REBALANCES.labels(self.runner.service, self.runner.projection.name).inc()

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._count_rebalance()
        consumer = self.consumer
        if consumer is None or not assigned:
            return
        rows = await self.runner.pool.fetch(
            f'SELECT topic, partition, next_offset FROM "{self.runner.projection.schema}"'
            ".consumed_offsets"
        )
        resume = {(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        for tp in assigned:
            offset = resume.get((tp.topic, tp.partition))
            if offset is not None:
                consumer.seek(tp, offset)


@dataclass
class _Writing:
    """A batch whose transaction runs while the next batch is fetched and decoded."""

    records: list[ConsumerRecord[bytes, bytes]]
    written: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when its transaction is over, before the group's offsets are committed."""
    task: asyncio.Task[bool] = field(init=False)
    """True once applied; False when it failed or was paused and was rewound."""


def _rewind(consumer: Any, records: Iterable[ConsumerRecord[bytes, bytes]]) -> None:
    """Fetch these records again: each partition back to its earliest one here. A partition
    this member no longer holds is skipped: its next owner resumes from PostgreSQL."""
    earliest: dict[TopicPartition, int] = {}
    for r in records:
        tp = TopicPartition(r.topic, r.partition)
        if tp not in earliest or r.offset < earliest[tp]:
            earliest[tp] = r.offset
    for tp, offset in earliest.items():
        with contextlib.suppress(KafkaError, AssertionError):
            consumer.seek(tp, offset)


class LiveProjection:
    """The live side: an aiokafka consumer in the projection's own consumer group.

    A batch's offsets are stored in PostgreSQL with its effects, and a restart resumes from
    there. While one batch's transaction runs, the next is fetched and decoded (CPU and
    database at once); it starts its own transaction only after that one committed, and if
    that one failed, both are fetched again. Kafka's committed offsets only show ops the
    group's lag: those of applied batches are committed at most once a second, and when the
    projection has caught up (its poll comes back empty), and on a clean stop.

    The consumer loop is the runner's own (no framework between Kafka and the batch): a
    poll returns as soon as records arrive, so an idle projection waits in one long poll
    instead of waking every few milliseconds.
    """

    def __init__(
        self,
        runner: ProjectionRunner,
        *,
        max_records: int = 1000,
        poll_ms: int = 250,
        batch_every_ms: int = 40,
        commit_every_s: float = 1.0,
    ) -> None:
        self.runner = runner
        self.max_records = max_records
        # A batch's transaction costs six round trips whatever its size: under a steady
        # trickle, one batch starts at most every `batch_every_ms` and takes everything that
        # arrived meanwhile. After a quiet moment the first event is applied at once.
        self.batch_every_s = batch_every_ms / 1000
        # How long one poll waits for records; it returns at once when some arrive, so this
        # only bounds how soon a stop or an idle commit is noticed.
        self.poll_ms = poll_ms
        self.commit_every_s = commit_every_s
        self.applied = 0
        self.batches = 0
        """Batches applied, each in one transaction."""
        self.consumer: AIOKafkaConsumer | None = None
        self._producer: Any = None
        self._committed_at = 0.0
        self._uncommitted: dict[TopicPartition, int] = {}
        self._commit_lock = asyncio.Lock()
        self._committing: asyncio.Task[None] | None = None
        self._writing: _Writing | None = None
        self._finishing = asyncio.Event()
        self._paused_logged = False
        self._consuming: asyncio.Task[None] | None = None
        self._batch_started = 0.0
        self._joined = False
        """Counted among the readers of its topics (`_SharedEnvelopes`)."""

    async def start(self) -> None:
        """Its schema, its dead-letter producer, and its consumer joining the group. When one
        of them fails (PostgreSQL or Kafka down), what was started is stopped again, so the
        caller can simply call `start` once more."""
        try:
            await self.runner.create_schema()
            self._producer = make_producer(self.runner.kafka)
            await self._producer.start()
            listener = _ResumeFromCheckpoint(self.runner, self._written)
            consumer = make_consumer(
                self.runner.kafka,
                group_id=self.runner.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
            )
            consumer.subscribe(self.runner.topics, listener=listener)
            listener.consumer = self.consumer = consumer
            await consumer.start()
        except BaseException:
            for started in (self.consumer, self._producer):
                if started is not None:
                    with contextlib.suppress(Exception):
                        await started.stop()
            self.consumer = self._producer = None
            raise
        if not self._joined:
            _ENVELOPES.join(self.runner.topics)
            self._joined = True
        self._consuming = asyncio.create_task(self._consume(consumer))

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        while not self._finishing.is_set():
            try:
                batches = await consumer.getmany(
                    timeout_ms=self.poll_ms, max_records=self.max_records
                )
            except ConsumerStoppedError:
                return
            except KafkaError as exc:  # the client reconnects by itself; poll again shortly
                log.warning(
                    "projection poll failed",
                    projection=self.runner.projection.name,
                    error=repr(exc),
                )
                await self._pause_a_second()
                continue
            records = [r for tp_records in batches.values() for r in tp_records]
            if not records:
                await self._commit_when_idle(consumer)
                continue
            try:
                await self._gather_more(consumer, records)
                await self.apply_batch(consumer, records)
            except Exception as exc:  # never skip: fetched again after a pause
                log.exception(
                    "projection batch failed",
                    projection=self.runner.projection.name,
                    error=repr(exc),
                )
                _rewind(consumer, records)
                await self._pause_a_second()

    async def _gather_more(
        self, consumer: AIOKafkaConsumer, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        """Add what arrives until `batch_every_ms` after the last batch started (or the batch
        is full). Later polls only bring later offsets of each partition, so the order of
        each partition, hence of each stream, is kept."""
        due = self._batch_started + self.batch_every_s
        while len(records) < self.max_records and not self._finishing.is_set():
            wait_ms = int((due - time.monotonic()) * 1000)
            if wait_ms <= 0:
                break
            more = await consumer.getmany(
                timeout_ms=wait_ms, max_records=self.max_records - len(records)
            )
            records += [r for tp_records in more.values() for r in tp_records]
        self._batch_started = time.monotonic()

    async def stop(self) -> None:
        """After `finish`: the consumer leaves its group (the partitions move at once), and the
        dead-letter producer flushes."""
        await self.finish()
        if self._joined:
            _ENVELOPES.leave(self.runner.topics)
            self._joined = False
        if self.consumer is not None:
            with contextlib.suppress(Exception):
                await self.consumer.stop()
            self.consumer = None
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def _publish_dead(self, dead: list[DeadLetter]) -> None:
        await _publish_dead_letters(self._producer, self.runner.dead_letter_topic, dead)
        DEAD_LETTERS.labels(self.runner.service, self.runner.projection.name).inc(len(dead))

    async def apply_batch(self, consumer: Any, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        # Decoded while the batch before is still being written.
        prepared = None if self._finishing.is_set() else self.runner.prepare(records)
        before = self._writing
        if not await self._settled() and before is not None:
            # The batch before failed and went back to its offsets; this one follows it.
            _rewind(consumer, [*before.records, *records])
            return
        if prepared is None or self._finishing.is_set():
            # stopping: the batch is left to the next consumer
            _rewind(consumer, records)
            return
        self._writing = writing = _Writing(records)
        writing.task = asyncio.create_task(self._write(consumer, writing, prepared))

    async def _settled(self) -> bool:
        """Wait for the batch being written; False when it failed (it is then rewound)."""
        writing = self._writing
        if writing is None:
            return True
        try:
            return await asyncio.shield(writing.task)
        finally:
            if self._writing is writing and writing.task.done():
                self._writing = None

    async def _written(self) -> None:
        """Wait until the batch being written committed or failed."""
        writing = self._writing
        if writing is not None and not writing.task.done():
            await writing.written.wait()

    async def _write(self, consumer: Any, writing: _Writing, prepared: Prepared) -> bool:
        try:
            return await self._write_batch(consumer, writing, prepared)
        finally:  # even cancelled: a rebalance waiting for it goes on
            writing.written.set()

    async def _write_batch(self, consumer: Any, writing: _Writing, prepared: Prepared) -> bool:
        records = writing.records
        try:
            result = await self.runner.apply(
                records, publish_dead=self._publish_dead, prepared=prepared
            )
        except ProjectionPaused:
            if not self._paused_logged:
                log.info(
                    "projection paused; `fairctl resume` lets it go on",
                    projection=self.runner.projection.name,
                )
                self._paused_logged = True
            writing.written.set()
            _rewind(consumer, records)  # fetched again and checked again in a second
            await self._pause_a_second()
            return False
        except Exception as exc:
            log.warning(
                "projection batch will be retried",
                projection=self.runner.projection.name,
                # The lost connection, not the "underlying connection is closed" that
                # leaving its transaction raised afterwards.
                error=repr(outage_cause(exc)),
                dependency=unavailable_dependency(exc),
            )
            writing.written.set()
            _rewind(consumer, records)
            await self._pause_a_second()
            return False
        writing.written.set()
        self.applied += result.applied
        self.batches += 1
        self._paused_logged = False
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            self._uncommitted[tp] = max(self._uncommitted.get(tp, 0), r.offset + 1)
        if time.monotonic() - self._committed_at >= self.commit_every_s:
            # Beside the batches, not before the next one: a commit waits on the broker.
            self._committing = asyncio.create_task(self._commit(consumer))
        return True

    async def _commit_when_idle(self, consumer: Any) -> None:
        """Caught up (an empty poll): the group's offsets catch up too, once the batch under
        way is written."""
        if self._uncommitted or self._writing is not None:
            await self._settled()
            await self._commit(consumer)

    async def _commit(self, consumer: Any) -> None:
        offsets, self._uncommitted = self._uncommitted, {}
        self._committed_at = time.monotonic()
        if not offsets:
            return
        # In turn (the lock is first come, first served): an older commit never lands last.
        async with self._commit_lock:
            try:  # only the group's lag: PostgreSQL holds the truth
                await consumer.commit(offsets)
            except (KafkaError, AssertionError) as exc:
                log.debug("projection offsets not committed", error=repr(exc))

    async def _pause_a_second(self) -> None:
        """Before the batch comes again; cut short by a stop."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._finishing.wait(), 1.0)

    async def finish(self) -> None:
        """A clean stop (SIGTERM): the batch under way commits, no other starts, and Kafka
        gets the offsets PostgreSQL recorded for the partitions this member holds, so the
        group's lag is exact when the consumer then leaves the group (`stop`)."""
        if self._finishing.is_set() and self._consuming is None:
            return
        self._finishing.set()
        if self._consuming is not None:
            with contextlib.suppress(Exception):
                await self._consuming
            self._consuming = None
        await self._settled()
        if self._committing is not None:
            with contextlib.suppress(Exception):
                await self._committing
        consumer = self.consumer
        if consumer is None:
            return
        held = consumer.assignment()
        if not held:
            return
        rows = await self.runner.pool.fetch(
            f'SELECT topic, partition, next_offset FROM "{self.runner.projection.schema}"'
            ".consumed_offsets"
        )
        offsets = {TopicPartition(r["topic"], r["partition"]): r["next_offset"] for r in rows}
        held_offsets = {tp: offset for tp, offset in offsets.items() if tp in held}
        if held_offsets:
            async with self._commit_lock:  # after any commit under way
                await consumer.commit(held_offsets)
        log.info(
            "projection stopped after its batch",
            projection=self.runner.projection.name,
            committed={f"{tp.topic}/{tp.partition}": o for tp, o in held_offsets.items()},
        )
