"""Ticket orders and gate scans over HTTP at fixed arrival rates, each beside a raw baseline
measured in the same run: the same server's `GET /healthz` at the same rate (what HTTP, the
event loop and the load generator cost before any rule, lock or write).

The tickets service runs in its own process, as in production; visitors are seeded as events
(the history a rush starts from), orders and scans go through the API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fairline_events.auth import TokenIssuer
from fairline_events.db import create_pool, drop_database
from fairline_events.settings import ServiceSettings
from fairline_events.store import EventStore
from fairline_stack.resolve import Infra

from . import cpu
from .common import Figure, say, service_settings
from .load import LoadResult, Request, ensure_vegeta, open_loop

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from e2e.tickets.conftest import seed_visitors  # the same seeding as the e2e tests
from support.serving import ready, start_service
from support.waiting import eventually
from tickets.domain.events import registry
from tickets.domain.values import fair_day

PORT = 18606
EDITION = "ciftis-2099"  # the seeding helper's edition


async def bench_tickets(infra: Infra, scale: float) -> list[Figure]:
    ensure_vegeta()
    unique = f"bencht{uuid.uuid4().hex[:6]}"
    settings = service_settings(infra, unique)
    server = start_service("tickets", settings, PORT, quiet=True)
    issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-tickets")
    tokens = {
        role: f"Bearer {issuer.issue(f'bench-{role}', [role])}"
        for role in ("visitor", "box_office", "gate")
    }
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORT}",
            timeout=60,
            limits=limits,
            headers={"X-Correlation-ID": str(uuid.uuid4())},
        ) as client:
            await eventually(lambda: ready(client), bool, within=60, what="the tickets service")
            return await _measure(client, settings, tokens, scale, server.pid)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
        await drop_database(settings.service_database_url("tickets"))


async def _setup(client: httpx.AsyncClient, box: str, capacity: int) -> list[str]:
    """A day pass on sale today and the next two days, a staff pass with re-entry."""
    today = fair_day(datetime.now(UTC))
    days = [(today + timedelta(days=n)).isoformat() for n in range(3)]
    products: list[dict[str, Any]] = [
        {"product_code": "day-cncc", "kind": "day", "classes": ["public"], "price": 10000},
        {
            "product_code": "staff",
            "kind": "multi_day",
            "classes": ["staff"],
            "price": 0,
            "reentry": True,
        },
    ]
    for p in products:
        body = {"name_zh": "票", "name_en": p["product_code"], "days": days, "venues": ["cncc"]}
        response = await client.post(
            f"/editions/{EDITION}/products", json=body | p, headers={"Authorization": box}
        )
        response.raise_for_status()
    for day in days:
        for cls in ("public", "staff"):
            quota = {"day": day, "venue": "cncc", "visitor_class": cls, "capacity": capacity}
            response = await client.put(
                f"/editions/{EDITION}/quotas", json=quota, headers={"Authorization": box}
            )
            response.raise_for_status()
    return days


async def _measure(
    client: httpx.AsyncClient,
    settings: ServiceSettings,
    tokens: dict[str, str],
    scale: float,
    server_pid: int,
) -> list[Figure]:
    seconds = max(2.0, 10 * scale)
    order_rates = [int(r) for r in os.environ.get("BENCH_ORDER_RATES", "250,500,1000").split(",")]
    scan_rate = int(os.environ.get("BENCH_SCAN_RATE", "500"))
    days = await _setup(client, tokens["box_office"], capacity=1_000_000)
    pool = await create_pool(settings.service_database_url("tickets"), min_size=1, max_size=4)
    try:
        store = EventStore(pool, registry)
        buyers = await seed_visitors(store, 2000, account="bench-visitor", prefix="bv")
        staff = await seed_visitors(
            store, 1000, account="bench-box_office", prefix="bs", cls="staff"
        )
    finally:
        await pool.close()

    figures: list[Figure] = []
    for rate in order_rates:
        total = int(rate * seconds)
        orders = [
            Request(
                "POST",
                f"/editions/{EDITION}/orders",
                {
                    "product_code": "day-cncc",
                    "visitor_ids": [buyers[i % len(buyers)]],
                    "day": days[1],
                },
            )
            for i in range(total)
        ]
        say(f"tickets: {total} orders at {rate}/s, then the healthz baseline…")
        before = cpu.snapshot(server_pid)
        headers = {"Authorization": tokens["visitor"], "X-Correlation-ID": str(uuid.uuid4())}
        result = await open_loop(f"http://127.0.0.1:{PORT}", headers, rate, seconds, orders)
        cpu_per_order = cpu.per_request_ms(before, cpu.snapshot(server_pid), total)
        baseline = await _baseline(rate, seconds)
        figures.append(
            _figure(
                f"orders at {rate}/s: p99 latency",
                result,
                baseline,
                201,
                target="p99 <= 100 ms at 1,000/s" if rate == 1000 else None,
                limit=100 if rate == 1000 else None,
                notes={"cpu_ms_per_order": cpu_per_order},
            )
        )

    say("tickets: issuing staff passes with re-entry for the gates…")
    box = {"Authorization": tokens["box_office"]}
    qrs: list[str] = []
    for n in range(0, len(staff), 10):
        order = {"product_code": "staff", "visitor_ids": staff[n : n + 10], "order_id": f"bs-{n}"}
        response = await client.post(f"/editions/{EDITION}/orders", json=order, headers=box)
        response.raise_for_status()
        qrs += [t["qr"] for t in response.json()["tickets"]]
    total = int(scan_rate * seconds)
    scans = [
        Request(
            "POST",
            f"/gates/cncc/east-{i % 8}/check-ins",
            {"gate_id": f"g-{i % 8}", "scan_id": f"s-{i}", "qr": qrs[i % len(qrs)]},
        )
        for i in range(total)
    ]
    say(f"tickets: {total} gate scans at {scan_rate}/s, then the healthz baseline…")
    before = cpu.snapshot(server_pid)
    headers = {"Authorization": tokens["gate"], "X-Correlation-ID": str(uuid.uuid4())}
    result = await open_loop(f"http://127.0.0.1:{PORT}", headers, scan_rate, seconds, scans)
    cpu_per_scan = cpu.per_request_ms(before, cpu.snapshot(server_pid), total)
    baseline = await _baseline(scan_rate, seconds)
    figures.append(
        _figure(
            f"gate scans at {scan_rate}/s: p99 latency",
            result,
            baseline,
            200,
            target=f"p99 <= 20 ms at {scan_rate}/s",
            limit=20,
            notes={"cpu_ms_per_scan": cpu_per_scan},
        )
    )
    return figures


async def _baseline(rate: int, seconds: float) -> LoadResult:
    health = [Request("GET", "/healthz")] * int(rate * seconds)
    return await open_loop(f"http://127.0.0.1:{PORT}", {}, rate, seconds, health)


def _figure(
    name: str,
    result: LoadResult,
    baseline: LoadResult,
    ok_status: int,
    *,
    target: str | None,
    limit: float | None,
    notes: dict[str, Any],
) -> Figure:
    summary = result.summary()
    sent = sum(result.statuses.values())
    all_ok = result.statuses.get(ok_status, 0) == sent and not result.errors
    return Figure(
        "tickets",
        name,
        summary["p99_ms"],
        "ms",
        baseline_name="GET /healthz p99 ms, same rate",
        baseline=baseline.summary()["p99_ms"],
        target=target,
        met=(summary["p99_ms"] <= limit and all_ok) if limit is not None else None,
        notes={**summary, **notes},
    )


if __name__ == "__main__":  # a quick look: python -m bench.tickets
    from fairline_stack.resolve import infrastructure

    async def _main() -> None:
        for figure in await bench_tickets(await infrastructure(), 0.2):
            print(figure)

    asyncio.run(_main())
