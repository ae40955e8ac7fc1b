"""Booth holds over HTTP at fixed arrival rates, command-to-read-model latency, contention,
and the same holds on a plain FastAPI + asyncpg peer (`bench.plain`), in the same run.

The booths service runs as in production: one `work` process (relay, projections, jobs)
and `serve --workers N` HTTP processes, N from BENCH_API_PROCESSES (default 1 then 2).
Exhibitors are approved the production way: the exhibitors service's events on its topic.
BENCH_RATES (default 100,250,500,1000) are the offered rates; BENCH_PEER=0 skips the peer.

Each rate is measured BENCH_REPEATS (3) times and its figure is the median run (every run's
p99 in the notes): on a shared two-core box one 10 s run swings by a factor of two. A rate
is measured once when its first run is saturated or within a fifth of the bound, and so is
every rate above the first whose median missed the bound (`bench.common.climb`; the notes
say which). Before each service's holds, 10 s with
no load give its idle burn: the CPU its API, its worker, PostgreSQL and Kafka spend anyway.
Each run's notes carry the PostgreSQL statements per hold (`bench.statements`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
from fairline_events.auth import TokenIssuer
from fairline_events.db import drop_database, ensure_database, with_database
from fairline_events.settings import ServiceSettings
from fairline_stack.resolve import Infra

from . import cpu, statements, waits
from .common import (
    REPEATS,
    Figure,
    Ladder,
    Run,
    api_processes,
    climb,
    free_port,
    migrate_service,
    percentile,
    say,
    scratch,
    service_env,
    service_process,
    service_settings,
    settled,
    stop,
)
from .flame import sampling
from .load import Request, ensure_vegeta, open_loop
from .plain import add_booths as add_plain_booths

# The booths end-to-end harness already knows how to open an edition, import booths from
# CSV and publish exhibitors' approvals; the benchmark reuses it rather than copying it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from booths.projections import floor_plan
from booths.service import definition
from e2e.booths.harness import (
    EDITION,
    Api,
    ExhibitorFeed,
    add_booths,
    open_edition,
)
from support.serving import ready
from support.waiting import eventually

P99_BOUND_MS = 50.0
EXHIBITORS_PER_BLOCK = 500
HOLDS_PER_EXHIBITOR = 8
"""Each exhibitor holds 8 booths over a block of 4,000 holds (one every 500), under the
edition's limit of 10 at once with room for the warm-up and the contention run."""
STOCK_STEP = 5000
SPARE_EXHIBITORS = 1000
"""Approved at the start for the warm-ups and the contention run: holders of their own."""
CONTENTION_BOOTHS = 100
WARM_UP_HOLDS = 50


async def bench_commands(infra: Infra, scale: float) -> list[Figure]:
    ensure_vegeta()
    unique = scratch()
    settings = service_settings(infra, unique)
    migrate_service("booths", settings)
    worker = service_process("booths", settings, "work")
    issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-booths")
    port = free_port()
    # Enough connections that requests never queue inside the client.
    limits = httpx.Limits(max_connections=500, max_keepalive_connections=500)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=30, limits=limits
        ) as client:
            api = Api(client, SimpleNamespace(state=SimpleNamespace(token_issuer=issuer)))
            holds = _Holds(api, settings, infra.database_url, issuer, scale, worker.pid, port)
            try:
                await holds.measure()
            except Exception as exc:  # keep what was measured before the failure
                say(f"commands: failed: {exc!r}")
                holds.figures.append(
                    Figure(
                        "commands", "section failed", float("nan"), "", notes={"error": repr(exc)}
                    )
                )
            return holds.figures
    finally:
        stop(worker)
        await drop_database(settings.service_database_url("booths"))
        await drop_database(settings.service_database_url("plain"))


@contextlib.asynccontextmanager
async def _serving(
    client: httpx.AsyncClient, command: list[str], env: dict[str, str]
) -> AsyncIterator[int]:
    """An HTTP server process until the block ends; yields its pid. It must be the one that
    answers: a server that could not bind its port exits, and the bench says so."""
    server = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)

    async def up() -> bool:
        if server.poll() is not None:
            raise RuntimeError(f"{' '.join(command[-6:])} exited with {server.returncode}")
        return await ready(client)

    try:
        await eventually(up, bool, within=60, what=" ".join(command[-4:]))
        yield server.pid
    finally:
        stop(server)


