"""Cut-off releases happen on their own, and a cut-off that passed while the service was down
is honoured when it comes back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from fairline_events.settings import ServiceSettings
from support.waiting import eventually

from .conftest import night, running

pytestmark = pytest.mark.infra


async def test_a_cut_off_that_passed_while_the_service_was_down_releases_on_restart(
    settings: ServiceSettings,
) -> None:
    async with running(settings) as api:
        await api.hotel()
        await api.allot(20, 1, 3)
        start = datetime.now(UTC)
        parent = await api.ok(
            "POST",
            "/hotels/cncc-grand/blocks",
            "desk",
            json={
                "group": "delegation",
                "name": "Delegations",
                "first_night": night(1),
                "last_night": night(3),
                "rooms": {"standard": 10},
                "cut_off_at": (start + timedelta(seconds=9)).isoformat(),
            },
        )
        sub = await api.ok(
            "POST",
            f"/blocks/{parent['block_id']}/sub-blocks",
            "desk",
            json={
                "name": "Singapore delegation",
                "planner": "planner-sg",
                "first_night": night(1),
                "last_night": night(3),
                "rooms": {"standard": 4},
                "cut_off_at": (start + timedelta(seconds=8)).isoformat(),
            },
        )
        booked = await api.book(1, 3, "planner_sg", block_id=sub["block_id"])
        assert booked.status_code == 201, booked.text
        await eventually(
            lambda: api.ok("GET", "/planner/blocks", "planner_sg"),
            lambda blocks: [b["block_id"] for b in blocks] == [sub["block_id"]],
            what="the planner's view showing the sub-block",
        )
        database_url = api.runtime.database_url
    # The service is down. Nothing was released before it stopped…
    conn = await asyncpg.connect(database_url)
    try:
        assert not await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'hotels.BlockReleased'"
        )
        # …and the cut-offs pass while it is down.
        await asyncio.sleep(
            max(0.0, (start + timedelta(seconds=9.5) - datetime.now(UTC)).total_seconds())
        )
        assert not await conn.fetchval(
            "SELECT count(*) FROM events WHERE event_type = 'hotels.BlockReleased'"
        )
    finally:
        await conn.close()

    async with running(settings) as api:
        released = await eventually(
            lambda: api.ok("GET", f"/blocks/{parent['block_id']}", "desk"),
            lambda b: b["status"] == "released",
            within=30,
            what="the parent block released after the restart",
        )
        assert released["status"] == "released"
        assert (await api.ok("GET", f"/blocks/{sub['block_id']}", "desk"))["status"] == "released"
        # The sub-block gave its 3+3+4 unbooked room-nights to the parent; the parent gave all
        # it did not book (30 held, 2 booked in the sub-block) back to general inventory.
        sub_pickup = await eventually(
            lambda: api.ok("GET", f"/blocks/{sub['block_id']}/pickup", "planner_sg"),
            lambda p: p["released"] == 10,
            what="the sub-block's released room-nights",
        )
        assert (sub_pickup["contracted"], sub_pickup["picked_up"]) == (12, 2)
        parent_pickup = await eventually(
            lambda: api.ok("GET", f"/blocks/{parent['block_id']}/pickup", "desk"),
            lambda p: p["released"] == 28,
            what="the parent's released room-nights",
        )
        assert (parent_pickup["contracted"], parent_pickup["picked_up"]) == (30, 2)
        occupancy = await eventually(
            lambda: api.ok("GET", "/occupancy?hotel_code=cncc-grand", "desk"),
            lambda rows: [r["general_free"] for r in rows] == [19, 19, 20],
            what="the released rooms back in general inventory",
        )
        assert [r["booked"] for r in occupancy] == [1, 1, 0]
        late = await api.book(1, 2, "planner_sg", block_id=sub["block_id"])
        assert (late.status_code, late.json()["error"]["code"]) == (409, "block_released")
        assert (await api.book(1, 2)).status_code == 201, "general inventory has the rooms"
        actors = await api.runtime.pool.fetch(
            "SELECT actor FROM events WHERE event_type = 'hotels.BlockReleased'"
        )
        assert {r["actor"] for r in actors} == {"system:cut-off"}
