"""PostgreSQL event store on asyncpg: append with expected versions, read streams, read all.

Recorder only: it persists and reads envelopes; deciding is the domain's job.
"""

from __future__ import annotations

import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg

from .context import CommandContext
from .envelope import Envelope
from .errors import ConcurrencyConflict
from .registry import DomainEvent, EventRegistry

S = TypeVar("S")

NOTIFY_CHANNEL = "fairline_events"

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


@dataclass(frozen=True)
class EncodedEvent:
    """A committed event in its wire form, with what the relay needs to route and trace it."""

    checkpoint: Checkpoint
    stream_id: str
    event_type: str
    schema_version: int
    event_id: uuid.UUID
    trace_context: dict[str, str]
    value: bytes

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        return [
            ("event_type", self.event_type.encode()),
            ("schema_version", str(self.schema_version).encode()),
            ("event_id", str(self.event_id).encode()),
            ("content-type", b"application/json"),
        ]


@dataclass(frozen=True)
class StreamAppend:
    stream_id: str
    events: Sequence[DomainEvent]
    expected_version: int


class EventStore:
    def __init__(
        self, pool: asyncpg.Pool, registry: EventRegistry, *, cached_states: int = 20_000
    ) -> None:
        self.pool = pool
        self.registry = registry
        # Folded states by (stream, evolve): a load reads only the events after the cached
        # version, so hot streams (an edition's catalogue, a price list) are not re-read and
        # re-decoded on every command. States are immutable, so sharing them is safe.
        self._states: OrderedDict[tuple[str, Callable[..., Any]], tuple[Any, int]] = OrderedDict()
        self._cached_states = cached_states

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
    ) -> list[Envelope]:
        """Append to several streams in one transaction: all of them, or none."""
        appends = [a for a in appends if a.events]
        if not appends:
            return []
        envelopes = [env for a in appends for env in self._envelopes(a, context)]
        if connection is not None:
            async with connection.transaction():
                return await self._write(connection, appends, envelopes)
        async with self.pool.acquire() as conn, conn.transaction():
            return await self._write(conn, appends, envelopes)

    def _envelopes(self, append: StreamAppend, context: CommandContext) -> list[Envelope]:
        now = datetime.now(UTC)
        result = []
        for offset, event in enumerate(append.events, start=1):
            event_type, schema_version, data = self.registry.encode(event)
            result.append(
                Envelope(
                    event_id=uuid.uuid4(),
                    event_type=event_type,
                    schema_version=schema_version,
                    stream_id=append.stream_id,
                    stream_version=append.expected_version + offset,
                    occurred_at=now,
                    actor=context.actor,
                    reason=context.reason,
                    command=context.command,
                    correlation_id=context.correlation_id,
                    causation_id=context.causation_id,
                    trace_context=context.trace_context,
                    data=data,
                )
            )
        return result

    async def _write(
        self, conn: asyncpg.Connection, appends: Sequence[StreamAppend], envelopes: list[Envelope]
    ) -> list[Envelope]:
        for a in appends:
            await self._claim_versions(conn, a)
        try:
            positions = await conn.fetch(
                f"""
                WITH appended AS (
                  INSERT INTO events ({_COLUMNS})
                  SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[],
                                       $6::timestamptz[], $7::text[], $8::text[], $9::text[],
                                       $10::uuid[], $11::uuid[], $12::jsonb[], $13::jsonb[])
                  RETURNING event_id, position
                )
                -- Wake the relay at commit; one notification per transaction, same round trip.
                SELECT event_id, position, pg_notify('{NOTIFY_CHANNEL}', '') FROM appended
                """,
                *zip(*(_row(e) for e in envelopes), strict=True),
            )
        except asyncpg.UniqueViolationError as exc:  # a writer that bypassed `streams`
            first = appends[0]
            raise ConcurrencyConflict(first.stream_id, first.expected_version) from exc
        position_of = {r["event_id"]: r["position"] for r in positions}
        return [e.model_copy(update={"position": position_of[e.event_id]}) for e in envelopes]

    @staticmethod
    async def _claim_versions(conn: asyncpg.Connection, a: StreamAppend) -> None:
        """Compare-and-set the stream's version; the row lock serialises writers per stream.

        Readers deliver events in transaction-id order. A transaction that got its id early
        (it wrote or locked something first) and then appended after a writer with a higher
        id would put this stream's versions out of order for them; it is refused as a
        concurrent change, and its retry, with a new id, goes through.
        """
        new_version = a.expected_version + len(a.events)
        if a.expected_version == 0:
            claimed = await conn.fetchval(
                "INSERT INTO streams (stream_id, version, last_tx_id)"
                " VALUES ($1, $2, pg_current_xact_id())"
                " ON CONFLICT (stream_id) DO NOTHING RETURNING version",
                a.stream_id,
                new_version,
            )
        else:
            claimed = await conn.fetchval(
                "UPDATE streams SET version = $3, last_tx_id = pg_current_xact_id()"
                " WHERE stream_id = $1 AND version = $2 AND last_tx_id <= pg_current_xact_id()"
                " RETURNING version",
                a.stream_id,
                a.expected_version,
                new_version,
            )
        if claimed is None:
            actual = await conn.fetchval(
                "SELECT version FROM streams WHERE stream_id = $1", a.stream_id
            )
            raise ConcurrencyConflict(a.stream_id, a.expected_version, actual or 0)

    async def stream_version(self, stream_id: str) -> int:
        version = await self.pool.fetchval(
            "SELECT version FROM streams WHERE stream_id = $1", stream_id
        )
        return int(version or 0)

    async def read_stream(
        self,
        stream_id: str,
        after_version: int = 0,
        connection: asyncpg.Connection | None = None,
    ) -> list[Envelope]:
        rows = await (connection or self.pool).fetch(
            f"SELECT position, {_COLUMNS} FROM events"
            " WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version",
            stream_id,
            after_version,
        )
        return [_envelope(r) for r in rows]

    async def load(
        self,
        stream_id: str,
        evolve: Callable[[S, DomainEvent], S],
        initial: S,
        connection: asyncpg.Connection | None = None,
    ) -> tuple[S, int]:
        """Fold a stream into its current state; returns the state and its version."""
        key = (stream_id, evolve)
        state, version = self._states.get(key, (initial, 0))
        for env in await self.read_stream(stream_id, version, connection=connection):
            state = evolve(state, env.event(self.registry))
            version = env.stream_version
        # Only committed states are cached: what a transaction read of its own writes may
        # still roll back.
        if version and (connection is None or not connection.is_in_transaction()):
            self._states[key] = (state, version)
            self._states.move_to_end(key)
            if len(self._states) > self._cached_states:
                self._states.popitem(last=False)
        return state, version

    async def read_all(self, after: Checkpoint, limit: int = 1000) -> list[StoredEvent]:
        """Committed events after `after`, in commit order, never skipping a late commit.

        Only transactions older than every transaction still running are read; anything
        that commits later has a larger transaction id, so it sorts after the checkpoint.
        """
        rows = await self.pool.fetch(
            f"""
            SELECT position, tx_id::text::bigint AS tx, {_COLUMNS} FROM events
            WHERE (tx_id, position) > ($1::text::xid8, $2)
              AND tx_id < pg_snapshot_xmin(pg_current_snapshot())
            ORDER BY tx_id, position
            LIMIT $3
            """,
            str(after.tx_id),
            after.position,
            limit,
        )
        return [StoredEvent(_envelope(r), Checkpoint(r["tx"], r["position"])) for r in rows]

    async def read_all_encoded(
        self, after: Checkpoint, limit: int = 1000, connection: asyncpg.Connection | None = None
    ) -> list[EncodedEvent]:
        """Like read_all, with each envelope already in its JSON encoding, built by PostgreSQL.

        The relay only forwards bytes, so it skips decoding and re-encoding every event.
        """
        rows = await (connection or self.pool).fetch(
            """
            SELECT tx_id::text::bigint AS tx, position, stream_id, event_type, schema_version,
                   event_id, NULLIF(trace_context, '{}'::jsonb)::text AS trace_context,
                   json_build_object(
                     'event_id', event_id, 'event_type', event_type,
                     'schema_version', schema_version, 'stream_id', stream_id,
                     'stream_version', stream_version, 'position', position,
                     'occurred_at', occurred_at, 'actor', actor, 'reason', reason,
                     'command', command, 'correlation_id', correlation_id,
                     'causation_id', causation_id, 'trace_context', trace_context, 'data', data
                   )::text AS value
            FROM events
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
            EncodedEvent(
                checkpoint=Checkpoint(r["tx"], r["position"]),
                stream_id=r["stream_id"],
                event_type=r["event_type"],
                schema_version=r["schema_version"],
                event_id=r["event_id"],
                trace_context=json.loads(r["trace_context"]) if r["trace_context"] else {},
                value=r["value"].encode(),
            )
            for r in rows
        ]

    async def load_checkpoint(self, reader: str) -> Checkpoint:
        row = await self.pool.fetchrow(
            "SELECT tx_id::text::bigint AS tx, position FROM reader_checkpoints WHERE reader = $1",
            reader,
        )
        return Checkpoint(row["tx"], row["position"]) if row else Checkpoint.start()

    async def save_checkpoint(self, reader: str, checkpoint: Checkpoint) -> None:
        await self.pool.execute(
            """
            INSERT INTO reader_checkpoints (reader, tx_id, position) VALUES ($1, $2::text::xid8, $3)
            ON CONFLICT (reader) DO UPDATE
              SET tx_id = excluded.tx_id, position = excluded.position, updated_at = now()
            """,
            reader,
            str(checkpoint.tx_id),
            checkpoint.position,
        )


def _row(e: Envelope) -> tuple[Any, ...]:
    return (
        e.event_id,
        e.stream_id,
        e.stream_version,
        e.event_type,
        e.schema_version,
        e.occurred_at,
        e.actor,
        e.reason,
        e.command,
        e.correlation_id,
        e.causation_id,
        json.dumps(e.trace_context),
        json.dumps(e.data),
    )


def _envelope(r: asyncpg.Record) -> Envelope:
    return Envelope(
        event_id=r["event_id"],
        event_type=r["event_type"],
        schema_version=r["schema_version"],
        stream_id=r["stream_id"],
        stream_version=r["stream_version"],
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
