"""Where PostgreSQL's CPU per booth hold goes, process by process, under settings variants.

`.venv/bin/python -m bench.pg_cost <variant> [<variant> ...]` starts a private PostgreSQL
(own data dir and port; the shared dev stack's server is never touched) and, for each variant
in turn, restarts it with the variant's settings (`VARIANTS`), serves the booths service on
it as the commands bench does (one API process, one worker, the stack's Kafka), stocks
booths and exhibitors, then sends PG_COST_RATE holds/s (default 250) for PG_COST_SECONDS
(10) open loop and waits until the worker has relayed and projected them. It prints one
JSON line per variant: PostgreSQL's CPU milliseconds per hold by process kind (the API's
backends, the worker's backends by the statement they last ran, walwriter, checkpointer,
autovacuum, ...), WAL records, full-page images and syncs per hold, table activity and the
statements per hold, and the load average. Name variants in turns (`base other base other`)
to see the noise. `other` runs the service of another checkout
(PG_COST_OTHER=<checkout>/.venv/bin/python) on the same settings: code before and after.
PG_COST_PERF=<prefix> records every server process with `perf record -g` during the holds.
Not part of `make bench`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
from fairline_events.auth import TokenIssuer
from fairline_events.db import drop_database
from fairline_events.kafka import delete_topics
from fairline_stack.postgres import PostgresServer
from fairline_stack.resolve import Infra, infrastructure

from . import cpu
from .commands import (
    SPARE_EXHIBITORS,
    WARM_UP_HOLDS,
    _booth,
    _exhibitor,
    _hold,
    _Holds,
    _serving,
    _warm_up,
)
from .common import (
    free_port,
    migrate_service,
    say,
    scratch,
    service_env,
    service_process,
    service_settings,
    settled,
    stop,
)
from .load import ensure_vegeta, open_loop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from booths.service import definition
from e2e.booths.harness import EDITION, Api, add_booths, open_edition

STACK = {  # what the local stack sets beyond the defaults that matters here
    "shared_preload_libraries": "'pg_stat_statements'",
    "pg_stat_statements.track": "all",
}
VARIANTS: dict[str, dict[str, str]] = {
    "base": STACK,
    "other": STACK,  # with PG_COST_OTHER's service
    "no_statements": {"shared_preload_libraries": "''"},
    "planning": {**STACK, "pg_stat_statements.track_planning": "on"},
    "generic": {**STACK, "plan_cache_mode": "force_generic_plan"},
    "explain": {  # every statement over 1 ms, with its plan, in PG_COST_LOG
        **STACK,
        "session_preload_libraries": "'auto_explain'",
        "auto_explain.log_min_duration": "'1ms'",
        "auto_explain.log_analyze": "on",
        "auto_explain.log_buffers": "on",
        "auto_explain.log_nested_statements": "on",
    },
}
RATE = int(os.environ.get("PG_COST_RATE", "250"))
SECONDS = float(os.environ.get("PG_COST_SECONDS", "10"))
DATA = Path(os.environ.get("PG_COST_DIR", Path(tempfile.gettempdir()) / "pg-cost"))
OWN_PYTHON = sys.executable

Cpu = dict[int, tuple[str, float]]
"""pid: (process title, CPU seconds so far)."""


def _children(parent: int) -> Cpu:
    """The postmaster's children: each backend and background process."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            process = cpu.stat(entry / "stat")
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if process.parent == parent:
            found[int(entry.name)] = (title, process.seconds)
    return found


def _postmaster(pid: int) -> tuple[float, float]:
    """CPU seconds of the postmaster itself, and of its children that have ended (reaped:
    autovacuum workers, closed connections)."""
    postmaster = cpu.stat(f"/proc/{pid}/stat")
    return postmaster.seconds, postmaster.reaped_seconds


def _socket_owners() -> dict[int, int]:
    """Local TCP port: the pid of the process on that end of a connection."""
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=False).stdout
    owners = {}
    for line in out.splitlines():
        parts = line.split()
        found = re.search(r"pid=(\d+)", line)
        if len(parts) >= 4 and found:
            owners[int(parts[3].rsplit(":", 1)[1])] = int(found.group(1))
    return owners


async def _client_backends(conn: asyncpg.Connection, trees: dict[str, int]) -> dict[int, str]:
    """Each client backend's kind: whose connection it serves (the worker's also by the
    statement it last ran: relay, projection, job)."""
    rows = await conn.fetch(
        "SELECT pid, client_port, query FROM pg_stat_activity WHERE backend_type = 'client backend'"
    )
    owners = _socket_owners()
    processes = cpu._processes()
    tree_of = {pid: name for name, root in trees.items() for pid in cpu._tree(processes, root)}
    kinds = {}
    for r in rows:
        client = owners.get(r["client_port"] or -1)
        part = tree_of.get(client or -1, "bench" if client == os.getpid() else "other")
        if part == "worker":
            part += f" ({_flat(r['query'], 50)})"
        kinds[r["pid"]] = f"backend: {part}"
    return kinds


