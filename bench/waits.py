"""What a service's PostgreSQL backends wait on during a run, from pg_stat_activity.

Every 20 ms the bench looks at the service database's active backends and counts each one's
wait event (`-` when it runs on a CPU). The figure is the average number of backends found
in each state: 0.8 `Lock: object` means that at any moment almost one command queued on a
lock that is not a row's or a table's. This is how appends were seen to commit one after
another behind PostgreSQL's NOTIFY lock: `Lock: object` 1.1 to 7.2 in the slow seconds of a
run at 500 holds/s, where a bare UPDATE's run shows only `IO: WALSync` and `LWLock: WALWrite`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

from .statements import STATEMENT_MARK

EVERY_S = 0.02

_ACTIVE = f"""{STATEMENT_MARK}
SELECT coalesce(wait_event_type || ': ' || wait_event, '-') AS waiting, count(*) AS backends
FROM pg_stat_activity
WHERE datname = $1 AND state = 'active' AND pid <> pg_backend_pid()
GROUP BY 1
"""


class Waits:
    def __init__(self) -> None:
        self.samples = 0
        self.backends: Counter[str] = Counter()

    def summary(self) -> dict[str, Any]:
        """Backends in each state on average, the largest first (those of 0.01 and more)."""
        if not self.samples:
            return {}
        average = {w: round(n / self.samples, 2) for w, n in self.backends.most_common()}
        return {w: n for w, n in average.items() if n >= 0.01}


@contextlib.asynccontextmanager
async def sampled(server_url: str, database: str) -> AsyncIterator[Waits]:
    """Sample `database`'s backends until the block ends; a server that refuses says so in
    the figures (empty) and the run goes on."""
    waits = Waits()
    try:
        conn = await asyncpg.connect(server_url)
    except (OSError, asyncpg.PostgresError):
        yield waits
        return
    stop = asyncio.Event()

    async def sample() -> None:
        while not stop.is_set():
            for row in await conn.fetch(_ACTIVE, database):
                waits.backends[row["waiting"]] += row["backends"]
            waits.samples += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), EVERY_S)

    sampler = asyncio.create_task(sample())
    try:
        yield waits
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await sampler
        await conn.close()
