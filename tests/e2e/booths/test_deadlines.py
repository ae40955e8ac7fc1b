"""Deadlines that fire on their own: hold expiry (across a restart) and the waitlist's
claim window, first in line first."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from e2e.booths.harness import (
    EDITION,
    Api,
    ExhibitorFeed,
    add_booths,
    admitted,
    open_edition,
    running,
)
from fairline_events.settings import ServiceSettings
from support.serving import free_port
from support.waiting import eventually

pytestmark = pytest.mark.infra

E = f"/editions/{EDITION}"


async def booth(api: Api, code: str) -> Any:
    return await api.ok("GET", f"{E}/booths/{code}", "sales")


async def test_a_hold_expires_on_its_own_even_when_the_service_was_down(
    settings: ServiceSettings,
) -> None:
    port = free_port()
    async with running(settings, port) as api:
        await open_edition(api, hold_ttl_seconds=3)
        await add_booths(api, "E1", ["E1-101", "E1-102"])
        await ExhibitorFeed(settings).approve("huawei")
        await admitted(api, 1)
        held = await api.ok(
            "POST", f"{E}/booths/E1-101/hold", "sales", json={"exhibitor_id": "huawei"}
        )
        assert held["status"] == "held"
        # the hold must reach the floor plan (where the job finds due holds) before the stop
        await eventually(
            lambda: api.ok("GET", f"{E}/halls/E1/floor-plan", "sales"),
            lambda p: any(b["status"] == "held" for b in p["booths"]),
            within=10,
            what="the hold on the floor plan",
        )
    await asyncio.sleep(4)  # the hold runs out while no process is running

    async with running(settings, port) as api:
        after = await eventually(
            lambda: booth(api, "E1-101"),
            lambda b: b["status"] == "free",
            within=15,
            what="the hold expired after the restart",
        )
        assert after["holder"] is None
        history = await api.ok("GET", f"{E}/booths/E1-101/history", "sales")
        assert [h["event_type"] for h in history][-1] == "booths.HoldExpired"
        assert history[-1]["actor"] == "system:hold-expiry"
        # the account lists holds from the floor plan, which follows the events within moments
        account = await eventually(
            lambda: api.ok("GET", "/exhibitors/huawei/account", "sales"),
            lambda a: a["holds"] == [],
            within=10,
            what="the expired hold off the account",
        )
        assert account["holds"] == []
        # the freed allowance is usable again at once
        again = await api.ok(
            "POST", f"{E}/booths/E1-102/hold", "sales", json={"exhibitor_id": "huawei"}
        )
        assert again["status"] == "held"


async def test_a_released_booth_goes_to_the_waitlist_in_order_with_a_claim_window(
    settings: ServiceSettings,
) -> None:
    async with running(settings) as api:
        await open_edition(api, claim_window_seconds=3)
        await add_booths(api, "E1", ["E1-101"])
        await ExhibitorFeed(settings).approve("huawei", "jd", "baidu")
        await admitted(api, 3)
        await api.ok("POST", f"{E}/booths/E1-101/hold", "sales", json={"exhibitor_id": "huawei"})
        for exhibitor in ["jd", "baidu"]:
            await api.ok(
                "POST",
                f"{E}/zones/digital-trust/waitlist",
                f"user:{exhibitor}-staff",
                json={"exhibitor_id": exhibitor},
            )
        twice = await api.call(
            "POST", f"{E}/zones/digital-trust/waitlist", "sales", json={"exhibitor_id": "jd"}
        )
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_waiting"

        released = await api.ok(
            "POST", f"{E}/booths/E1-101/release", "user:huawei-staff", json={"reason": "smaller"}
        )
        assert (released["status"], released["holder"]) == ("offered", "jd")
        line = await api.ok("GET", f"{E}/zones/digital-trust/waitlist", "sales")
        assert line["line"] == ["baidu"]
        jumped = await api.call(
            "POST", f"{E}/booths/E1-101/hold", "user:baidu-staff", json={"exhibitor_id": "baidu"}
        )
        assert jumped.status_code == 409 and jumped.json()["error"]["code"] == "booth_unavailable"

        # JD lets the claim window pass: the offer lapses to Baidu, who claims it
        offered = await eventually(
            lambda: booth(api, "E1-101"),
            lambda b: b["holder"] == "baidu",
            within=15,
            what="the offer passed on to the next in line",
        )
        assert offered["status"] == "offered"
        late = await api.call("POST", f"{E}/booths/E1-101/claim", "user:jd-staff")
        assert late.status_code == 403, late.text
        claimed = await api.ok("POST", f"{E}/booths/E1-101/claim", "user:baidu-staff")
        assert (claimed["status"], claimed["holder"]) == ("held", "baidu")
        history = await api.ok("GET", f"{E}/booths/E1-101/history", "sales")
        assert [h["event_type"].removeprefix("booths.") for h in history] == [
            "BoothAdded",
            "BoothHeld",
            "HoldReleased",
            "BoothOffered",
            "OfferLapsed",
            "BoothOffered",
            "BoothHeld",
        ]
