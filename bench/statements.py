"""What a request costs PostgreSQL, statement by statement, from pg_stat_statements.

Two snapshots of the server's statistics, filtered to the service's database, around a run:
their difference over the requests answered is each statement's calls and execution time
per request. The statistics are never reset (others share the server); a statement first
seen during the run counts from zero. The local stack preloads the library
(deploy/local/fairline_stack/postgres.py); on a server without it the figures say why they
are missing, and the run goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg

STATEMENT_MARK = "/* bench */"
"""Leads the bench's own probes on a service's database, so they are left out."""

_SNAPSHOT = """
SELECT s.queryid, {toplevel} AS toplevel, sum(s.calls)::bigint AS calls,
       sum(s.total_exec_time) AS ms, min(s.query) AS query
FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
WHERE d.datname = $1
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Statement:
    query: str
    toplevel: bool
    """False for a statement run inside a function or trigger: its time is already in the
    calling statement's."""
    calls: int
    ms: float


@dataclass(frozen=True)
class Snapshot:
    statements: dict[tuple[int, bool], Statement]
    evictions: int | None
    """pg_stat_statements_info.dealloc: entries dropped to make room, server-wide."""


async def prepare(server_url: str) -> str | None:
    """Create the extension if it is missing; None when snapshots can be taken, else why
    not (a note for the figures, never a failure)."""
    conn = await asyncpg.connect(server_url)
    try:
        loaded = await conn.fetchval("SELECT current_setting('shared_preload_libraries')")
        if "pg_stat_statements" not in (loaded or ""):
            return (
                "no statement figures: this PostgreSQL does not preload pg_stat_statements"
                " (shared_preload_libraries); the local stack does"
            )
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        except asyncpg.InsufficientPrivilegeError:
            return (
                "no statement figures: the bench's role may not create the pg_stat_statements"
                " extension (a superuser must, once, in the database the bench connects to)"
            )
        except asyncpg.PostgresError as exc:
            return f"no statement figures: CREATE EXTENSION pg_stat_statements failed: {exc}"
        return None
    finally:
        await conn.close()


async def snapshot(server_url: str, database: str) -> Snapshot:
    """Every statement the server has run in `database` so far: calls and execution time."""
    conn = await asyncpg.connect(server_url)
    try:
        try:
            rows = await conn.fetch(_SNAPSHOT.format(toplevel="s.toplevel"), database)
        except asyncpg.UndefinedColumnError:  # before PostgreSQL 14: every statement counts
            rows = await conn.fetch(_SNAPSHOT.format(toplevel="true"), database)
        try:
            evictions = await conn.fetchval("SELECT dealloc FROM pg_stat_statements_info")
        except asyncpg.UndefinedTableError:
            evictions = None
    finally:
        await conn.close()
    return Snapshot(
        {
            (r["queryid"], r["toplevel"]): Statement(
                r["query"] or "", r["toplevel"], r["calls"], r["ms"]
            )
            for r in rows
            if r["queryid"] is not None
        },
        evictions,
    )


def per_request(before: Snapshot, after: Snapshot, requests: int, top: int = 5) -> dict[str, Any]:
    """Statement calls and server time per request between two snapshots: totals over the
    statements the clients sent (those inside functions or triggers are within them), and the
    `top` statements by time, each with its calls and milliseconds per request."""
    if not requests:
        return {}
    spent: list[Statement] = []
    for key, now in after.statements.items():
        if STATEMENT_MARK in now.query:
            continue
        then = before.statements.get(key)
        calls = now.calls - (then.calls if then else 0)
        ms = now.ms - (then.ms if then else 0.0)
        if calls > 0:
            spent.append(Statement(now.query, now.toplevel, calls, ms))
    outer = [s for s in spent if s.toplevel]
    figures: dict[str, Any] = {
        "calls": round(sum(s.calls for s in outer) / requests, 2),
        "server_ms": round(sum(s.ms for s in outer) / requests, 3),
        f"top_{top}_by_time": [
            f"{s.ms / requests:.3f} ms, {s.calls / requests:.2f} calls"
            f"{'' if s.toplevel else ' (nested)'}: {_short(s.query)}"
            for s in sorted(spent, key=lambda s: s.ms, reverse=True)[:top]
        ],
    }
    evicted = (
        after.evictions - before.evictions
        if after.evictions is not None and before.evictions is not None
        else 0
    )
    if evicted:
        figures["caveat"] = (
            f"{evicted} pg_stat_statements eviction(s) on the server"
            " during the run (pg_stat_statements.max): a statement evicted and seen again"
            " would be counted short"
        )
    return figures


def _short(query: str, width: int = 90) -> str:
    """A statement on one line, cut to `width` characters."""
    flat = re.sub(r"\s+", " ", query).strip()
    return flat if len(flat) <= width else flat[: width - 1] + "…"
