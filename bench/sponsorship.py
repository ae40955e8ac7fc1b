"""Sponsorship: impressions and clicks ingested in batches, and the public serving schedule
under 1,000 reads/s.

The sponsorship service runs as in production (its API and its worker, two processes); the
load comes from this one. Baselines: the ingest beside the raw aiokafka consumer reading as
many messages from the same broker (what merely receiving that many events costs, with no
dedup or counting); the serving schedule beside `/healthz` at the same rate (the HTTP stack
alone)."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fairline_events.auth import TokenIssuer
from fairline_events.db import drop_database
from fairline_events.kafka import ensure_topics
from fairline_stack.resolve import Infra

from . import cpu
from .common import Figure, Served, say, scratch, service_settings
from .core import raw_consumer, raw_producer
from .flame import profiled
from .load import Request, ensure_vegeta, read_load

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.serving import ready
from support.waiting import eventually

PORT = 18604
EDITION = "ciftis-bench"
FAIR = date(datetime.now(UTC).year + 1, 9, 2)
PLACEMENTS = 12
BATCH = 5_000
SENDERS = 4


async def bench_sponsorship(infra: Infra, scale: float) -> list[Figure]:
    ensure_vegeta()
    unique = scratch()
    settings = service_settings(infra, unique)
    server = Served("sponsorship", settings, PORT)
    issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-sponsorship")
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    team = {"Authorization": f"Bearer {issuer.issue('bench-desk', ['sponsorship_team'])}"}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORT}", timeout=120, limits=limits, headers=team
        ) as client:
            await eventually(lambda: ready(client), bool, within=60, what="the sponsorship service")
            bookings = await _set_up(client)
            figures = await _ingest(client, issuer, infra, bookings, unique, scale, server.pids)
            figures += await _serving(client, scale, server.pids)
            return figures
    finally:
        server.stop()
        await drop_database(settings.service_database_url("sponsorship"))


async def _ok(response: Any) -> Any:
    result = await response
    if result.status_code not in (200, 201):
        raise RuntimeError(f"{result.request.method} {result.request.url}: {result.text}")
    return result.json()


async def _set_up(client: httpx.AsyncClient) -> list[str]:
    """Twelve placements over three channels, each booked for the fair's six days with an
    approved creative: 72 lines on the schedule."""
    channels = ["website", "mini-program", "on-site"]
    bookings = []
    for n in range(PLACEMENTS):
        placement = {"channel": channels[n % 3], "name": f"placement {n}",
                     "price_per_day_fen": 1_000_000}  # fmt: skip
        await _ok(client.put(f"/editions/{EDITION}/placements/p-{n}", json=placement))
        hold = {
            "placement_code": f"p-{n}",
            "sponsor_id": f"sponsor-{n}",
            "first_day": FAIR.isoformat(),
            "last_day": (FAIR + timedelta(days=5)).isoformat(),
        }
        booking = str((await _ok(client.post(f"/editions/{EDITION}/bookings", json=hold)))
                      ["booking_id"])  # fmt: skip
        await _ok(client.post(f"/bookings/{booking}/confirm"))
        creative = {
            "image_url": f"https://cdn.example/{n}.png",
            "link_url": f"https://sponsor-{n}.example",
            "alt_text": f"Sponsor {n}",
        }
        await _ok(client.post(f"/bookings/{booking}/creatives", json=creative))
        await _ok(client.post(f"/bookings/{booking}/creatives/1/review",
                              json={"verdict": "approve"}))  # fmt: skip
        bookings.append(booking)
    return bookings


async def _ingest(
    client: httpx.AsyncClient, issuer: TokenIssuer, infra: Infra, bookings: list[str],
    unique: str, scale: float, server_pids: tuple[int, int],
) -> list[Figure]:  # fmt: skip
    total = max(BATCH * SENDERS, int(200_000 * scale) // (BATCH * SENDERS) * BATCH * SENDERS)
    ads = {"Authorization": f"Bearer {issuer.issue('bench-ads', ['ad_server'])}"}
    at = datetime.combine(FAIR, datetime.min.time(), UTC).isoformat()
    batches = [
        {"events": [{"event_id": str(uuid.uuid4()), "booking_id": bookings[i % len(bookings)],
                     "kind": "click" if i % 50 == 0 else "impression", "at": at}
                    for i in range(b * BATCH, (b + 1) * BATCH)]}
        for b in range(total // BATCH)
    ]  # fmt: skip
    say(f"sponsorship: {total} impressions and clicks in batches of {BATCH}, {SENDERS} senders…")
    queue = list(batches)

    async def sender() -> None:
        while queue:
            await _ok(client.post("/delivery/events", json=queue.pop(), headers=ads))

    before = cpu.snapshot(*server_pids)
    with profiled(server_pids[0], "sponsorship-ingest", 5):
        started = time.perf_counter()
        await asyncio.gather(*(sender() for _ in range(SENDERS)))
        rate = total / (time.perf_counter() - started)
    cpu_per_thousand = cpu.per_request_ms(before, cpu.snapshot(*server_pids), total // 1000)
    replayed = await _ok(client.post("/delivery/events", json=batches[0], headers=ads))
    topic = f"{unique}.raw-impressions"
    await ensure_topics(infra.kafka, [topic])
    await raw_producer(infra.kafka, topic, total)
    baseline = await raw_consumer(infra.kafka, topic, total)
    return [
        Figure(
            "sponsorship",
            f"impressions and clicks ingested ({total} in batches of {BATCH})",
            rate,
            "events/s",
            baseline_name="raw aiokafka consumer msgs/s",
            baseline=baseline,
            target=">= 20,000 events/s; a replayed batch counts nothing",
            met=rate >= 20_000 and replayed["counted"] == 0,
            notes={
                "replayed batch counted": replayed["counted"],
                "cpu_ms_per_1000_events": cpu_per_thousand,
            },
        )
    ]


async def _serving(
    client: httpx.AsyncClient, scale: float, server_pids: tuple[int, int]
) -> list[Figure]:
    last = (FAIR + timedelta(days=5)).isoformat()
    path = (
        f"/public/editions/{EDITION}/serving-schedule?first_day={FAIR.isoformat()}&last_day={last}"
    )
    await eventually(
        lambda: client.get(path),
        lambda r: r.status_code == 200 and len(r.json()) == PLACEMENTS * 6,
        within=120,
        what="the 72 lines of the serving schedule",
    )
    seconds = max(2.0, 10 * scale)
    rate = 1000
    total = int(rate * seconds)
    channels = ["", "&channel=website", "&channel=mini-program"]
    reads = [Request("GET", path + channels[i % 3]) for i in range(total)]
    base = str(client.base_url).rstrip("/")
    say(f"sponsorship: {total} serving-schedule reads at {rate}/s (open loop, vegeta)…")
    load = await read_load(base, {}, rate, seconds, reads, server_pids=server_pids,
                           profile=f"sponsorship-serving-{rate}")  # fmt: skip
    summary = load.notes
    ok = load.reads.statuses.get(200, 0)
    return [
        Figure(
            "sponsorship",
            f"public serving schedule ({PLACEMENTS * 6} lines) at {rate} reads/s: p99 latency",
            summary["p99_ms"],
            "ms",
            baseline_name="/healthz p99, ms",
            baseline=load.healthz.summary()["p99_ms"],
            target="p99 <= 20 ms at 1,000 reads/s",
            met=summary["p99_ms"] <= 20 and ok == total,
            notes=summary,
        )
    ]
