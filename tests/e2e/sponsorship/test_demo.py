"""The demo edition's tiers and placements load, and loading them again writes nothing."""

from __future__ import annotations

import pytest
from sponsorship.demo import load_demo
from support.waiting import eventually

from .conftest import Api

pytestmark = pytest.mark.infra


async def test_the_demo_tiers_and_placements_load_once(api: Api) -> None:
    assert await load_demo(api.runtime) >= 8  # the yaml's terms over the test's set-up
    assert await load_demo(api.runtime) == 0
    tiers = await eventually(
        lambda: api.runtime.pool.fetch(
            "SELECT tier_code, exclusivity FROM proj_sponsorship_desk.tiers"
            " WHERE edition_code = 'ciftis-2021' ORDER BY price_fen DESC"
        ),
        lambda rows: len(rows) == 4,  # two of them also in the test set-up
        within=30,
        what="the demo tiers",
    )
    codes = [r["tier_code"] for r in tiers]
    assert {"strategic-partner", "platinum", "gold", "designated-supplier"} <= set(codes)
    calendar = await eventually(
        lambda: api.ok(
            "GET", "/editions/ciftis-2021/inventory?first_day=2021-09-02&last_day=2021-09-02",
            "team",
        ),
        lambda rows: len(rows) == 6,  # the yaml's six placements (one also in the set-up)
        within=30,
        what="the demo placements in the calendar",
    )  # fmt: skip
    channels = {r["channel"] for r in calendar}
    assert channels == {"website", "mini-program", "on-site"}
