"""Booth holds over HTTP at fixed arrival rates, command-to-read-model latency, contention.

The booths service runs in its own process, as in production; the load comes from this one.
Exhibitors are approved the production way: the exhibitors service's events on its topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import httpx
from fairline_events.auth import TokenIssuer
from fairline_events.db import drop_database, with_database
from fairline_events.settings import ServiceSettings
from fairline_stack.resolve import Infra

from . import cpu
from .common import Figure, percentile, say
from .load import Request, ensure_vegeta, open_loop

# The booths end-to-end harness already knows how to open an edition, import booths from
# CSV and publish exhibitors' approvals; the benchmark reuses it rather than copying it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from e2e.booths.harness import (
    EDITION,
    Api,
    ExhibitorFeed,
    add_booths,
    admitted,
    open_edition,
)
from support.serving import ready, start_service
from support.waiting import eventually

PORT = 18602


async def bench_commands(infra: Infra, scale: float) -> list[Figure]:
    ensure_vegeta()
    unique = f"bench{uuid.uuid4().hex[:6]}"
    settings = ServiceSettings(
        database_url=infra.database_url,
        kafka_bootstrap_servers=infra.bootstrap_servers,
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret=secrets.token_urlsafe(48),
    )
    workers = int(os.environ.get("BENCH_WORKERS", "1"))
    server = start_service("booths", settings, PORT, workers=workers, quiet=True)
    issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-booths")
    # Enough connections that requests never queue inside the client.
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORT}", timeout=30, limits=limits
        ) as client:
            await eventually(lambda: ready(client), bool, within=60, what="the booths service")
            api = Api(client, SimpleNamespace(state=SimpleNamespace(token_issuer=issuer)))
            return await _measure(api, client, settings, issuer, scale, server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
        await drop_database(settings.service_database_url("booths"))


async def _measure(
    api: Api,
    client: httpx.AsyncClient,
    settings: ServiceSettings,
    issuer: TokenIssuer,
    scale: float,
    server_pid: int,
) -> list[Figure]:
    seconds = max(2.0, 10 * scale)
    rates = [int(r) for r in os.environ.get("BENCH_RATES", "250,500,1000").split(",")]
    needed = int(sum(rates) * seconds) + 2000
    exhibitors = [f"bx-{n:05d}" for n in range(max(200, needed // 8))]
    say(f"commands: opening an edition with {needed} booths, {len(exhibitors)} exhibitors…")
    await open_edition(api, max_concurrent_holds=10)
    codes = [f"E1-{n:06d}" for n in range(needed)]
    for start in range(0, len(codes), 2000):
        await add_booths(api, "E1", codes[start : start + 2000])
    await ExhibitorFeed(settings).approve(*exhibitors)
    await admitted(api, len(exhibitors), within=180)
    token = f"Bearer {issuer.issue('bench-sales', ['sales'])}"
    client.headers["Authorization"] = token
    database = settings.service_database_url("booths")
    await _record_visibility(database)

    figures: list[Figure] = []
    next_booth = 0
    for rate in rates:
        total = int(rate * seconds)
        first = next_booth

        holds = [
            Request(
                "POST",
                f"/editions/{EDITION}/booths/{codes[first + i]}/hold",
                {"exhibitor_id": exhibitors[(first + i) % len(exhibitors)]},
            )
            for i in range(total)
        ]
        say(f"commands: {total} holds at {rate}/s (open loop, vegeta)…")
        before = cpu.snapshot(server_pid)
        with _profiled(server_pid, f"holds-{rate}", seconds):
            result = await open_loop(
                f"http://127.0.0.1:{PORT}", {"Authorization": token}, rate, seconds, holds
            )
        cpu_per_hold = cpu.per_request_ms(before, cpu.snapshot(server_pid), total)
        next_booth += total
        summary = result.summary()
        ok = result.statuses.get(200, 0)
        visible = await _visibility(database, codes[first : first + total])
        figures.append(
            Figure(
                "commands",
                f"holds at {rate}/s: p99 latency",
                summary["p99_ms"],
                "ms",
                target="p99 <= 50 ms at 1,000/s" if rate == 1000 else None,
                met=(summary["p99_ms"] <= 50 and ok == total) if rate == 1000 else None,
                notes={
                    **summary,
                    "command_to_read_model_p50_ms": visible["p50"],
                    "command_to_read_model_p99_ms": visible["p99"],
                    "cpu_ms_per_hold": cpu_per_hold,
                },
            )
        )
        if rate == 500 and 500 in rates:
            figures.append(
                Figure(
                    "commands",
                    "command-to-read-model p99 at 500 holds/s",
                    visible["p99"],
                    "ms",
                    target="<= 100 ms",
                    met=visible["p99"] <= 100,
                )
            )
    figures += await _contention(api, codes[next_booth:], exhibitors)
    return figures


@contextlib.contextmanager
def _profiled(pid: int, name: str, seconds: float) -> Iterator[None]:
    """With BENCH_PROFILE=<dir>, py-spy samples the server while the load runs, into
    <dir>/<name>.folded (collapsed stacks, for flamegraph.pl or speedscope)."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    out = Path(folder) / f"{name}.folded"
    spy = Path(sys.executable).parent / "py-spy"
    duration = str(max(1, round(seconds)))
    command = [str(spy), "record", "-f", "raw", "-r", "200", "-d", duration, "-p", str(pid)]
    recorder = subprocess.Popen([*command, "-o", str(out)], stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        recorder.wait(60)
        say(f"commands: profile of the server under load in {out}")


async def _record_visibility(database: str) -> None:
    """A bench-only trigger stamps when each floor-plan row changed, by the server clock."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            """
            CREATE TABLE IF NOT EXISTS bench_visible (booth_code text PRIMARY KEY, at timestamptz);
            CREATE OR REPLACE FUNCTION bench_stamp() RETURNS trigger AS $$
            BEGIN
              IF NEW.status = 'held' THEN
                INSERT INTO public.bench_visible VALUES (NEW.booth_code, clock_timestamp())
                ON CONFLICT DO NOTHING;
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql;
            DROP TRIGGER IF EXISTS bench_stamp ON proj_booths_floor_plan.booths;
            CREATE TRIGGER bench_stamp AFTER UPDATE ON proj_booths_floor_plan.booths
              FOR EACH ROW EXECUTE FUNCTION bench_stamp();
            """
        )
    finally:
        await conn.close()


async def _visibility(database: str, booths: list[str]) -> dict[str, float]:
    """From the event's decision (its occurred_at, just before the commit) until the floor
    plan showed it: a slight over-estimate of commit-to-visible."""
    conn = await asyncpg.connect(database)
    try:
        for _ in range(100):  # let the projection finish the tail of the run
            rows = await conn.fetch(
                """
                SELECT extract(epoch FROM v.at - e.committed) * 1000 AS ms
                FROM bench_visible v
                JOIN (SELECT data->>'booth_code' AS booth_code,
                             occurred_at AS committed
                      FROM events WHERE event_type = 'booths.BoothHeld') e USING (booth_code)
                WHERE v.booth_code = ANY($1::text[])
                """,
                booths,
            )
            if len(rows) >= len(booths) * 0.99:
                break
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    values = [float(r["ms"]) for r in rows if r["ms"] is not None]
    return {"p50": round(percentile(values, 50), 1), "p99": round(percentile(values, 99), 1)}


async def _contention(api: Api, free: list[str], exhibitors: list[str]) -> list[Figure]:
    """N buyers race for M booths: how long until settled, and how many were sold."""
    buyers, booths = 1000, 100
    targets = free[:booths]
    say(f"contention: {buyers} buyers on {booths} booths…")
    started = time.perf_counter()

    async def attempt(i: int) -> int:
        try:
            response = await api.client.post(
                f"/editions/{EDITION}/booths/{targets[i % booths]}/hold",
                json={"exhibitor_id": exhibitors[-1 - i % len(exhibitors)]},
            )
        except httpx.HTTPError:
            return 0  # counted under "other"
        return response.status_code

    statuses = await asyncio.gather(*(attempt(i) for i in range(buyers)))
    settled = time.perf_counter() - started
    sold = statuses.count(200)
    return [
        Figure(
            "contention",
            f"{buyers} buyers on {booths} booths: time to settle",
            settled,
            "s",
            target=f"exactly {booths} sold",
            met=sold == booths,
            notes={
                "sold": sold,
                "conflicts_409": statuses.count(409),
                "other": buyers - sold - statuses.count(409),
            },
        )
    ]


__all__ = ["bench_commands", "with_database"]
