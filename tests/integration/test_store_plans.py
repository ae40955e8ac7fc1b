"""The store's command functions read streams by key however the tables grew since their
plans were cached. PL/pgSQL caches a plan per connection; one made while `streams` held a
few rows (a new edition's first commands) scanned the whole table on every command after
an import of tens of thousands of booths, until autovacuum's ANALYZE came: 8 ms a hold
instead of 0.02 ms, enough to saturate an API at 500 holds/s. The plain read
(`fairline_load`, sql/008) keeps one generic plan per connection, so it must be the key
lookup from the first call on."""

from __future__ import annotations

import json

import asyncpg
import pytest
from fairline_events.db import migrate

pytestmark = pytest.mark.infra

CHECK = "SELECT public.fairline_lock_and_check(ARRAY[7]::bigint[], ARRAY['booth-1'], ARRAY[1])"
LOAD = (
    "SELECT count(*)"
    " FROM public.fairline_lock_and_load(ARRAY[7]::bigint[], ARRAY['booth-1'], ARRAY[0])"
)


PLAIN_LOAD = "SELECT count(*) FROM public.fairline_load(ARRAY['booth-1'], ARRAY[0])"

_EVENT = (
    "INSERT INTO public.events (event_id, stream_id, stream_version, event_type,"
    " schema_version, occurred_at, actor, correlation_id, data)"
    " VALUES (gen_random_uuid(), $1, $2, 'BoothAdded', 1, now(), 'user:test',"
    " gen_random_uuid(), $3::jsonb)"
)


async def _blocks_read(conn: asyncpg.Connection, query: str) -> int:
    plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {query}"))
    top = plan[0]["Plan"]
    return int(top["Shared Hit Blocks"]) + int(top["Shared Read Blocks"])


async def test_a_commands_locks_and_checks_read_by_key_after_an_import_grew_the_store(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool)
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO public.streams (stream_id, version) VALUES ('booth-1', 1);"
            "INSERT INTO public.events (event_id, stream_id, stream_version, event_type,"
            " schema_version, occurred_at, actor, correlation_id, data)"
            " VALUES (gen_random_uuid(), 'booth-1', 1, 'BoothAdded', 1, now(), 'user:test',"
            " gen_random_uuid(), '{}')"
        )
        for _ in range(10):  # the edition's first commands: plans cached on a small store
            assert await conn.fetchval(CHECK) is True
            assert await conn.fetchval(LOAD) == 1
            assert await conn.fetchval(PLAIN_LOAD) == 1
        await conn.execute(  # an import: 50,000 booths, each with its first event
            "INSERT INTO public.streams (stream_id, version)"
            " SELECT 'booth-x' || g, 1 FROM generate_series(1, 50000) g;"
            "INSERT INTO public.events (event_id, stream_id, stream_version, event_type,"
            " schema_version, occurred_at, actor, correlation_id, data)"
            " SELECT gen_random_uuid(), 'booth-x' || g, 1, 'BoothAdded', 1, now(), 'user:test',"
            " gen_random_uuid(), '{}' FROM generate_series(1, 50000) g"
        )
        # by key, a handful of index pages; a scan of either table reads hundreds
        assert await _blocks_read(conn, CHECK) < 40
        assert await _blocks_read(conn, LOAD) < 40
        assert await _blocks_read(conn, PLAIN_LOAD) < 40


async def test_the_plain_read_returns_each_streams_newer_events_in_stream_order(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool)
    async with pool.acquire() as conn:
        # two streams written in turns, so neither's events lie together in the table
        for version in range(1, 5):
            for stream in ("booth-b", "booth-a"):
                await conn.execute(_EVENT, stream, version, json.dumps({"n": version}))
        rows = await conn.fetch(
            "SELECT stream_id, stream_version, data FROM public.fairline_load($1, $2)",
            ["booth-b", "booth-a", "booth-none"],
            [2, 0, 0],
        )
    assert [(r["stream_id"], r["stream_version"]) for r in rows] == [
        ("booth-a", 1),
        ("booth-a", 2),
        ("booth-a", 3),
        ("booth-a", 4),
        ("booth-b", 3),
        ("booth-b", 4),
    ]
    assert json.loads(rows[-1]["data"]) == {"n": 4}
