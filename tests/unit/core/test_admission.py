"""A saturated process answers 503 with Retry-After at once, instead of queueing for ever."""

from __future__ import annotations

import asyncio

import httpx
from fairline_events.api import create_app


async def test_past_the_limit_requests_get_a_quick_503_and_health_is_still_answered() -> None:
    app = create_app(title="t", description="t", version="1", max_in_flight=2)
    release, both_started = asyncio.Event(), asyncio.Event()
    started = 0

    @app.get("/slow")
    async def slow() -> dict[str, str]:
        nonlocal started
        started += 1
        if started == 2:
            both_started.set()
        await release.wait()
        return {"status": "done"}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        busy = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        await asyncio.wait_for(both_started.wait(), 10)

        refused = await client.get("/slow")
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["error"]["code"] == "overloaded"
        assert refused.json()["error"]["details"] == {"retry_after_seconds": 1}
        assert (await client.get("/healthz")).status_code == 200

        release.set()
        assert [r.status_code for r in await asyncio.gather(*busy)] == [200, 200]
        assert (await client.get("/slow")).status_code == 200  # room again
