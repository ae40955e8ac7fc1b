"""A sales desk that holds a booth sees it on the floor plan on its very next read, when the
read sends back the hold's consistency token (issue 12: read your writes)."""

from __future__ import annotations

import asyncio

import httpx
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
from fairline_events.consistency import TOKEN_HEADER
from fairline_events.settings import ServiceSettings

pytestmark = pytest.mark.infra

E = f"/editions/{EDITION}"


async def read_with(api: Api, token: str) -> httpx.Response:
    """The floor plan as of `token`; a 503 (the read models are still catching up) is asked
    again after its Retry-After, as a client does."""
    for _ in range(20):
        read = await api.call(
            "GET", f"{E}/halls/E1/floor-plan", "sales", headers={TOKEN_HEADER: token}
        )
        if read.status_code != 503:
            assert read.status_code == 200, read.text
            return read
        assert read.json()["error"]["code"] == "not_yet_consistent"
        await asyncio.sleep(float(read.headers["Retry-After"]))
    raise AssertionError("the floor plan never caught up with the hold")


async def test_hold_then_the_floor_plan_with_the_token_shows_it_100_times_out_of_100(
    settings: ServiceSettings,
) -> None:
    async with running(settings) as api:
        await open_edition(api)
        await add_booths(api, "E1", ["E1-301"])
        await ExhibitorFeed(settings).approve("ex-ryw")
        await admitted(api, 1)
        seen = []
        for _ in range(50):
            for action, body, expected in (
                ("hold", {"exhibitor_id": "ex-ryw"}, "held"),
                ("release", {"reason": "the desk tries another layout"}, "free"),
            ):
                done = await api.call("POST", f"{E}/booths/E1-301/{action}", "sales", json=body)
                assert done.status_code == 200, done.text
                read = await read_with(api, done.headers[TOKEN_HEADER])
                [booth] = [b for b in read.json()["booths"] if b["booth_code"] == "E1-301"]
                seen.append(booth["status"] == expected)
        assert seen.count(True) == 100
