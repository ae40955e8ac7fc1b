"""Periodic jobs of a service: deadlines that must fire even across restarts.

A job is a function the runtime calls every `every` seconds. It finds its work in the
database (a read model of what is due), not in memory, so a restart loses nothing: the next
run simply finds what is still due. One replica runs a job at a time (an advisory lock), and
a job's commands are ordinary commands, so a late or repeated run changes nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from .service import Runtime

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    every: float
    run: Callable[[Runtime], Awaitable[int]]
    """Does the due work; returns how many items it handled (for logs)."""
    due: Callable[[Runtime], Awaitable[int]] | None = None
    """How many items are due and not yet handled (the `fairline_job_due` gauge)."""

    @property
    def lock_key(self) -> int:
        return int.from_bytes(hashlib.sha1(f"job:{self.name}".encode()).digest()[:4], "big")


async def run_job(job: Job, runtime: Runtime, stopping: asyncio.Event) -> None:
    assert runtime.pool is not None
    while not stopping.is_set():
        try:
            async with runtime.pool.acquire() as conn:
                if await conn.fetchval("SELECT pg_try_advisory_lock($1)", job.lock_key):
                    try:
                        handled = await job.run(runtime)
                        if handled:
                            log.info("job ran", job=job.name, handled=handled)
                    finally:
                        await conn.execute("SELECT pg_advisory_unlock($1)", job.lock_key)
        except Exception as exc:  # a failing run is retried on the next tick
            log.warning("job failed; retrying on the next tick", job=job.name, error=repr(exc))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stopping.wait(), job.every)
