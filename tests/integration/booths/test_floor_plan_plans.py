"""The floor plan's update of one booth finds it by key however the table grew since its plan
was cached. A projection's connection keeps one plan per statement; one made while the
booths table was empty (a fresh edition's first holds, before autovacuum's first ANALYZE)
walked every booth of the edition in hall order on each hold after the import: 35 pages a
hold instead of a handful, the worker's costliest statement at 500 holds/s."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import pytest
from booths.projections import floor_plan

pytestmark = pytest.mark.infra

HELD = """UPDATE booths SET status = 'held', exhibitor_id = $3, hold_expires_at = $4,
             updated_at = $4 WHERE edition_code = $1 AND booth_code = $2"""

_IMPORT = """INSERT INTO booths (edition_code, booth_code, venue_code, hall_code, zone_code,
               booth_type, area_m2, open_sides, updated_at)
             SELECT 'E1', 'B-' || lpad(g::text, 5, '0'), 'V1', 'H' || (g % 8), 'Z1',
                    'standard', 9, 'one', now()
             FROM generate_series(1, 5000) g"""


async def test_a_hold_updates_its_booth_by_key_after_an_import_grew_the_floor_plan(
    pool: asyncpg.Pool,
) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.execute(f'CREATE SCHEMA "{floor_plan.schema}"')
        await conn.execute(f'SET search_path TO "{floor_plan.schema}"')
        await conn.execute(floor_plan.tables_sql)
        await conn.execute(floor_plan.tables_sql)  # every start runs it again
        # The plan a projection's connection caches while the table is still empty.
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        await conn.execute(f"PREPARE held(text, text, text, timestamptz) AS {HELD}")
        for n in range(6):
            await conn.execute(f"EXECUTE held('E1', 'B-{n:05d}', 'EX-1', '{now.isoformat()}')")
        await conn.execute(_IMPORT)
        plan = json.loads(
            await conn.fetchval(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
                f" EXECUTE held('E1', 'B-04242', 'EX-1', '{now.isoformat()}')"
            )
        )
        await conn.execute("RESET ALL")
    scan = plan[0]["Plan"]["Plans"][0]
    assert scan["Index Name"] == "booths_pkey"
    # by key, a few index pages; a walk of the edition's booths reads dozens
    assert int(scan["Shared Hit Blocks"]) + int(scan["Shared Read Blocks"]) < 8