def _system_cpu(per_hold: dict[str, float]) -> float:
    """CPU milliseconds per hold in the service's own processes (API and worker). PostgreSQL
    and Kafka are left out of the comparison: on a shared stack their CPU is everyone's."""
    return per_hold.get("service", 0.0)


async def _warm_up(client: httpx.AsyncClient, holds: list[tuple[str, str]]) -> None:
    """A few holds (path, exhibitor), each on a new connection so that every API process gets
    some: a production process is warm (its pool open, the edition's catalogue folded and
    cached)."""
    for path, exhibitor in holds:
        answer = await client.post(
            path, json={"exhibitor_id": exhibitor}, headers={"Connection": "close"}
        )
        # a server that refuses the bench's holds measures nothing: stop with its answer
        if answer.status_code != 200:
            raise RuntimeError(
                f"warm-up hold {path} answered {answer.status_code}: {answer.text[:300]}"
            )


def _rates() -> list[int]:
    return [int(r) for r in os.environ.get("BENCH_RATES", "100,250,500,1000").split(",")]


def _booth(n: int) -> str:
    """The booth of the n-th hold of the whole section."""
    return f"E1-{n:06d}"


def _exhibitor_number(n: int) -> int:
    """The exhibitor of the n-th hold: 500 exhibitors take turns, a new 500 every 4,000."""
    block = n // (EXHIBITORS_PER_BLOCK * HOLDS_PER_EXHIBITOR)
    return block * EXHIBITORS_PER_BLOCK + n % EXHIBITORS_PER_BLOCK


def _exhibitor(n: int) -> str:
    return f"bx-{_exhibitor_number(n):05d}"