def _flat(text: str | None, width: int) -> str:
    """A statement on one line, cut to `width` characters."""
    return re.sub(r"\s+", " ", text or "").strip()[:width]


def _kind(title: str) -> str:
    """A background process's kind from its title ("postgres: walwriter")."""
    name = title.removeprefix("postgres: ")
    return "autovacuum worker" if name.startswith("autovacuum worker") else name


async def _counters(conn: asyncpg.Connection) -> dict[str, float]:
    wal = await conn.fetchrow("SELECT wal_records, wal_fpi, wal_bytes, wal_sync FROM pg_stat_wal")
    commits = await conn.fetchval("SELECT sum(xact_commit) FROM pg_stat_database")
    return {**{k: float(v) for k, v in wal.items()}, "commits": float(commits)}


async def _tables(conn: asyncpg.Connection) -> dict[str, dict[str, float]]:
    rows = await conn.fetch(
        "SELECT schemaname || '.' || relname AS t, seq_scan, seq_tup_read, idx_scan,"
        " n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables"
    )
    return {r["t"]: {k: float(v or 0) for k, v in r.items() if k != "t"} for r in rows}


async def _statements(conn: asyncpg.Connection) -> dict[str, tuple[float, ...]]:
    """Each statement of this database: calls, execution and planning ms, blocks hit."""
    try:
        rows = await conn.fetch(
            "SELECT queryid, toplevel, query, calls, total_exec_time, total_plan_time,"
            " shared_blks_hit FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
    except asyncpg.PostgresError:  # not preloaded in this variant
        return {}
    return {
        f"{'' if r['toplevel'] else '(nested) '}{_flat(r['query'], 70)} #{r['queryid']}": (
            r["calls"],
            r["total_exec_time"],
            r["total_plan_time"],
            r["shared_blks_hit"],
        )
        for r in rows
    }


def _per_hold(before: dict[str, float], after: dict[str, float], holds: int) -> dict[str, float]:
    return {k: round((v - before.get(k, 0.0)) / holds, 3) for k, v in after.items()}


def _configure(server: PostgresServer, settings: dict[str, str]) -> None:
    """Restart the server with `settings` over the checkout's (postgresql.auto.conf is read
    after the files fairline-stack writes)."""
    server.stop()
    if not server.is_initialized():
        server.start()  # initdb
        server.stop()
    (server.pgdata / "postgresql.auto.conf").write_text(
        "".join(f"{k} = {v}\n" for k, v in settings.items())
    )
    server.start()
    server.wait_ready()


async def run_variant(name: str, server: PostgresServer, kafka_infra: Infra) -> dict[str, Any]:
    _configure(server, VARIANTS[name])
    # whose service runs: bench.common starts `fairline-booths` beside sys.executable
    sys.executable = os.environ["PG_COST_OTHER"] if name == "other" else OWN_PYTHON
    settings = service_settings(Infra(kafka_infra.kafka, server.dsn, "env"), scratch("pgc"))
    migrate_service("booths", settings)
    worker = service_process("booths", settings, "work")
    issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-booths")
    port = free_port()
    total = int(RATE * SECONDS)
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
        ) as client:
            api = Api(client, SimpleNamespace(state=SimpleNamespace(token_issuer=issuer)))
            holds = _Holds(api, settings, server.dsn, issuer, 1.0, worker.pid, port)
            spare = [f"EW-{n:04d}" for n in range(WARM_UP_HOLDS)]
            async with _serving(client, holds._serve(1), service_env(settings)) as api_pid:
                await open_edition(api, max_concurrent_holds=10)
                await add_booths(api, "E1", spare)
                await holds.feed.approve(*(f"bc-{n:04d}" for n in range(SPARE_EXHIBITORS)))
                await holds._admitted(SPARE_EXHIBITORS)
                client.headers["Authorization"] = holds.token
                await _warm_up(
                    client,
                    [
                        (f"/editions/{EDITION}/booths/{code}/hold", f"bc-{n:04d}")
                        for n, code in enumerate(spare)
                    ],
                )
                await holds._stock(total)
                await settled(holds.database, holds.topic, definition.projections)
                measured = await _measure(
                    name, server, holds, {"API": api_pid, "worker": worker.pid}
                )
        return {"variant": name, "holds": total, **measured, "load": os.getloadavg()}
    finally:
        stop(worker)
        sys.executable = OWN_PYTHON
        await drop_database(settings.service_database_url("booths"))
        await delete_topics(settings.kafka, settings.fairline_topic_prefix)


