"""Pausing a projection (`fairctl pause` / `resume`), durably, in the service's database.

A pause is a row of `public.projection_pauses` (who, when, why; and who resumed it, when),
outside the projection's schema so that it outlives a rebuild's swap, and kept after the
resume as the record of it. The live projection checks it in the statement that takes its
shared lock at the start of each batch (`PAUSED_SQL`): a paused batch is rolled back, left
unconsumed, and fetched again a second later, so the lag grows while it is paused and the
read model catches up by itself after the resume. `pause` then takes the projection's lock
exclusively once, so when it returns the batches under way have committed and no other
will apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

PAUSES_SQL = """
CREATE TABLE IF NOT EXISTS public.projection_pauses (
    projection text NOT NULL,
    paused_at  timestamptz NOT NULL DEFAULT now(),
    paused_by  text NOT NULL,
    reason     text,
    resumed_at timestamptz,
    resumed_by text
);
CREATE UNIQUE INDEX IF NOT EXISTS projection_paused_once
    ON public.projection_pauses (projection) WHERE resumed_at IS NULL;
"""

SCHEMAS_LOCK = 0x7363_6865  # "sche": processes starting together create tables in turn

PAUSED_SQL = """
SELECT EXISTS (SELECT FROM public.projection_pauses WHERE projection = $2 AND resumed_at IS NULL),
       set_config('search_path', $3, true)
FROM pg_advisory_xact_lock_shared($1)
"""
"""The live batch's first statement: its shared lock, whether the projection is paused, and
(SET LOCAL) the search path of its schema, in one round trip."""


@dataclass(frozen=True)
class Pause:
    projection: str
    paused_at: datetime
    paused_by: str
    reason: str | None
    resumed_at: datetime | None = None
    resumed_by: str | None = None


def _pause(row: asyncpg.Record) -> Pause:
    return Pause(
        row["projection"],
        row["paused_at"],
        row["paused_by"],
        row["reason"],
        row["resumed_at"],
        row["resumed_by"],
    )


async def ensure_table(conn: asyncpg.Connection) -> None:
    """The table, made if the service never started (as projections make it)."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMAS_LOCK)
        await conn.execute(PAUSES_SQL)


async def current(conn: asyncpg.Connection) -> dict[str, Pause]:
    """The projections paused now, by name (none where no pause was ever asked)."""
    if await conn.fetchval("SELECT to_regclass('public.projection_pauses')") is None:
        return {}
    rows = await conn.fetch("SELECT * FROM public.projection_pauses WHERE resumed_at IS NULL")
    return {r["projection"]: _pause(r) for r in rows}


async def pause(
    conn: asyncpg.Connection,
    projection: str,
    lock_key: int,
    by: str,
    reason: str,
    *,
    wait_s: float = 60.0,
) -> tuple[Pause, bool]:
    """Pause `projection`; returns the pause and whether this call made it (False: it was
    paused already). Returns once the batches under way have committed."""
    await ensure_table(conn)
    row = await conn.fetchrow(
        """INSERT INTO public.projection_pauses (projection, paused_by, reason)
           VALUES ($1, $2, $3)
           ON CONFLICT (projection) WHERE resumed_at IS NULL DO NOTHING
           RETURNING *""",
        projection,
        by,
        reason,
    )
    made = row is not None
    if row is None:
        row = await conn.fetchrow(
            "SELECT * FROM public.projection_pauses WHERE projection = $1 AND resumed_at IS NULL",
            projection,
        )
        assert row is not None
    async with conn.transaction():
        await conn.execute(f"SET LOCAL lock_timeout = '{int(wait_s * 1000)}ms'")
        await conn.execute("SELECT pg_advisory_xact_lock($1)", lock_key)
    return _pause(row), made


async def resume(conn: asyncpg.Connection, projection: str, by: str) -> Pause | None:
    """End the pause of `projection`; None when it was not paused."""
    await ensure_table(conn)
    row = await conn.fetchrow(
        """UPDATE public.projection_pauses SET resumed_at = now(), resumed_by = $2
           WHERE projection = $1 AND resumed_at IS NULL
           RETURNING *""",
        projection,
        by,
    )
    return _pause(row) if row is not None else None
