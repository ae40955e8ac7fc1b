"""The sponsorship service under uvicorn, with its relay, read model and expiry job, against
the real broker and database; tokens for the team, a sponsor and an ad server; an edition
with tiers and placements set up."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from sponsorship.service import definition
from support.api import RoleApi
from support.serving import serving

EDITION = "ciftis-2021"
FAIR = date(datetime.now(UTC).year + 1, 9, 2)


def day(n: int) -> str:
    """Day `n` of the test fair (0 is FAIR), as the API takes it."""
    return (FAIR + timedelta(days=n)).isoformat()


TIERS = {
    "strategic-partner": {"name": "strategic partner", "quantity": 5, "exclusivity": "edition",
                          "price_fen": 500_000_000,
                          "benefits": [{"kind": "logo", "detail": "main backdrop"},
                                       {"kind": "hotel_rooms", "quantity": 20}]},
    "gold": {"name": "gold", "quantity": 3, "price_fen": 80_000_000,
             "benefits": [{"kind": "logo"}, {"kind": "tickets", "quantity": 20}]},
}  # fmt: skip

PLACEMENTS = {
    "home-banner": {"channel": "website", "name": "home banner", "price_per_day_fen": 8_000_000},
    "home-carousel": {"channel": "mini-program", "name": "home carousel", "kind": "shared",
                      "shares": 3, "price_per_day_fen": 2_000_000},
}  # fmt: skip


class Api(RoleApi):
    def identity(self, who: str) -> tuple[str, list[str]]:
        """`team` or `sales-<n>` (the commercial team), `ads` (an ad server), or a sponsor's
        id for that sponsor."""
        if who == "team" or who.startswith("sales-"):
            return who, ["sponsorship_team"]
        if who == "ads":
            return "ad-server-1", ["ad_server"]
        return who, ["sponsor"]

    async def read(self, path: str, who: str) -> Any:
        """A read model's answer, or None while it has not caught up (404)."""
        response = await self.call("GET", path, who)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, f"GET {path}: {response.text}"
        return response.json()

    async def event_count(self) -> int:
        return int(await self.runtime.pool.fetchval("SELECT count(*) FROM events"))

    async def set_up(self) -> None:
        for code, tier in TIERS.items():
            await self.ok("PUT", f"/editions/{EDITION}/tiers/{code}", "team", json=tier)
        for code, placement in PLACEMENTS.items():
            await self.ok("PUT", f"/editions/{EDITION}/placements/{code}", "team", json=placement)

    def offer(self, who: str = "team", **kw: Any) -> Any:
        body = {"tier_code": "gold", "sponsor_id": "icbc", "sponsor_name": "ICBC",
                "category": "banking"} | kw  # fmt: skip
        return self.call("POST", f"/editions/{EDITION}/packages", who, json=body)

    def hold(self, who: str = "team", **kw: Any) -> Any:
        body = {"placement_code": "home-banner", "sponsor_id": "icbc",
                "first_day": day(0), "last_day": day(2)} | kw  # fmt: skip
        return self.call("POST", f"/editions/{EDITION}/bookings", who, json=body)


@pytest.fixture
async def api(settings: ServiceSettings) -> AsyncIterator[Api]:
    app = build_app(definition, settings)
    async with serving(app, max_connections=300) as client:
        api = Api(client, app)
        await api.set_up()
        yield api
