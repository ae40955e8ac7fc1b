"""A package's hotel rooms, through the hotels service and back, over Kafka: confirmed by a
block (the deliverable turns delivered with the block as proof), or refused (failed, with the
hotels service's own reason on the sponsor's checklist)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from hotels.service import definition as hotels_definition
from support.serving import serving
from support.waiting import eventually

from .conftest import Api, day

pytestmark = pytest.mark.infra

CONTRACT = {"contract_no": "SP-1", "instalments": [
    {"due_on": "2021-07-01", "amount_fen": 500_000_000}]}  # fmt: skip


@pytest.fixture
async def hotels(settings: ServiceSettings) -> AsyncIterator[Any]:
    """The hotels service beside sponsorship, on the same topics: a hotel with 30 standard
    rooms allotted for the fair's first three nights."""
    app = build_app(hotels_definition, settings)
    issuer = app.state.token_issuer
    ops = {"Authorization": f"Bearer {issuer.issue('ops-1', ['ops'])}"}
    desk = {"Authorization": f"Bearer {issuer.issue('desk-1', ['hotel_desk'])}"}
    async with serving(app, max_connections=50) as client:
        hotel = {"hotel_code": "cncc-grand", "name_zh": "国家会议中心大酒店",
                 "name_en": "CNCC Grand Hotel", "room_types": {"standard": 300}}  # fmt: skip
        assert (await client.post("/hotels", json=hotel, headers=ops)).status_code == 201
        allotment = {"room_type": "standard", "first_night": day(0), "last_night": day(2),
                     "rooms": 30, "rate": 800}  # fmt: skip
        answer = await client.put("/hotels/cncc-grand/allotments", json=allotment, headers=desk)
        assert answer.status_code == 200, answer.text
        yield app.state.runtime


async def _package_asking_rooms(api: Api, sponsor: str, category: str) -> str:
    offered = await api.offer(tier_code="strategic-partner", sponsor_id=sponsor,
                              sponsor_name=sponsor.upper(), category=category)  # fmt: skip
    assert offered.status_code == 201, offered.text
    pid = str(offered.json()["package_id"])
    await api.ok("POST", f"/packages/{pid}/contract", "team", json=CONTRACT)
    stay = {"hotel_code": "cncc-grand", "room_type": "standard", "first_night": day(0),
            "last_night": day(2)}  # fmt: skip
    # benefit 2 of the strategic partner tier: 20 hotel rooms
    await api.ok("POST", f"/packages/{pid}/benefits/2/request", "team", json={"stay": stay})
    return pid


async def _rooms(api: Api, pid: str, sponsor: str, standing: str) -> dict[str, Any]:
    async def probe() -> Any:
        return await api.read(f"/packages/{pid}/checklist", sponsor)

    checklist = await eventually(
        probe,
        lambda c: c is not None and c["items"][1]["standing"] == standing,
        within=60,
        what=f"hotel rooms {standing}",
    )
    return dict(checklist["items"][1])


async def test_hotel_rooms_confirmed_by_a_block_and_refused_with_the_hotels_reason(
    api: Api, hotels: Any
) -> None:
    first = await _package_asking_rooms(api, "icbc", "banking")
    delivered = await _rooms(api, first, "icbc", "delivered")
    assert delivered["kind"] == "hotel_rooms" and delivered["quantity"] == 20
    assert f"sponsorship:{first}:2" in delivered["note"] and "20 standard" in delivered["note"]

    # 10 rooms are left a night: the second sponsor's 20 are refused by the hotels service
    second = await _package_asking_rooms(api, "huawei", "telecoms")
    failed = await _rooms(api, second, "huawei", "failed")
    assert failed["note"] == "not enough free rooms in inventory for the block"  # hotels' words

    # one block for the two requests: the refused one left nothing behind at the hotel
    blocks = await hotels.pool.fetchval(
        "SELECT count(DISTINCT stream_id) FROM events WHERE stream_id LIKE 'block-sponsorship:%'"
    )
    assert blocks == 1
