"""Re-driving dead letters: after a fix, apply what a projection failed on, exactly once.

A projection dead-letters two kinds of events. Refused ones (a version gap, an applied
version under another event id, the wrong origin, an envelope that does not decode) are
refused for trust, and stay refused: a fix of the code does not make a forged event true.
Failed ones had their version taken but their handler, or the database, failed on them; the
runner keeps each in its schema's `dead_letters` table. Re-driving one runs its handler in a
transaction that also marks it redriven (who, when), under the projection's shared lock,
so a second redrive, or two at once, change nothing more. The DLQ topic keeps every record;
`fairctl dead-letters list` shows, beside each, whether it was redriven.

A re-driven event applies after the later events of its stream did: a handler whose effect
depends on order is better served by `fairctl rebuild`, which replays everything in order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import asyncpg
from aiokafka import ConsumerRecord

from .envelope import Envelope
from .errors import EventDecodingError
from .projection import ProjectionRunner, ReadModel

Outcome = Literal["applied", "already", "refused", "failing"]


@dataclass(frozen=True)
class Redrive:
    offset: int
    """The dead letter's offset on the DLQ topic."""
    event: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class DeadLetterState:
    redriven_at: datetime | None
    redriven_by: str | None


def _describe(env: Envelope) -> str:
    return f"{env.event_type} {env.stream_id} v{env.stream_version}"


async def states(conn: asyncpg.Connection, runner: ProjectionRunner) -> dict[str, DeadLetterState]:
    """Each failed event the live read model keeps, by event id: redriven or waiting."""
    rows = await conn.fetch(
        f'SELECT event_id, redriven_at, redriven_by FROM "{runner.projection.schema}".dead_letters'
    )
    return {str(r["event_id"]): DeadLetterState(r["redriven_at"], r["redriven_by"]) for r in rows}


async def redrive(
    runner: ProjectionRunner, record: ConsumerRecord[bytes, bytes], actor: str
) -> Redrive:
    """Apply one dead letter (a record of the DLQ topic) to the live read model, once."""
    headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
    try:
        env = Envelope.from_json(record.value or b"")
    except EventDecodingError as exc:
        return Redrive(record.offset, "?", "refused", f"not an event envelope: {exc}"[:200])
    projection = runner.projection
    async with runner.pool.acquire() as raw, raw.transaction():
        await raw.execute("SELECT pg_advisory_xact_lock_shared($1)", projection.lock_key)
        await raw.execute(f'SET LOCAL search_path TO "{projection.schema}", public')
        row = await raw.fetchrow(
            "SELECT redriven_at, redriven_by FROM dead_letters WHERE event_id = $1 FOR UPDATE",
            env.event_id,
        )
        if row is None:
            why = headers.get("dlq.error_type", "?")
            return Redrive(
                record.offset,
                _describe(env),
                "refused",
                f"{why}: refused, not failed (or applied since by a rebuild); never redriven",
            )
        if row["redriven_at"] is not None:
            return Redrive(
                record.offset,
                _describe(env),
                "already",
                f"redriven {row['redriven_at']:%Y-%m-%d %H:%M:%S}Z by {row['redriven_by']}",
            )
        handler = projection.handlers.get(env.event_type)
        try:
            async with raw.transaction():  # a savepoint: a handler still failing leaves nothing
                if handler is not None:
                    read_model = ReadModel(raw)
                    await read_model.run(handler, env.event(projection.registry), env)
                    await read_model.flush()
        except (asyncpg.PostgresConnectionError, OSError):
            raise  # the database went away: nothing was applied, try again
        except Exception as exc:
            return Redrive(record.offset, _describe(env), "failing", repr(exc)[:300])
        await raw.execute(
            "UPDATE dead_letters SET redriven_at = now(), redriven_by = $2 WHERE event_id = $1",
            env.event_id,
            actor,
        )
        return Redrive(record.offset, _describe(env), "applied")
