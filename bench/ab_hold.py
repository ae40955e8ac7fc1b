"""One booth hold through the booths ASGI app, in process: CPU per hold, for an A/B between
two checkouts on a shared box.

`<checkout>/.venv/bin/python bench/ab_hold.py <checkout>` opens an edition on a scratch
database and topics (the booths service in full, under uvicorn), then builds the API alone
(no relay, projections or jobs) and sends it AB_HOLDS holds (default 2,000) straight through
ASGI, AB_CONCURRENCY (default 8) at a time, after a warm-up. It prints one JSON line: this
process's CPU µs per hold (the app, asyncpg, no HTTP parsing: uvicorn's share is the same on
both sides), PostgreSQL's transactions per hold, the load average. AB_PROFILE=<file> records
the holds with cProfile, BENCH_PROFILE=<dir> with py-spy (`python -m bench.flame`). Not part
of `make bench`.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

root = sys.argv[1]
sys.path[0] = root  # not bench/: its modules would shadow the services' (forums)
sys.path.insert(0, str(Path(root) / "tests"))

from booths.service import definition  # noqa: E402
from e2e.booths.harness import EDITION  # noqa: E402
from fairline_events.service import build_app  # noqa: E402

from bench.ab_edition import booths_on_sale, scratch_booths  # noqa: E402
from bench.flame import sampling  # noqa: E402

SIDE = os.path.basename(root.rstrip("/"))
HOLDS = int(os.environ.get("AB_HOLDS", "2000"))
CONCURRENCY = int(os.environ.get("AB_CONCURRENCY", "8"))
WARM = 200
EXHIBITORS = (HOLDS + WARM) // 8 + 1


async def call(app: Any, path: str, token: str, body: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"authorization", token.encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def main() -> None:
    booths = [f"H-{n:05d}" for n in range(HOLDS + WARM)]
    exhibitors = [f"ax-{n:05d}" for n in range(EXHIBITORS)]
    async with scratch_booths("abh") as settings:
        token = await booths_on_sale(settings, booths, exhibitors)
        app = build_app(definition, settings, relay=False, projections=False, jobs=False)
        async with app.router.lifespan_context(app):
            pool = app.state.runtime.pool

            async def holds(numbers: range) -> list[int]:
                statuses: list[int] = []
                queue = list(numbers)

                async def one_by_one() -> None:
                    while queue:
                        n = queue.pop()
                        path = f"/editions/{EDITION}/booths/{booths[n]}/hold"
                        body = json.dumps({"exhibitor_id": exhibitors[n % EXHIBITORS]}).encode()
                        statuses.append(await call(app, path, token, body))

                await asyncio.gather(*(one_by_one() for _ in range(CONCURRENCY)))
                return statuses

            await holds(range(HOLDS, HOLDS + WARM))
            calls_before = await pool.fetchval(
                "SELECT sum(xact_commit) FROM pg_stat_database WHERE datname = current_database()"
            )
            profile = os.environ.get("AB_PROFILE")
            profiler = cProfile.Profile() if profile else None
            cpu, wall = time.process_time(), time.perf_counter()
            if profiler:
                profiler.enable()
            with sampling({f"ab-hold-{SIDE}": os.getpid()}, None, subprocesses=False):
                statuses = await holds(range(HOLDS))
            if profiler and profile:
                profiler.disable()
                profiler.dump_stats(profile)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            calls_after = await pool.fetchval(
                "SELECT sum(xact_commit) FROM pg_stat_database WHERE datname = current_database()"
            )
        ok = statuses.count(200)
        print(
            json.dumps(
                {
                    "side": SIDE,
                    "holds": HOLDS,
                    "ok": ok,
                    "statuses": {s: statuses.count(s) for s in set(statuses)},
                    "cpu_us_per_hold": round(cpu * 1e6 / HOLDS),
                    "wall_us_per_hold": round(wall * 1e6 / HOLDS),
                    "pg_transactions_per_hold": round(float(calls_after - calls_before) / HOLDS, 2),
                    "load": os.getloadavg()[0],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
