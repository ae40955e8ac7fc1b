"""Ticket orders and gate scans over HTTP at fixed arrival rates, each beside a raw baseline
measured in the same run: the same server's `GET /healthz` at the same rate, on the settled
service just before the load (what HTTP, the event loop and the load generator cost before
any rule, lock or write).

The tickets service runs as `make run` runs it: `serve --no-relay --no-projections` HTTP
processes (BENCH_API_PROCESSES, default "1,2": one, then two, each measured) and one `work`
process apart that relays, projects and runs the expiry job. The load is the shop's and the
gates': every order is a different visitor's, sent with that visitor's own account token;
every scan is a different ticket of today at one of eight gates, scanned once (tickets
bought and paid through the provider's signed callback beforehand). Visitors are seeded as
events (the history a rush starts from). Before each run the worker has applied everything
before it, and the CPU of a run is counted once the worker has applied the run's events too
(API and worker apart), and so are its PostgreSQL statements (`bench.statements`).

Each rate is measured up to BENCH_REPEATS (3) times and its figure is the median run, beside
the healthz baseline taken before its first run; a rate whose first run is saturated or
within a fifth of the bound, and every order rate above the first whose median missed
100 ms, is measured once (`bench.common.climb`; the notes say which). Before
the orders, 10 s with no load give the service's idle burn.

BENCH_PROFILE=<dir>: py-spy records the API processes and the worker during each run, into
<dir>/tickets-<load>-<rate>-api<n>-run<k>-{api,worker}.folded (`python -m bench.flame`
summarises them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fairline_events.auth import TokenIssuer
from fairline_events.db import create_pool, drop_database
from fairline_events.settings import ServiceSettings
from fairline_events.store import EventStore
from fairline_stack.resolve import Infra

from . import cpu, statements
from .common import (
    REPEATS,
    Figure,
    Run,
    Step,
    api_processes,
    climb,
    free_port,
    migrate_service,
    say,
    scratch,
    service_process,
    service_settings,
    settled,
    stop,
)
from .flame import sampling
from .load import LoadResult, Request, ensure_vegeta, open_loop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from e2e.tickets.conftest import seed_visitors  # the same seeding as the e2e tests
from support.serving import ready
from support.waiting import eventually
from tickets.domain.events import registry
from tickets.domain.values import fair_day
from tickets.payments import DevPay
from tickets.service import definition

EDITION = "ciftis-2099"  # the seeding helper's edition
GATES = 8
ORDER_BOUND_MS = 100.0
SCAN_BOUND_MS = 20.0
SETUP_CONCURRENCY = 16
WARM_UP_ORDERS = 480
"""Orders sent by the warm-up, 80 at once (more than two API processes' pools hold, 20
connections each), spread over the days: each process then has, all but surely, placed
orders on every shard of every day's quota (8 shards)."""


async def bench_tickets(infra: Infra, scale: float) -> list[Figure]:
    ensure_vegeta()
    unique = scratch("t")
    settings = service_settings(infra, unique)
    migrate_service("tickets", settings)
    worker = service_process("tickets", settings, "work")
    port = free_port()
    limits = httpx.Limits(max_connections=SETUP_CONCURRENCY, max_keepalive_connections=16)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
        ) as client:
            bench = _Bench(client, settings, infra.database_url, scale, worker.pid)
            bench.no_statements = await statements.prepare(infra.database_url)
            for count in api_processes("1,2"):
                server = service_process(
                    "tickets", settings, "serve", "--no-relay", "--no-projections",
                    "--port", str(port), "--workers", str(count),
                )  # fmt: skip

                async def up(server: subprocess.Popen[bytes] = server) -> bool:
                    if server.poll() is not None:  # e.g. its port taken meanwhile
                        raise RuntimeError(f"the tickets API exited with {server.returncode}")
                    return await ready(client)

                try:
                    await eventually(up, bool, within=90, what="tickets API")
                    await bench.measure(count, server.pid)
                finally:
                    stop(server)
            return bench.figures
    finally:
        stop(worker)
        await drop_database(settings.service_database_url("tickets"))


