"""Forums: 300 registrations at once for one 100-seat forum, and the published agenda of an
edition with 500 forums under 500 reads/s.

The forums service runs as in production (its API and its worker, two processes); the load
comes from vegeta.
Baselines: the registrations beside the same 300 seat claims done directly in PostgreSQL
(an advisory lock, a count and an insert per claim: what the invariant costs without HTTP,
events or Python rules); the agenda beside `/healthz` at the same rate (the HTTP stack alone).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from fairline_events.auth import TokenIssuer
from fairline_events.db import drop_database
from fairline_stack.resolve import Infra

from . import cpu
from .common import Figure, Served, say, scratch, scratch_database, service_settings
from .flame import profiled
from .load import Request, ensure_vegeta, open_loop, read_load

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.serving import ready
from support.waiting import eventually

PORT = 18603
EDITION = "ciftis-bench"
DAYS, ROOMS, SLOTS = 6, 12, 7  # 504 forums: 7 one-hour slots a day in 12 rooms for 6 days
FAIR = date(datetime.now(UTC).year + 1, 9, 2)


def _at(day: int, hour: int) -> str:
    moment = datetime.combine(FAIR + timedelta(days=day), clock_time(hour), tzinfo=UTC) - timedelta(
        hours=8
    )  # local (UTC+8) hours
    return moment.isoformat()


async def bench_forums(infra: Infra, scale: float) -> list[Figure]:
    ensure_vegeta()
    unique = scratch()
    settings = service_settings(infra, unique)
    server = Served("forums", settings, PORT)
    issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-forums")
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    team = {"Authorization": f"Bearer {issuer.issue('bench-team', ['forums_team'])}"}
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{PORT}", timeout=60, limits=limits, headers=team
        ) as client:
            await eventually(lambda: ready(client), bool, within=60, what="the forums service")
            figures = await _registrations(client, issuer, infra, server.pids)
            figures += await _agenda(client, issuer, scale, server.pids)
            return figures
    finally:
        server.stop()
        await drop_database(settings.service_database_url("forums"))


async def _ok(response: Any) -> Any:
    result = await response
    if result.status_code not in (200, 201):
        raise RuntimeError(f"{result.request.method} {result.request.url}: {result.text}")
    return result.json()


async def _set_up(client: httpx.AsyncClient) -> None:
    for n in range(ROOMS + 1):  # the last one for the registration race
        venue = "cncc" if n % 3 else "shougang"
        room = {
            "room_code": f"room-{n:02}",
            "venue": venue,
            "name_zh": f"{n}号厅",
            "name_en": f"Room {n}",
            "capacity": 100,
            "setup_buffer_minutes": 0,
        }
        await _ok(client.post(f"/editions/{EDITION}/rooms", json=room))
    kind = {"name_zh": "专题论坛", "name_en": "themed forum", "default_minutes": 60}
    await _ok(client.put(f"/editions/{EDITION}/kinds/themed", json=kind))


async def _forum(client: httpx.AsyncClient, n: int, room: int, day: int, slot: int) -> str:
    proposal = {
        "forum_id": f"bf-{n:04}",
        "edition_code": EDITION,
        "kind": "themed",
        "title_zh": f"论坛{n}",
        "title_en": f"Forum {n}",
        "topics": ["fintech", "iot"][: 1 + n % 2],
        "language": "zh" if n % 3 else "en",
        "organiser": {"kind": "association", "name_zh": "协会", "name_en": "Association"},
        "speakers": [{"speaker_id": f"sp-{n:04}", "name": f"Speaker {n}"}],
    }
    forum_id = str((await _ok(client.post("/forums", json=proposal)))["forum_id"])
    await _ok(client.post(f"/forums/{forum_id}/approve", json={}))
    placement = {
        "format": "in_person",
        "room_code": f"room-{room:02}",
        "starts_at": _at(day, 9 + slot),
        "reason": "bench",
    }
    await _ok(client.post(f"/forums/{forum_id}/schedule", json=placement))
    await _ok(client.post(f"/forums/{forum_id}/publish", json={"reason": "bench"}))
    return forum_id


async def _registrations(
    client: httpx.AsyncClient, issuer: TokenIssuer, infra: Infra, server_pids: tuple[int, int]
) -> list[Figure]:
    await _set_up(client)
    forum = await _forum(client, 9999, ROOMS, 0, 0)
    people = [f"person-{i:03}" for i in range(300)]
    tokens = {p: f"Bearer {issuer.issue(p, ['visitor'])}" for p in people}
    # A service that has answered registrations before (its routes built on first use, its
    # pool's connections open): a few, at once, for another forum, by other people.
    other = await _forum(client, 9998, ROOMS, 0, 1)
    warm = [f"Bearer {issuer.issue(f'early-{i}', ['visitor'])}" for i in range(20)]
    await asyncio.gather(
        *(
            _ok(
                client.post(f"/forums/{other}/registrations", json={}, headers={"Authorization": t})
            )
            for t in warm
        )
    )
    say("forums: 300 registrations at once for one 100-seat forum…")
    # vegeta sends them within a quarter second, each once, a sender each (as the contention
    # of holds does): an httpx client with 300 requests in flight spent more CPU than the server
    rate = 1200
    attempts = [
        Request("POST", f"/forums/{forum}/registrations", {}, {"Authorization": tokens[p]})
        for p in people
    ]
    burst = len(people) / rate
    base = str(client.base_url).rstrip("/")
    before = cpu.snapshot(*server_pids)
    with profiled(server_pids[0], "forums-registrations", 3):
        result = await open_loop(
            base, {}, rate, burst, attempts, workers=len(attempts), each_once=True
        )
    cpu_per_registration = cpu.per_request_ms(before, cpu.snapshot(*server_pids), len(people))
    settled = result.last_answer_s
    # who got a seat and who waits, from the forums team's attendee list
    listed = await eventually(
        lambda: client.get(f"/forums/{forum}/attendees"),
        lambda r: r.status_code == 200 and len(r.json()) >= result.statuses.get(201, 0),
        within=60,
        what="the attendees listed",
    )
    standings = [a["standing"] for a in listed.json()]
    baseline = await _raw_seat_claims(infra.database_url, len(people), 100)
    registered, waitlisted = standings.count("registered"), standings.count("waitlisted")
    return [
        Figure(
            "forums",
            "300 registrations for 100 seats: time to settle",
            settled,
            "s",
            baseline_name="raw seat claims in PostgreSQL, s",
            baseline=baseline,
            target="<= 1 s; exactly 100 registered, 200 waitlisted",
            met=settled <= 1.0 and (registered, waitlisted) == (100, 200),
            notes={
                "registered": registered,
                "waitlisted": waitlisted,
                "statuses": dict(result.statuses),
                "transport_errors": dict(result.errors),
                "p50_ms": result.summary()["p50_ms"],
                "generator_lag_p99_ms": result.summary()["generator_lag_p99_ms"],
                "cpu_ms_per_registration": cpu_per_registration,
            },
        )
    ]


async def _raw_seat_claims(server_url: str, claims: int, seats: int) -> float:
    """The same race with nothing but PostgreSQL: lock, count, insert, per claim."""
    async with scratch_database(server_url, "forums_seats") as (_, pool):
        await pool.execute("CREATE TABLE seats (person text PRIMARY KEY, seated boolean)")

        async def claim(n: int) -> None:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(42)")
                taken = await conn.fetchval("SELECT count(*) FROM seats WHERE seated")
                await conn.execute("INSERT INTO seats VALUES ($1, $2)", f"p{n}", taken < seats)

        started = time.perf_counter()
        await asyncio.gather(*(claim(n) for n in range(claims)))
        return time.perf_counter() - started


async def _agenda(
    client: httpx.AsyncClient, issuer: TokenIssuer, scale: float, server_pids: tuple[int, int]
) -> list[Figure]:
    say(f"forums: scheduling and publishing {DAYS * ROOMS * SLOTS} forums…")
    slots = [(d, r, s) for d in range(DAYS) for r in range(ROOMS) for s in range(SLOTS)]
    for start in range(0, len(slots), 12):  # a few at a time: set-up, not the measure
        await asyncio.gather(
            *(
                _forum(client, n, r, d, s)
                for n, (d, r, s) in enumerate(slots[start : start + 12], start)
            )
        )
    visitor = {"Authorization": f"Bearer {issuer.issue('bench-visitor', ['visitor'])}"}
    await eventually(
        lambda: client.get(f"/editions/{EDITION}/agenda", headers=visitor),
        lambda r: r.status_code == 200 and len(r.json()) == len(slots) + 2,
        within=120,
        what="the 500 forums on the agenda",
    )
    seconds = max(2.0, 10 * scale)
    rate = 500
    total = int(rate * seconds)
    days = [(FAIR + timedelta(days=d)).isoformat() for d in range(DAYS)]
    # what a visitor browses: a day, a day at a venue, a topic, a language, the whole agenda
    queries = [f"?day={d}" for d in days] + [
        f"?day={days[0]}&venue=cncc",
        "?topic=fintech",
        "?language=en&kind=themed",
        "",
    ]
    reads = [
        Request("GET", f"/editions/{EDITION}/agenda{queries[i % len(queries)]}")
        for i in range(total)
    ]
    base = str(client.base_url).rstrip("/")
    say(f"forums: {total} agenda reads at {rate}/s (open loop, vegeta)…")
    load = await read_load(base, visitor, rate, seconds, reads, server_pids=server_pids,
                           profile=f"forums-agenda-{rate}")  # fmt: skip
    summary = load.notes
    ok = load.reads.statuses.get(200, 0)
    return [
        Figure(
            "forums",
            f"agenda of {len(slots) + 2} forums at {rate} reads/s: p99 latency",
            summary["p99_ms"],
            "ms",
            baseline_name="/healthz p99, ms",
            baseline=load.healthz.summary()["p99_ms"],
            target="p99 <= 50 ms at 500 reads/s",
            met=summary["p99_ms"] <= 50 and ok == total,
            notes=summary,
        )
    ]


__all__ = ["asyncpg", "bench_forums"]
