"""What a projection refuses, and that nothing it refuses halts it: rows the database itself
refuses, in the pipelined mode, in the careful retry and in a rebuild; gaps and conflicting
versions; events claiming another service. Each refused event reaches the dead-letter topic
with its reason, and the events after it still apply."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka.structs import ConsumerRecord
from fairline_events.envelope import Envelope
from fairline_events.kafka import KafkaAccess, ensure_topics, producer
from fairline_events.projection import DeadLetter, Projection, ProjectionRunner, Sql, sql
from fairline_stack.resolve import Infra
from support.kafka_read import read_topic
from support.sample_events import BoothHeld, BoothReleased, registry
from support.sample_projection import booth_board

pytestmark = pytest.mark.infra

stands = Projection(
    name="stands",
    topics=["booths.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS stands (
        booth text PRIMARY KEY,
        area  bigint NOT NULL,
        seats integer NOT NULL
    );
    """,
)


@stands.on(BoothHeld)
async def stand_held(e: BoothHeld, env: Envelope, tx: Any) -> Sql:
    # In this read model the exhibitor field carries the stand's area: the event is valid,
    # but PostgreSQL refuses an area beyond `integer` (seats) or asyncpg one beyond bigint.
    return sql(
        "INSERT INTO stands VALUES ($1, $2::bigint, $2::bigint::integer)", e.booth, int(e.exhibitor)
    )


BEYOND_INTEGER = "2147483648"  # the server refuses: integer out of range
BEYOND_BIGINT = "9223372036854775808"  # asyncpg cannot even encode it
HOTELS = "hotels"


def envelope(
    stream: str,
    version: int,
    event: BoothHeld | BoothReleased,
    *,
    event_id: uuid.UUID | None = None,
    service: str | None = None,
) -> Envelope:
    event_type, schema_version, data = registry.encode(event)
    return Envelope(
        event_id=event_id or uuid.uuid4(),
        event_type=event_type,
        schema_version=schema_version,
        stream_id=stream,
        stream_version=version,
        service=service,
        occurred_at=datetime.now(UTC),
        actor="user:x",
        correlation_id=uuid.uuid4(),
        data=data,
    )


def record(
    env: Envelope, offset: int, topic: str = "t.booths.events"
) -> ConsumerRecord[bytes, bytes]:
    value = env.to_json()
    return ConsumerRecord(
        topic, 0, offset, 0, 0, env.stream_id.encode(), value, None, 0, len(value), ()
    )


def stand(booth: str, area: str, offset: int) -> ConsumerRecord[bytes, bytes]:
    held = BoothHeld(booth=booth, exhibitor=area, hall="E1")
    return record(envelope(f"booth-{booth}", 1, held), offset)


class DeadLetters:
    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []

    async def __call__(self, dead: list[DeadLetter]) -> None:
        self.letters.extend(dead)

    def kinds(self) -> list[tuple[str, str]]:
        return [
            (Envelope.from_json(d.record.value or b"").stream_id, type(d.error).__name__)
            for d in self.letters
        ]


async def rows(pool: asyncpg.Pool, query: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in await pool.fetch(query)]


async def test_rows_the_database_refuses_are_dead_lettered_in_every_mode_and_the_rest_apply(
    pool: asyncpg.Pool,
) -> None:
    runner = ProjectionRunner(stands, pool, KafkaAccess.plain("unused:9092"), "t.")
    await runner.create_schema()
    dead = DeadLetters()
    # Pipelined: one run of the same statement, the server's refusal in the middle.
    first = [stand("A", "12", 0), stand("B", BEYOND_INTEGER, 1), stand("C", "30", 2)]
    result = await runner.apply(first, publish_dead=dead)
    assert (result.applied, len(result.dead)) == (2, 1)
    # asyncpg's refusal, last in its batch: a failed row must not stay queued for the flush
    # of the events after it (the careful retry flushed it again and again).
    second = [stand("D", BEYOND_BIGINT, 3), stand("E", "40", 4), stand("F", BEYOND_BIGINT, 5)]
    result = await runner.apply(second, publish_dead=dead)
    assert (result.applied, len(result.dead)) == (1, 2)
    # Alone in its batch, then redelivered: dead-lettered once, then a consumed duplicate.
    result = await runner.apply([stand("G", BEYOND_BIGINT, 6)], publish_dead=dead)
    assert (result.applied, len(result.dead)) == (0, 1)
    again = await runner.apply([*first, *second], publish_dead=dead)
    assert (again.applied, again.duplicates, again.dead) == (0, 6, [])
    assert await rows(pool, "SELECT * FROM proj_stands.stands ORDER BY booth") == [
        ("A", 12, 12),
        ("C", 30, 30),
        ("E", 40, 40),
    ]
    assert dead.kinds() == [
        ("booth-B", "NumericValueOutOfRangeError"),
        ("booth-D", "DataError"),
        ("booth-F", "DataError"),
        ("booth-G", "DataError"),
    ]


