"""The invariant under load: a booth is never held by two exhibitors at once.

500 hold requests race for 50 booths through the HTTP API, ten exhibitors per booth, all at
once: exactly 50 holds win, the 450 others get a clean 409 with the error body, and the
floor plan, the booths' own streams and the exhibitors' accounts all agree.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from e2e.booths.harness import EDITION, ExhibitorFeed, add_booths, admitted, open_edition, running
from fairline_events.settings import ServiceSettings
from support.waiting import eventually

pytestmark = pytest.mark.infra

BOOTHS = [f"E1-{n:03d}" for n in range(1, 51)]
EXHIBITORS = [f"ex-{n:03d}" for n in range(500)]


async def test_500_concurrent_holds_on_50_booths_give_50_holds_and_450_clean_conflicts(
    settings: ServiceSettings,
) -> None:
    async with running(settings) as api:
        await open_edition(api, max_concurrent_holds=1)
        await add_booths(api, "E1", BOOTHS)
        await ExhibitorFeed(settings).approve(*EXHIBITORS)
        await admitted(api, len(EXHIBITORS), within=60)

        async def attempt(i: int) -> tuple[str, int, str | None, str | None]:
            exhibitor, booth = EXHIBITORS[i], BOOTHS[i % len(BOOTHS)]
            response = await api.call(
                "POST",
                f"/editions/{EDITION}/booths/{booth}/hold",
                f"user:{exhibitor}-staff",
                json={"exhibitor_id": exhibitor},
            )
            body = response.json()
            code = body["error"]["code"] if "error" in body else None
            return booth, response.status_code, code, body.get("holder")

        started = time.monotonic()
        results = await asyncio.gather(*(attempt(i) for i in range(len(EXHIBITORS))))
        elapsed = time.monotonic() - started

        statuses = Counter(status for _, status, _, _ in results)
        assert statuses == {200: 50, 409: 450}, statuses
        assert {code for _, status, code, _ in results if status == 409} <= {
            "booth_unavailable",
            "concurrency_conflict",
        }
        winners = {booth: holder for booth, status, _, holder in results if status == 200}
        assert sorted(winners) == BOOTHS, "some booth was held twice or not at all"
        assert len(set(winners.values())) == 50
        print(f"500 concurrent holds answered in {elapsed:.1f}s")

        def settled(plan: dict[str, object]) -> bool:
            booths = plan["booths"]
            assert isinstance(booths, list)
            return bool(sum(b["status"] == "held" for b in booths) == 50)

        plan = await eventually(
            lambda: api.ok("GET", f"/editions/{EDITION}/halls/E1/floor-plan", "sales"),
            settled,
            within=20,
            what="50 holds on the floor plan",
        )
        assert {b["booth_code"]: b["exhibitor_id"] for b in plan["booths"]} == winners
        for booth in BOOTHS[:5]:
            history = await api.ok("GET", f"/editions/{EDITION}/booths/{booth}/history", "sales")
            assert [h["event_type"] for h in history] == ["booths.BoothAdded", "booths.BoothHeld"]
