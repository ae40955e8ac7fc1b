"""The events and read model the core benchmarks push through: booth holds on a floor plan."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, Sql, sql
from fairline_events.registry import DomainEvent, EventRegistry

registry = EventRegistry()


@registry.event("bench.BoothHeld")
class BoothHeld(DomainEvent):
    booth: str
    exhibitor: str
    hall: str
    price_fen: int


floor = Projection(
    name="bench_floor",
    topics=["bench.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS floor (
        booth text PRIMARY KEY, exhibitor text NOT NULL, hall text NOT NULL,
        price_fen bigint NOT NULL, holds integer NOT NULL
    );
    """,
)


@floor.on(BoothHeld)
async def held(e: BoothHeld, env: Envelope, tx: asyncpg.Connection) -> Sql:
    return sql(
        """INSERT INTO floor VALUES ($1, $2, $3, $4, 1) ON CONFLICT (booth) DO UPDATE
           SET exhibitor = $2, price_fen = $4, holds = floor.holds + 1""",
        e.booth,
        e.exhibitor,
        e.hall,
        e.price_fen,
    )


def held_event(i: int) -> BoothHeld:
    return BoothHeld(booth=f"E1-{i:06d}", exhibitor=f"ex-{i % 997}", hall="E1", price_fen=900_000)


def envelope_bytes(i: int, version: int = 1) -> tuple[bytes, bytes]:
    """A stored-shape envelope as the relay would publish it (key, value)."""
    event = held_event(i)
    stream = f"booth-{event.booth}"
    env = Envelope(
        event_id=uuid.uuid4(),
        event_type=BoothHeld.event_type,
        schema_version=1,
        stream_id=stream,
        stream_version=version,
        position=i + 1,
        occurred_at=datetime.now(UTC),
        actor="user:bench",
        correlation_id=uuid.uuid4(),
        data=event.model_dump(mode="json"),
    )
    return stream.encode(), env.to_json()