async def test_a_rebuild_sets_the_same_poison_aside_on_the_real_topic(
    pool: asyncpg.Pool, infra: Infra, unique: str
) -> None:
    prefix = f"{unique}."
    runner = ProjectionRunner(stands, pool, infra.kafka, prefix)
    topic = f"{prefix}booths.events"
    await ensure_topics(infra.kafka, [topic, runner.dead_letter_topic])
    send = producer(infra.kafka)
    await send.start()
    try:
        for booth, area in [("A", "12"), ("B", BEYOND_INTEGER), ("C", BEYOND_BIGINT), ("D", "7")]:
            held = envelope(f"booth-{booth}", 1, BoothHeld(booth=booth, exhibitor=area, hall="E1"))
            await send.send_and_wait(topic, held.to_json(), key=b"same-partition")
    finally:
        await send.stop()
    assert await runner.rebuild() == 4
    assert await rows(pool, "SELECT booth FROM proj_stands.stands ORDER BY booth") == [
        ("A",),
        ("D",),
    ]
    dead = await read_topic(infra.kafka, runner.dead_letter_topic)
    reasons = sorted(dict(r.headers)["dlq.error_type"] for r in dead)
    assert reasons == [b"DataError", b"NumericValueOutOfRangeError"]
    assert all(dict(r.headers)["dlq.reason"] for r in dead)


async def test_a_gap_a_conflicting_version_or_another_services_event_is_set_aside(
    pool: asyncpg.Pool,
) -> None:
    runner = ProjectionRunner(booth_board, pool, KafkaAccess.plain("unused:9092"), "t.")
    await runner.create_schema()
    dead = DeadLetters()
    held = envelope("booth-A1", 1, BoothHeld(booth="A1", exhibitor="ex", hall="E1"))
    released = envelope("booth-A1", 2, BoothReleased(booth="A1"))
    batch = [
        record(held, 0),
        # version 3 before 2: a gap; a forged high version must not mute the stream
        record(envelope("booth-A1", 3, BoothReleased(booth="A1")), 1),
        # version 1 again under another id: no re-send, a conflicting event
        record(envelope("booth-A1", 1, BoothHeld(booth="A1", exhibitor="x", hall="E9")), 2),
        record(held, 3),  # a relay re-send: same id, same version, a no-op
        # another service's event on booths' topic
        record(
            envelope(
                "booth-B1", 1, BoothHeld(booth="B1", exhibitor="x", hall="E1"), service="hotels"
            ),
            4,
        ),
    ]
    result = await runner.apply(batch, publish_dead=dead)
    assert (result.applied, result.duplicates) == (1, 1)
    assert dead.kinds() == [
        ("booth-B1", "WrongOrigin"),
        ("booth-A1", "VersionGap"),
        ("booth-A1", "ConflictingEvent"),
    ]
    # The real version 2 still applies, and a rebuild-style replay of it is a no-op.
    result = await runner.apply([record(released, 5), record(released, 6)], publish_dead=dead)
    assert (result.applied, result.duplicates) == (1, 1)
    board = await rows(
        pool, "SELECT booth, exhibitor, hall, status, holds FROM proj_booth_board.booths"
    )
    assert board == [("A1", None, "E1", "free", 1)], "held once (by ex, in E1), then released"
    assert len(dead.letters) == 3
