"""Sales desks: each process that places orders is a desk, numbered among the desks alive,
so that each prefers its own shards of every quota (`Desk.owns`) and two API processes stop
racing each other for one shard (the loser, and every order on that shard for a second
after, queued on its lock: two processes sold half of what one did).

A desk claims the lowest slot no live desk holds in `sales_desks` and renews it every
`HEARTBEAT` seconds from the order path; a slot not renewed for `ALIVE` seconds is free
again. Its number is its slot's rank among the live slots, so the desks alive always share
out every shard. Only a preference: every desk still sells every shard (its own first), so
a desk that died strands nothing, and two desks that briefly think themselves the same
number only race as before.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import time
from dataclasses import dataclass

import asyncpg
import structlog

log = structlog.get_logger(__name__)

HEARTBEAT = 1.0
"""Seconds between a placing desk's renewals of its slot (one statement)."""

ALIVE = 30.0
"""Seconds a slot stays a desk's without renewal: a process that died frees it after this,
and a desk idle between two rushes keeps its number (the desks see each other at once)."""

SLOTS = 1024


@dataclass(frozen=True)
class Desk:
    """This desk's number among `of` desks alive."""

    number: int = 0
    of: int = 1

    def owns(self, shard: int) -> bool:
        return shard % self.of == self.number % self.of


ALONE = Desk()


CLAIM = """
WITH others AS (
    SELECT slot FROM sales_desks
    WHERE holder <> $1 AND seen > now() - make_interval(secs => $2)
), claimed AS (
    INSERT INTO sales_desks AS d (slot, holder, seen)
    SELECT s, $1, now() FROM generate_series(0, $4 - 1) AS s
    WHERE s NOT IN (SELECT slot FROM others)
    ORDER BY s IS DISTINCT FROM $3, s
    LIMIT 1
    ON CONFLICT (slot) DO UPDATE SET holder = excluded.holder, seen = excluded.seen
        WHERE d.holder = excluded.holder OR d.seen <= now() - make_interval(secs => $2)
    RETURNING slot
)
SELECT (SELECT slot FROM claimed) AS mine, ARRAY(SELECT slot FROM others) AS others
"""
"""Keep this desk's slot (or take the lowest free one) and list the other live slots, in one
statement. Two desks taking one free slot at once: the second's conflict clause finds it
fresh and another's, so it gets none and tries again."""


class SalesDesks:
    """This process's desk, kept current from the order path (`keep`)."""

    def __init__(self) -> None:
        self.desk = ALONE
        self.slot: int | None = None
        self._pid = 0
        self._holder = ""
        self._renewed = -HEARTBEAT
        self._tasks: set[asyncio.Task[Desk]] = set()

    @property
    def holder(self) -> str:
        """Who holds the slot: this process (a forked child is another desk)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._holder = f"{socket.gethostname()}/{self._pid}/{secrets.token_hex(4)}"
            self.slot, self.desk = None, ALONE
        return self._holder

    def keep(self, pool: asyncpg.Pool) -> None:
        """Renew the slot in the background, at most every `HEARTBEAT` seconds: an order
        never waits for it (the desk until then is the one last known)."""
        now = time.monotonic()
        if now - self._renewed < HEARTBEAT:
            return
        self._renewed = now
        task = asyncio.get_running_loop().create_task(self.renew(pool))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, pool: asyncpg.Pool) -> None:
        """A clean stop: the renewal under way ends, and the slot is given back, so the
        desks left share out this one's shards at once instead of after `ALIVE` seconds."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.slot is not None and self._pid == os.getpid():
            await pool.execute("DELETE FROM sales_desks WHERE holder = $1", self._holder)
        self.slot, self.desk, self._renewed = None, ALONE, -HEARTBEAT

    async def renew(self, pool: asyncpg.Pool) -> Desk:
        holder = self.holder
        try:
            async with pool.acquire() as connection:
                for _ in range(3):  # a slot taken by another desk at the same moment
                    row = await connection.fetchrow(CLAIM, holder, ALIVE, self.slot, SLOTS)
                    if row is not None and row["mine"] is not None:
                        break
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as failed:
            log.warning("sales desk not renewed", error=str(failed))
            return self.desk  # a hint: the last one known serves until the next renewal
        if row is None or row["mine"] is None:
            self.slot, self.desk = None, ALONE
            return self.desk
        self.slot = int(row["mine"])
        live = sorted({*row["others"], self.slot})
        self.desk = Desk(number=live.index(self.slot), of=len(live))
        return self.desk
