"""Databases and migrations: each service owns one PostgreSQL database.

Migrations are plain SQL files applied once each, in name order, inside a transaction, under
an advisory lock so that two replicas starting together do not race.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog

from .outage import OutageWithoutTraceback

log = structlog.get_logger(__name__)
logging.getLogger("asyncpg.pool").addFilter(OutageWithoutTraceback())

CORE_MIGRATIONS = resources.files("fairline_events") / "sql"
_MIGRATION_LOCK = 0x6661_6972  # "fair"


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


def database_name(dsn: str) -> str:
    return urlsplit(dsn).path.lstrip("/") or "postgres"


async def ensure_database(dsn: str) -> None:
    """Create the database `dsn` names when it does not exist yet."""
    name = database_name(dsn)
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            try:
                await admin.execute(f'CREATE DATABASE "{name}"')
                log.info("database created", database=name)
            except asyncpg.DuplicateDatabaseError:
                pass
    finally:
        await admin.close()


async def drop_database(dsn: str) -> None:
    name = database_name(dsn)
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def drop_databases(dsn: str, prefix: str) -> None:
    """Drop every database on `dsn`'s server whose name starts with `prefix` (the scratch
    databases of one test or bench run, `fairline_database_prefix`)."""
    admin = await asyncpg.connect(with_database(dsn, "postgres"))
    try:
        names = await admin.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1)", prefix
        )
    finally:
        await admin.close()
    for row in names:
        await drop_database(with_database(dsn, row["datname"]))


async def _keep_session(_: asyncpg.Connection) -> None:
    """Nothing to reset when a connection returns to the pool.

    asyncpg's default reset costs a round trip per release (advisory unlock all, close,
    unlisten, reset all), on every command's path. Open transactions are still rolled back
    and listeners removed by asyncpg itself; this code keeps no other session state on pooled
    connections: settings are `SET LOCAL`, locks are transaction locks, and the two session
    locks (relay leader, job runner) are released explicitly.
    """


CONNECT_TIMEOUT_SECONDS = 1.0
STALL_TIMEOUT_SECONDS = 1.0


class BoundedPool(asyncpg.Pool):  # type: ignore[misc]
    """A pool whose `acquire` gives up once the database has made no progress for a while.

    asyncpg waits for a free connection for ever by default: with every connection stuck in
    a query to a server that hangs, a request would hang too instead of answering 503
    `unavailable` within a second. A fixed acquire timeout is no answer either: under a
    burst (a hundred bookings at once on twenty connections) requests rightly queue for
    longer than a second while the database works through them. So a request waits as long
    as connections keep coming back, and after `stall_timeout` without any it asks the
    server itself: one new connection, at most once per `stall_timeout`. A server that
    answers is only busy (or this process's event loop was, too busy to take connections
    back), so the request keeps waiting; one that does not answer is an outage, a 503.
    """

    __slots__ = ("_dsn", "_last_probe", "_last_release", "_probing", "_stall_timeout")

    def __init__(self, dsn: str, *args: Any, stall_timeout: float, **kwargs: Any) -> None:
        super().__init__(dsn, *args, **kwargs)
        self._dsn = dsn
        self._stall_timeout = stall_timeout
        self._last_release = time.monotonic()
        self._last_probe = (0.0, True)
        self._probing = asyncio.Lock()

    async def _server_answers(self) -> bool:
        async with self._probing:
            probed_at, answered = self._last_probe
            if time.monotonic() - probed_at < self._stall_timeout:
                return answered
            try:
                probe = await asyncpg.connect(self._dsn, timeout=self._stall_timeout)
                await probe.close(timeout=self._stall_timeout)
                answered = True
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                answered = False
            self._last_probe = (time.monotonic(), answered)
            return answered

    def _idle_connection(self) -> bool:
        """A connected holder waits in the queue (one without a connection would connect,
        which may time out on a busy server: that goes through the bounded path below)."""
        queue = self._queue
        return queue is not None and any(holder.is_connected() for holder in queue._queue)

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 (asyncpg's)
        if timeout is not None:  # the caller's own bound
            return await super()._acquire(timeout)
        if self._idle_connection():  # taken at once: no wait to bound, so no timer
            return await super()._acquire(None)
        while True:
            try:
                return await super()._acquire(self._stall_timeout)
            except TimeoutError:
                stalled = time.monotonic() - self._last_release >= self._stall_timeout
                if stalled and not await self._server_answers():
                    raise

    async def release(self, connection: Any, *, timeout: float | None = None) -> None:  # noqa: ASYNC109
        # Only a connection that still works says the database is making progress; one
        # that broke comes back too, and often, while the server is down.
        con = getattr(connection, "_con", None)
        if con is not None and not con.is_closed():
            self._last_release = time.monotonic()
        await super().release(connection, timeout=timeout)


async def create_pool(
    dsn: str,
    *,
    min_size: int = 2,
    max_size: int = 20,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    stall_timeout: float = STALL_TIMEOUT_SECONDS,
) -> asyncpg.Pool:
    """A pool that fails fast when the database is down: connecting (asyncpg's default is 60 s)
    and waiting on a database that returns no connection both give up after a second."""
    pool = BoundedPool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_queries=50_000,
        # Connections opened at startup are kept, not closed after five idle minutes only
        # to be opened again by the next burst; above `min_size`, idle ones go.
        max_inactive_connection_lifetime=0 if min_size >= max_size else 300.0,
        setup=None,
        init=None,
        reset=_keep_session,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        timeout=connect_timeout,
        stall_timeout=stall_timeout,
    )
    await pool
    return pool


def _sql_files(directories: Iterable[Path | resources.abc.Traversable]) -> list[tuple[str, str]]:
    files: list[tuple[str, str]] = []
    for directory in directories:
        for entry in sorted(directory.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".sql"):
                files.append((f"{directory.name}/{entry.name}", entry.read_text(encoding="utf-8")))
    return files


async def migrate(
    pool: asyncpg.Pool, *directories: Path | resources.abc.Traversable, core: bool = True
) -> list[str]:
    """Apply the core event-store schema and then each directory's SQL files."""
    dirs = [CORE_MIGRATIONS, *directories] if core else list(directories)
    applied: list[str] = []
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
            for name, sql in _sql_files(dirs):
                if name in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (name) VALUES ($1)", name)
                applied.append(name)
                log.info("migration applied", migration=name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK)
    return applied