class _Bench:
    def __init__(
        self,
        client: httpx.AsyncClient,
        settings: ServiceSettings,
        server_url: str,
        scale: float,
        worker: int,
    ) -> None:
        self.client = client
        self.settings = settings
        self.database = settings.service_database_url("tickets")
        self.topic = settings.topic("tickets.events")
        self.base_url = str(client.base_url).rstrip("/")
        self.server_url = server_url
        """The server's own database: where pg_stat_statements is read."""
        self.no_statements: str | None = None
        self.seconds = max(2.0, 10 * scale)
        self.worker = worker
        self.issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-tickets")
        self.box = f"Bearer {self.issuer.issue('bench-box_office', ['box_office'])}"
        self.order_rates = [
            int(r) for r in os.environ.get("BENCH_ORDER_RATES", "250,500,1000").split(",")
        ]
        self.scan_rate = int(os.environ.get("BENCH_SCAN_RATE", "500"))
        self.days: list[str] = []
        self.figures: list[Figure] = []
        self.runs = 0
        self.baselines: dict[str, LoadResult] = {}
        """The healthz baseline of each load and rate, taken before its first run."""

    async def measure(self, api_processes: int, server_pid: int) -> None:
        if not self.days:
            self.days = await self._catalogue()
        await self._warm_up()
        await self._settled()
        say(f"tickets: idle for {self.seconds:g} s, {api_processes} API process(es)…")
        idle = await cpu.idle_burn({"API": server_pid, "worker": self.worker}, self.seconds)
        self.figures.append(
            Figure(
                "tickets",
                f"idle burn, {api_processes} API process(es): CPU per second",
                idle["total"],
                "ms/s",
                notes={"cpu_ms_per_s": idle, "seconds": self.seconds},
            )
        )

        async def orders(rate: int, run: int) -> Run:
            return await self._orders(rate, run, api_processes, server_pid)

        ladder = await climb(self.order_rates, orders, ORDER_BOUND_MS)
        for step in ladder.steps:
            headline = step.rate == 1000
            self.figures.append(
                _figure(
                    f"orders at {step.rate}/s, {api_processes} API process(es): p99 latency",
                    step,
                    self.baselines[f"orders-{step.rate}-api{api_processes}"],
                    target="p99 <= 100 ms at 1,000/s" if headline else None,
                    bound=ORDER_BOUND_MS if headline else None,
                )
            )
        self.figures.append(
            Figure(
                "tickets",
                f"highest order rate at p99 <= 100 ms, {api_processes} API process(es)",
                ladder.highest,
                "orders/s",
                target=">= 1,000 orders/s",
                met=ladder.highest >= 1000,
                notes={
                    "rates_tried": self.order_rates,
                    "decided_on": f"each rate's median run of up to {REPEATS}",
                },
            )
        )

        async def scans(rate: int, run: int) -> Run:
            return await self._scans(rate, run, api_processes, server_pid)

        step = (await climb([self.scan_rate], scans, SCAN_BOUND_MS)).steps[0]
        self.figures.append(
            _figure(
                f"gate scans at {self.scan_rate}/s, {api_processes} API process(es): p99 latency",
                step,
                self.baselines[f"scans-{self.scan_rate}-api{api_processes}"],
                target=f"p99 <= 20 ms at {self.scan_rate}/s",
                bound=SCAN_BOUND_MS,
            )
        )

    async def _catalogue(self) -> list[str]:
        """A day pass on sale today and the next two days, with room for every order."""
        today = fair_day(datetime.now(UTC))
        days = [(today + timedelta(days=n)).isoformat() for n in range(3)]
        product = {
            "product_code": "day-cncc",
            "kind": "day",
            "classes": ["public"],
            "price": 10000,
            "name_zh": "单日票",
            "name_en": "Day pass",
            "days": days,
            "venues": ["cncc"],
        }
        await self._ok("POST", f"/editions/{EDITION}/products", json=product)
        for day in days:
            quota = {"day": day, "venue": "cncc", "visitor_class": "public", "capacity": 10**6}
            await self._ok("PUT", f"/editions/{EDITION}/quotas", json=quota)
        return days

    async def _ok(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": self.box, "X-Correlation-ID": str(uuid.uuid4())}
        response = await self.client.request(method, path, headers=headers, **kw)
        response.raise_for_status()
        return response.json()

    async def _warm_up(self) -> None:
        """Orders from many clients at once, on new connections, on every day the runs use,
        so that every API process has its database pool open to its full size and the
        product and each quota shard folded, as a production process has: otherwise the
        first seconds of a run pay for opening connections and for folding every shard's
        history from the start (thousands of events once earlier runs have sold)."""
        buyers, _ = await self._visitors(WARM_UP_ORDERS, "bw")
        gate = asyncio.Semaphore(80)

        async def order(client: httpx.AsyncClient, n: int, visitor_id: str) -> None:
            day = self.days[n % len(self.days)]
            body = {"product_code": "day-cncc", "visitor_ids": [visitor_id], "day": day}
            async with gate:
                response = await client.post(
                    f"/editions/{EDITION}/orders",
                    json=body,
                    headers={"Authorization": self.box, "Connection": "close"},
                )
                response.raise_for_status()

        async with httpx.AsyncClient(
            base_url=str(self.client.base_url),
            timeout=60,
            limits=httpx.Limits(max_connections=WARM_UP_ORDERS),
        ) as client:
            await asyncio.gather(*(order(client, n, v) for n, v in enumerate(buyers)))

    async def _visitors(
        self, count: int, prefix: str, *, own_accounts: bool = False
    ) -> tuple[list[str], str]:
        """`count` approved public visitors, new to this run: their ids and their account (or
        accounts' prefix, `<account>-<n>`, with `own_accounts`)."""
        self.runs += 1
        label = f"{prefix}{self.runs}"
        account = f"bench-{label}"
        pool = await create_pool(self.database, min_size=1, max_size=2)
        try:
            store = EventStore(pool, registry)
            ids = await seed_visitors(
                store, count, account=account, prefix=label, own_accounts=own_accounts
            )
            return ids, account
        finally:
            await pool.close()

    async def _orders(self, rate: int, run: int, api_processes: int, server_pid: int) -> Run:
        """Each order is another visitor's, sent with their own account's token."""
        total = int(rate * self.seconds)
        buyers, account = await self._visitors(total, "bv", own_accounts=True)
        orders = [
            Request(
                "POST",
                f"/editions/{EDITION}/orders",
                {"product_code": "day-cncc", "visitor_ids": [visitor_id], "day": self.days[1]},
                headers={
                    "Authorization": f"Bearer {self.issuer.issue(f'{account}-{n}', ['visitor'])}",
                    "X-Correlation-ID": str(uuid.uuid4()),
                },
            )
            for n, visitor_id in enumerate(buyers)
        ]
        return await self._run(
            f"orders-{rate}-api{api_processes}", run, rate, orders,
            server_pid, ok_status=201, per="order",
        )  # fmt: skip

    async def _scans(self, rate: int, run: int, api_processes: int, server_pid: int) -> Run:
        """Tickets of today, bought and paid beforehand, each scanned once at one of eight
        gates."""
        total = int(rate * self.seconds)
        qrs = await self._todays_tickets(total)
        scans = [
            Request(
                "POST",
                f"/gates/cncc/east-{i % GATES}/check-ins",
                {"gate_id": f"g-{i % GATES}", "scan_id": f"s{self.runs}-{i}", "qr": qr},
                headers={"X-Correlation-ID": str(uuid.uuid4())},
            )
            for i, qr in enumerate(qrs)
        ]
        gate = f"Bearer {self.issuer.issue('bench-gate', ['gate'])}"
        return await self._run(
            f"scans-{rate}-api{api_processes}", run, rate, scans,
            server_pid, ok_status=200, per="scan", headers={"Authorization": gate},
        )  # fmt: skip

    async def _todays_tickets(self, count: int) -> list[str]:
        """`count` day passes for today, ordered by the box office ten visitors an order,
        paid through the dev provider's signed notification; their QR codes."""
        say(f"tickets: buying and paying {count} tickets for today's gates…")
        visitors, _ = await self._visitors(count, "bs")
        devpay = DevPay(self.settings.fairline_auth_secret)
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def buy(group: list[str]) -> list[str]:
            async with gate:
                body = {"product_code": "day-cncc", "visitor_ids": group, "day": self.days[0]}
                order = await self._ok("POST", f"/editions/{EDITION}/orders", json=body)
                note, signature = devpay.notify(order["order_id"], order["total"])
                response = await self.client.post(
                    "/payments/devpay/notifications",
                    content=note,
                    headers={"X-DevPay-Signature": signature, "Content-Type": "application/json"},
                )
                response.raise_for_status()
                paid = await self._ok("GET", f"/orders/{order['order_id']}")
                return [t["qr"] for t in paid["tickets"]]

        groups = [visitors[n : n + 10] for n in range(0, count, 10)]
        return [qr for qrs in await asyncio.gather(*(buy(g) for g in groups)) for qr in qrs]

    async def _run(
        self,
        load: str,
        run: int,
        rate: int,
        requests: list[Request],
        server_pid: int,
        *,
        ok_status: int,
        per: str,
        headers: dict[str, str] | None = None,
    ) -> Run:
        """On the settled service: the healthz baseline at `rate` (before the first run of
        `load` only), then the load. CPU and statements are counted until the worker has
        applied what the load wrote."""
        await self._settled()
        if load not in self.baselines:
            say(f"tickets: healthz at {rate}/s, the baseline of {load}…")
            self.baselines[load] = await open_loop(
                self.base_url, {}, rate, self.seconds, [Request("GET", "/healthz")] * len(requests)
            )
        kind, _, api_processes = load.split("-")
        count = api_processes.removeprefix("api")
        say(f"tickets: {len(requests)} {kind} at {rate}/s, {count} API process(es), run {run}…")
        sql_before = await self._statements()
        before = cpu.snapshot(server_pid, self.worker)
        api_before = cpu.snapshot(server_pid)["service"]
        with _profiled(f"{load}-run{run}", self.seconds, api=server_pid, worker=self.worker):
            result = await open_loop(self.base_url, headers or {}, rate, self.seconds, requests)
        api_after = cpu.snapshot(server_pid)["service"]
        await self._settled()
        spent = cpu.per_request_ms(before, cpu.snapshot(server_pid, self.worker), len(requests))
        sql_after = await self._statements()
        api = round((api_after - api_before) * 1000 / len(requests), 2)
        spent["of which API"] = api
        spent["of which worker"] = round(spent.get("service", 0.0) - api, 2)
        summary = result.summary()
        sent = sum(result.statuses.values())
        all_ok = result.statuses.get(ok_status, 0) == sent and not result.errors
        if sql_before is None or sql_after is None:
            sql: dict[str, Any] | str = self.no_statements or "no statement figures"
        else:
            sql = statements.per_request(sql_before, sql_after, len(requests))
        return Run(
            summary["p99_ms"],
            all_ok,
            {**summary, f"cpu_ms_per_{per}": spent, f"postgresql_per_{per}": sql},
        )

    async def _statements(self) -> statements.Snapshot | None:
        if self.no_statements:
            return None
        return await statements.snapshot(self.server_url, self.database.rsplit("/", 1)[-1])

    async def _settled(self) -> None:
        """Until the relay has sent every committed event and every read model has applied
        every record of the topic (only this service's events are on it)."""
        await settled(self.database, self.topic, definition.projections)


@contextlib.contextmanager
def _profiled(name: str, seconds: float, **pids: int) -> Iterator[None]:
    """With BENCH_PROFILE=<dir>, py-spy samples each process tree while the load runs."""
    with sampling({f"tickets-{name}-{part}": pid for part, pid in pids.items()}, seconds):
        yield


def _figure(
    name: str,
    step: Step,
    baseline: LoadResult,
    *,
    target: str | None,
    bound: float | None,
) -> Figure:
    """A rate's median run beside the healthz baseline at the same rate."""
    return Figure(
        "tickets",
        name,
        step.median.p99_ms,
        "ms",
        baseline_name="GET /healthz p99 ms, same rate, just before",
        baseline=baseline.summary()["p99_ms"],
        target=target,
        met=step.within(bound) if bound is not None else None,
        notes=step.notes(),
    )


if __name__ == "__main__":  # a quick look: python -m bench.tickets
    from fairline_stack.resolve import infrastructure

    async def _main() -> None:
        for figure in await bench_tickets(await infrastructure(), 0.2):
            print(figure)

    asyncio.run(_main())