async def _measure(
    name: str, server: PostgresServer, holds: _Holds, trees: dict[str, int]
) -> dict[str, Any]:
    total = int(RATE * SECONDS)
    postmaster = server.pid()
    assert postmaster is not None
    conn = await asyncpg.connect(holds.database)
    try:
        with contextlib.suppress(asyncpg.PostgresError):
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await conn.execute("CHECKPOINT")  # every variant's holds start just after one
        counters, tables, sql = await _counters(conn), await _tables(conn), await _statements(conn)
        before, (own, reaped) = _children(postmaster), _postmaster(postmaster)
        perf = None
        if prefix := os.environ.get("PG_COST_PERF"):
            pids = ",".join(str(pid) for pid in before)
            perf = subprocess.Popen(
                [
                    "perf",
                    "record",
                    "-q",
                    "-F",
                    "499",
                    "-g",
                    "-o",
                    f"{prefix}-{name}.data",
                    "-p",
                    pids,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        requests = [_hold(_booth(n), _exhibitor(n)) for n in range(total)]
        headers = {"Authorization": holds.token}
        url = f"http://127.0.0.1:{holds.port}"
        result = await open_loop(url, headers, RATE, SECONDS, requests)
        if perf is not None:
            perf.send_signal(signal.SIGINT)
            perf.wait(60)
        kinds = await _client_backends(conn, trees)
        await settled(holds.database, holds.topic, definition.projections)
        after, (own_after, reaped_after) = _children(postmaster), _postmaster(postmaster)
        counters_after = await _counters(conn)
        await asyncio.sleep(0.6)  # a backend flushes its table statistics every 0.5 s at most
        tables_after, sql_after = await _tables(conn), await _statements(conn)
    finally:
        await conn.close()
    spent: dict[str, float] = defaultdict(float)
    for pid, (title, seconds) in after.items():
        spent[kinds.get(pid) or _kind(title)] += seconds - before.get(pid, ("", 0.0))[1]
    spent["postmaster"] += own_after - own
    spent["ended processes (autovacuum workers, closed connections)"] += reaped_after - reaped
    by_kind = {
        k: round(v * 1000 / total, 3) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])
    }
    by_kind = {k: v for k, v in by_kind.items() if v > 0}
    by_kind["total"] = round(sum(spent.values()) * 1000 / total, 3)
    moved = {t: _per_hold(tables.get(t, {}), now, total) for t, now in tables_after.items()}
    statements: list[tuple[float, dict[str, Any]]] = []
    for query, (calls, ms, plan_ms, blocks) in sql_after.items():
        calls0, ms0, plan0, blocks0 = sql.get(query, (0, 0.0, 0.0, 0.0))
        if calls > calls0:
            exec_ms = round((ms - ms0) / total, 4)
            statements.append(
                (
                    exec_ms,
                    {
                        "exec_ms": exec_ms,
                        "plan_ms": round((plan_ms - plan0) / total, 4),
                        "calls": round((calls - calls0) / total, 2),
                        "blocks_per_call": round((blocks - blocks0) / (calls - calls0), 1),
                        "query": query,
                    },
                )
            )
    statements.sort(key=lambda s: -s[0])
    summary = result.summary()
    return {
        "ok": result.statuses.get(200, 0),
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "pg_cpu_ms_per_hold": by_kind,
        "per_hold": _per_hold(counters, counters_after, total),
        "tables_per_hold": {
            t: {k: v for k, v in m.items() if v} for t, m in moved.items() if any(m.values())
        },
        "statements_per_hold": [s for _, s in statements[:12]],
    }


async def main(names: list[str]) -> None:
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variant(s) {unknown}: pick from {sorted(VARIANTS)}")
    if "other" in names and "PG_COST_OTHER" not in os.environ:
        raise SystemExit("variant `other` runs PG_COST_OTHER=<checkout>/.venv/bin/python's service")
    ensure_vegeta()
    shared = await infrastructure()  # the stack's Kafka; PostgreSQL is our own
    await asyncio.to_thread(DATA.mkdir, parents=True, exist_ok=True)
    server = PostgresServer(DATA, free_port(), say=say)
    try:
        for name in names:
            say(f"pg_cost: variant {name}…")
            print(json.dumps(await run_variant(name, server, shared)), flush=True)
    finally:
        server.stop()
        if log := os.environ.get("PG_COST_LOG"):
            shutil.copy(server.log_path, log)
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    started = time.monotonic()
    asyncio.run(main(sys.argv[1:] or ["base"]))
    say(f"pg_cost: {time.monotonic() - started:.0f} s")