class _Holds:
    """Fairline's holds rate by rate, 1 then 2 API processes, then the plain peer's."""

    def __init__(
        self,
        api: Api,
        settings: ServiceSettings,
        server_url: str,
        issuer: TokenIssuer,
        scale: float,
        worker: int,
        port: int,
    ) -> None:
        self.api = api
        self.client = api.client
        self.settings = settings
        self.server_url = server_url
        self.issuer = issuer
        self.worker = worker
        self.port = port
        self.seconds = max(2.0, 10 * scale)
        self.rates = _rates()
        self.processes = api_processes("1,2")
        self.database = settings.service_database_url("booths")
        self.topic = settings.topic("booths.events")
        self.feed = ExhibitorFeed(settings)
        self.token = f"Bearer {issuer.issue('bench-sales', ['sales'])}"
        self.figures: list[Figure] = []
        self.ladders: dict[int, Ladder] = {}
        self.costs: dict[tuple[int, int], float] = {}
        self.holds = 0
        """Holds sent so far: the next one takes booth `_booth(holds)`."""
        self.stocked = 0
        """Booths imported (and exhibitors approved) for the holds `0 .. stocked - 1`."""
        self.no_statements: str | None = None

    def _serve(self, count: int) -> list[str]:
        command = os.path.join(os.path.dirname(sys.executable), "fairline-booths")
        api = ["--no-relay", "--no-projections", "--port", str(self.port)]
        return [command, "serve", *api, "--workers", str(count)]

    async def measure(self) -> None:
        self.no_statements = await statements.prepare(self.server_url)
        env = service_env(self.settings)
        spare = [f"EW-{n:04d}" for n in range(WARM_UP_HOLDS * len(self.processes))]
        contested = [f"EC-{n:03d}" for n in range(CONTENTION_BOOTHS)]
        async with _serving(self.client, self._serve(self.processes[0]), env):
            say("commands: opening an edition…")
            await open_edition(self.api, max_concurrent_holds=10)
            await add_booths(self.api, "E1", spare + contested)
            await self.feed.approve(*(f"bc-{n:04d}" for n in range(SPARE_EXHIBITORS)))
            await self._admitted(SPARE_EXHIBITORS)
        self.client.headers["Authorization"] = self.token
        await _record_visibility(self.database)
        for index, count in enumerate(self.processes):
            async with _serving(self.client, self._serve(count), env) as server_pid:
                mine = spare[WARM_UP_HOLDS * index :][:WARM_UP_HOLDS]
                await _warm_up(
                    self.client,
                    [
                        (f"/editions/{EDITION}/booths/{c}/hold", f"bc-{n:04d}")
                        for n, c in enumerate(mine)
                    ],
                )
                await self._stock(self.holds + 1)  # the imports' work done before the quiet
                await settled(self.database, self.topic, definition.projections)
                say(f"commands: idle for {self.seconds:g} s, {count} API process(es)…")
                idle = await cpu.idle_burn({"API": server_pid, "worker": self.worker}, self.seconds)
                self.figures.append(
                    Figure(
                        "commands",
                        f"idle burn, {count} API process(es): CPU per second",
                        idle["total"],
                        "ms/s",
                        notes={"cpu_ms_per_s": idle, "seconds": self.seconds},
                    )
                )

                async def holds(
                    rate: int, run: int, count: int = count, pid: int = server_pid
                ) -> Run:
                    return await self._holds(rate, run, count, pid)

                ladder = await climb(self.rates, holds, P99_BOUND_MS)
                self.ladders[count] = ladder
                self._ladder_figures(ladder, count)
                if count == self.processes[-1]:
                    self.figures += await _contention(contested, self.port, self.token)
        if os.environ.get("BENCH_PEER", "1") != "0":  # BENCH_PEER=0: Fairline alone
            self.figures += await self._peer()

    def _ladder_figures(self, ladder: Ladder, count: int) -> None:
        for step in ladder.steps:
            median = step.median
            headline = step.rate == 1000 and count == self.processes[0]
            self.figures.append(
                Figure(
                    "commands",
                    f"holds at {step.rate}/s, {count} API process(es): p99 latency",
                    median.p99_ms,
                    "ms",
                    target="p99 <= 50 ms at 1,000/s" if headline else None,
                    met=step.within(P99_BOUND_MS) if headline else None,
                    notes=step.notes(),
                )
            )
            self.costs[count, step.rate] = _system_cpu(median.notes["cpu_ms_per_hold"])
            if step.rate == 500 and count == self.processes[0]:
                visible = median.notes["command_to_read_model_p99_ms"]
                self.figures.append(
                    Figure(
                        "commands",
                        "command-to-read-model p99 at 500 holds/s",
                        visible,
                        "ms",
                        target="<= 100 ms",
                        met=visible <= 100,
                        notes={"of the median run of": step.notes()["runs_p99_ms"]},
                    )
                )

    async def _holds(self, rate: int, run: int, count: int, server_pid: int) -> Run:
        total = int(rate * self.seconds)
        first = self.holds
        self.holds += total
        await self._stock(self.holds)
        await settled(self.database, self.topic, definition.projections)
        holds = [_hold(_booth(n), _exhibitor(n)) for n in range(first, first + total)]
        say(f"commands: {total} holds at {rate}/s, {count} API process(es), run {run}…")
        sql_before = await self._statements()
        before = cpu.snapshot(server_pid, self.worker)
        api_before = cpu.snapshot(server_pid)["service"]
        database = self.database.rsplit("/", 1)[-1]
        name = f"holds-{rate}-api{count}-run{run}"
        with sampling({name: server_pid, f"{name}-worker": self.worker}, self.seconds):
            async with waits.sampled(self.server_url, database) as waiting:
                result = await open_loop(
                    f"http://127.0.0.1:{self.port}",
                    {"Authorization": self.token},
                    rate,
                    self.seconds,
                    holds,
                )
        api_after = cpu.snapshot(server_pid)["service"]
        # CPU and statements until the worker has relayed and projected the run's holds too
        await settled(self.database, self.topic, definition.projections)
        after = cpu.snapshot(server_pid, self.worker)
        sql_after = await self._statements()
        cpu_per_hold = cpu.per_request_ms(before, after, total)
        # the service's share split: its API processes apart from its worker
        api = round((api_after - api_before) * 1000 / total, 2)
        cpu_per_hold["of which API"] = api
        cpu_per_hold["of which worker"] = round(cpu_per_hold.get("service", 0.0) - api, 2)
        summary = result.summary()
        ok = result.statuses.get(200, 0)
        visible = await _visibility(self.database, [_booth(n) for n in range(first, first + total)])
        return Run(
            summary["p99_ms"],
            _all_answered(summary, ok, total),
            {
                **summary,
                "command_to_read_model_p50_ms": visible["p50"],
                "command_to_read_model_p99_ms": visible["p99"],
                "cpu_ms_per_hold": cpu_per_hold,
                "postgresql_per_hold": self._per_request(sql_before, sql_after, total),
                "postgresql_backends_waiting": waiting.summary(),
            },
        )

    async def _statements(self, database: str | None = None) -> statements.Snapshot | None:
        if self.no_statements:
            return None
        name = (database or self.database).rsplit("/", 1)[-1]
        return await statements.snapshot(self.server_url, name)

    def _per_request(
        self,
        before: statements.Snapshot | None,
        after: statements.Snapshot | None,
        requests: int,
    ) -> dict[str, Any] | str:
        if before is None or after is None:
            return self.no_statements or "no statement figures"
        return statements.per_request(before, after, requests)

    async def _stock(self, holds: int) -> None:
        """Booths and approved exhibitors for the first `holds` holds, imported a few
        thousand ahead, between runs (the next run starts once the worker has applied them)."""
        if holds <= self.stocked:
            return
        target = max(holds, self.stocked + STOCK_STEP)
        codes = [_booth(n) for n in range(self.stocked, target)]
        approved = _exhibitor_number(self.stocked - 1) + 1 if self.stocked else 0
        needed = _exhibitor_number(target - 1) + 1
        say(f"commands: importing {len(codes)} booths, approving {needed - approved} exhibitors…")
        for start in range(0, len(codes), 2000):
            await add_booths(self.api, "E1", codes[start : start + 2000])
        await self.feed.approve(*(f"bx-{n:05d}" for n in range(approved, needed)))
        self.stocked = target
        await self._admitted(SPARE_EXHIBITORS + needed)

    async def _admitted(self, count: int) -> None:
        """Until the floor plan lists `count` exhibitors of the edition."""
        conn = await asyncpg.connect(self.database)
        try:

            async def listed() -> int:
                return int(
                    await conn.fetchval(
                        f"{statements.STATEMENT_MARK} SELECT count(*)"
                        f" FROM {floor_plan.schema}.exhibitors WHERE edition_code = $1",
                        EDITION,
                    )
                )

            await eventually(listed, lambda n: n >= count, within=300, what=f"{count} admitted")
        finally:
            await conn.close()

    async def _peer(self) -> list[Figure]:
        """The plain FastAPI + asyncpg hold (`bench.plain`) under the same open-loop runs: the
        highest rate each holds at p99 <= 50 ms (each decided on its median run), side by
        side, with the ratio."""
        peer = _Peer(self.settings.service_database_url("plain"), free_port())
        await ensure_database(peer.url)
        # booths for every run the ladders could make: a plain INSERT, no events to apply
        most = REPEATS * int(sum(self.rates) * self.seconds) * len(self.processes)
        peer.codes = [f"P-{n:06d}" for n in range(most)]
        await add_plain_booths(peer.url, EDITION, peer.codes)
        env = {**service_env(self.settings), "DATABASE_URL": peer.url}
        figures: list[Figure] = []
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{peer.port}", timeout=30
        ) as peer_client:
            for count in self.processes:
                command = [sys.executable, "-m", "bench.plain", "--port", str(peer.port)]
                async with _serving(peer_client, [*command, "--workers", str(count)], env) as pid:
                    spare = [f"W{count}-{n}" for n in range(WARM_UP_HOLDS)]
                    await add_plain_booths(peer.url, EDITION, spare)
                    peer_client.headers["Authorization"] = self.token
                    await _warm_up(
                        peer_client,
                        [(f"/editions/{EDITION}/booths/{c}/hold", "bx-00000") for c in spare],
                    )

                    async def plain(rate: int, run: int, count: int = count, pid: int = pid) -> Run:
                        return await self._plain(peer, rate, run, count, pid)

                    ladder = await climb(self.rates, plain, P99_BOUND_MS)
                figures += self._peer_figures(ladder, count)
        return figures

    async def _plain(self, peer: _Peer, rate: int, run: int, count: int, pid: int) -> Run:
        total = int(rate * self.seconds)
        holds = [_hold(peer.codes[peer.used + i], f"bx-{i % 200:05d}") for i in range(total)]
        peer.used += total
        say(f"peer: {total} plain holds at {rate}/s, {count} API process(es), run {run}…")
        sql_before = await self._statements(peer.url)
        before = cpu.snapshot(pid)
        async with waits.sampled(self.server_url, peer.url.rsplit("/", 1)[-1]) as waiting:
            result = await open_loop(
                f"http://127.0.0.1:{peer.port}",
                {"Authorization": self.token},
                rate,
                self.seconds,
                holds,
            )
        spent = cpu.per_request_ms(before, cpu.snapshot(pid), total)
        sql_after = await self._statements(peer.url)
        summary = result.summary()
        return Run(
            summary["p99_ms"],
            _all_answered(summary, result.statuses.get(200, 0), total),
            {
                **summary,
                "cpu_ms_per_hold": spent,
                "postgresql_per_hold": self._per_request(sql_before, sql_after, total),
                "postgresql_backends_waiting": waiting.summary(),
            },
        )

    def _peer_figures(self, ladder: Ladder, count: int) -> list[Figure]:
        figures = []
        cpu_ratios: dict[str, float] = {}
        for step in ladder.steps:
            plain_cpu = _system_cpu(step.median.notes["cpu_ms_per_hold"])
            if (count, step.rate) in self.costs and plain_cpu:
                cpu_ratios[f"at {step.rate}/s"] = round(self.costs[count, step.rate] / plain_cpu, 2)
            figures.append(
                Figure(
                    "peer",
                    f"plain holds at {step.rate}/s, {count} API process(es): p99 latency",
                    step.median.p99_ms,
                    "ms",
                    notes=step.notes(),
                )
            )
        mine = self.ladders[count].highest if count in self.ladders else 0
        best = ladder.highest
        figures.append(
            Figure(
                "peer",
                f"highest hold rate at p99 <= 50 ms, {count} API process(es)",
                mine,
                "holds/s",
                "plain FastAPI + asyncpg hold",
                best,
                ">= 0.5 of the plain hold",
                bool(best) and mine / best >= 0.5,
                notes={
                    "rates_tried": self.rates,
                    "decided_on": f"each rate's median run of up to {REPEATS}",
                    # steadier than a p99 on a shared box: the service's CPU per hold,
                    # Fairline's (API and worker) over the plain hold's, rate by rate
                    "cpu_per_hold_fairline_over_plain": cpu_ratios,
                },
            )
        )
        return figures


