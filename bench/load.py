"""An open-loop HTTP load generator: requests leave on a fixed schedule, whatever came back.

Latency is measured from each request's scheduled start, so a slow server shows up as
queueing delay instead of silently lowering the offered rate (coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from .common import percentile


@dataclass
class LoadResult:
    rate: float
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0
    shed: int = 0
    """Requests not sent because too many were already waiting: the server was saturated."""

    @property
    def sent(self) -> int:
        return sum(self.statuses.values()) + self.errors + self.shed

    def summary(self) -> dict[str, Any]:
        return {
            "offered_per_s": self.rate,
            "achieved_per_s": round(self.sent / self.seconds, 1),
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p95_ms": round(percentile(self.latencies_ms, 95), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
            "statuses": dict(self.statuses),
            "transport_errors": self.errors,
            "not_sent_saturated": self.shed,
        }


async def open_loop(
    client: httpx.AsyncClient,
    rate: float,
    seconds: float,
    request: Callable[[int], tuple[str, str, dict[str, Any] | None]],
    max_waiting: int = 500,
) -> LoadResult:
    """Send `request(i)` (method, path, json) at `rate` per second for `seconds`.

    Once `max_waiting` requests are outstanding the server is saturated; further requests
    are counted as not sent rather than queued in the client, which would only measure the
    client's own queue.
    """
    result = LoadResult(rate, seconds)
    total = int(rate * seconds)
    start = time.perf_counter() + 0.05

    async def one(i: int, scheduled: float) -> None:
        method, path, body = request(i)
        try:
            response = await client.request(method, path, json=body)
            result.statuses[response.status_code] += 1
        except httpx.HTTPError:
            result.errors += 1
            return
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)

    # Each request starts as its time comes, not all at once: thousands of waiting
    # coroutines would make the generator, not the server, the bottleneck.
    running: set[asyncio.Task[None]] = set()
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(running) >= max_waiting:
            result.shed += 1
            continue
        task = asyncio.create_task(one(i, scheduled))
        running.add(task)
        task.add_done_callback(running.discard)
    await asyncio.gather(*running)
    return result
