"""A command's read of its streams: PostgreSQL's CPU per call, the store's statement against
`fairline_load` (sql/008), on a private server with 100,000 events in 10,000 streams.

`.venv/bin/python -m bench.pg_read_cost [rounds]` starts a private PostgreSQL (own data dir
and port), migrates the event store, then for `rounds` (default 3) rounds reads three
random streams' newer events PG_READ_CALLS times (default 4,000) with each, in turns, on a
warm connection of its own, and prints the server backend's CPU microseconds per call from
/proc (planning, execution, protocol: all of it) and the load average. Not part of
`make bench`.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

import asyncpg
from fairline_events.db import migrate
from fairline_events.store import _LOAD
from fairline_stack.postgres import PostgresServer

from . import cpu
from .common import free_port, say

READS = {
    "statement": _LOAD,
    "fairline_load": "SELECT stream_id, stream_version, event_type, schema_version, data"
    " FROM public.fairline_load($1::text[], $2::int[])",
}
CALLS = int(os.environ.get("PG_READ_CALLS", "4000"))


async def _per_call(url: str, sql: str) -> float:
    """Server CPU microseconds per read, after a warm-up that settles the plan cache."""
    conn = await asyncpg.connect(url)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        read = await conn.prepare(sql)

        def wanted() -> tuple[list[str], list[int]]:
            return [f"s{random.randrange(10_000)}" for _ in range(3)], [8, 9, 8]

        for _ in range(200):
            await read.fetch(*wanted())
        start = cpu.seconds(backend)
        for _ in range(CALLS):
            await read.fetch(*wanted())
        return (cpu.seconds(backend) - start) * 1e6 / CALLS
    finally:
        await conn.close()


async def main(rounds: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="pg-read-cost-"))
    server = PostgresServer(data, free_port(), say=say)
    try:
        await asyncio.to_thread(server.start)
        await asyncio.to_thread(server.wait_ready)
        pool = await asyncpg.create_pool(server.dsn, min_size=1, max_size=1)
        await migrate(pool)
        await pool.execute(
            "INSERT INTO public.events (event_id, stream_id, stream_version, event_type,"
            " schema_version, occurred_at, actor, correlation_id, data)"
            " SELECT gen_random_uuid(), 's' || (g / 10), g % 10 + 1, 'BoothAdded', 1, now(),"
            " 'user:bench', gen_random_uuid(), '{}' FROM generate_series(0, 99999) g;"
            "ANALYZE public.events"
        )
        await pool.close()
        for n in range(1, rounds + 1):
            figures = {
                name: round(await _per_call(server.dsn, sql), 1) for name, sql in READS.items()
            }
            line = {"round": n, "server_us_per_read": figures, "load": os.getloadavg()}
            print(json.dumps(line), flush=True)
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3))