@dataclass
class _Peer:
    url: str
    port: int
    codes: list[str] = field(default_factory=list)
    used: int = 0
    """Booths held so far: the next run starts at `codes[used]`."""


def _all_answered(summary: dict[str, Any], ok: int, total: int) -> bool:
    """Every request vegeta sent got a 200. Vegeta may end a run one request short of
    rate x seconds (its last tick falls after the deadline): that one was never sent, so it
    is no error of the server's; more than 1 % missing would mean the generator fell behind."""
    sent = int(summary["sent"])
    return ok == sent and sent >= total * 0.99


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
                /* bench */ INSERT INTO public.bench_visible
                VALUES (NEW.booth_code, clock_timestamp()) ON CONFLICT DO NOTHING;
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
                f"""
                {statements.STATEMENT_MARK}
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


async def _contention(targets: list[str], port: int, token: str) -> list[Figure]:
    """N buyers race for M booths: how long until settled, and how many were sold.

    The buyers come from vegeta in one burst (all sent within 0.2 s). An httpx client with a
    thousand requests queued spent its time in its own connection pool (its assignment of
    queued requests to connections is quadratic): the 30 s this figure once showed was the
    client's, while the server sat idle."""
    buyers, booths, burst = SPARE_EXHIBITORS, len(targets), 0.2
    say(f"contention: {buyers} buyers on {booths} booths…")
    attempts = [_hold(targets[i % booths], f"bc-{i:04d}") for i in range(buyers)]
    result = await open_loop(
        f"http://127.0.0.1:{port}",
        {"Authorization": token},
        int(buyers / burst),
        burst,
        attempts,
        workers=buyers,
    )
    sold = result.statuses.get(200, 0)
    conflicts = result.statuses.get(409, 0)
    return [
        Figure(
            "contention",
            f"{buyers} buyers on {booths} booths: time to settle",
            result.last_answer_s,
            "s",
            target=f"<= 2 s, exactly {booths} sold",
            met=sold == booths and result.last_answer_s <= 2,
            notes={
                "sold": sold,
                "conflicts_409": conflicts,
                "other": buyers - sold - conflicts,
                **result.summary(),
            },
        )
    ]


__all__ = ["bench_commands", "with_database"]


def _hold(booth: str, exhibitor: str) -> Request:
    """One exhibitor's hold of one booth, as a sales desk sends it."""
    return Request("POST", f"/editions/{EDITION}/booths/{booth}/hold", {"exhibitor_id": exhibitor})
