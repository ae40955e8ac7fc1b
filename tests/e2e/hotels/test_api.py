"""The hotels API as its users meet it: the desk, operations, a delegation planner, a partner
hotel; clear refusals with machine-readable codes, and nothing a role should not see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hotels.domain.values import local_date
from support.waiting import eventually

from .conftest import Api, night

pytestmark = pytest.mark.infra


async def error(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return response.status_code, body["error"]["code"]


async def test_planners_desk_ops_and_partners_each_get_what_their_role_allows(api: Api) -> None:
    await api.hotel()
    assert await error(await api.call("POST", "/hotels", "desk", json={})) == (403, "missing_role")
    await api.allot(20, 1, 5)
    parent = await api.ok(
        "POST",
        "/hotels/cncc-grand/blocks",
        "desk",
        json={
            "group": "delegation",
            "name": "Delegations",
            "first_night": night(1),
            "last_night": night(5),
            "rooms": {"standard": 10},
            "cut_off_at": "2099-01-01T00:00:00+08:00",
        },
    )
    sub = {
        "name": "Singapore delegation",
        "planner": "planner-sg",
        "first_night": night(1),
        "last_night": night(3),
        "rooms": {"standard": 3},
        "cut_off_at": "2098-06-01T00:00:00+08:00",
    }
    sg = await api.ok("POST", f"/blocks/{parent['block_id']}/sub-blocks", "desk", json=sub)
    assert (sg["parent_block_id"], sg["group"], sg["hotel_code"]) == (
        parent["block_id"],
        "delegation",
        "cncc-grand",
    )

    # The planner books into their own sub-block, and nowhere else.
    mine = await api.book(
        1,
        3,
        "planner_sg",
        block_id=sg["block_id"],
        guest={"name": "Tan Wei Ming", "phone": "+65 6123 4567"},
    )
    assert mine.status_code == 201, mine.text
    booking = mine.json()
    assert booking["guest"] | {"guest_id": None} == {
        "guest_id": None,
        "erased": False,
        "name": "Tan Wei Ming",
        "phone": "+65 6123 4567",
        "id_document": None,
    }, "a planner sees their delegate's name and phone, never an ID number"
    assert await error(await api.book(1, 2, "planner_gb", block_id=sg["block_id"])) == (
        403,
        "not_your_block",
    )
    assert await error(await api.book(1, 2, "planner_sg")) == (403, "not_your_block")
    assert await error(await api.book(1, 2, "planner_sg", block_id=parent["block_id"])) == (
        403,
        "not_your_block",
    )
    assert await error(
        await api.call("GET", f"/bookings/{booking['booking_id']}", "planner_gb")
    ) == (403, "not_your_block")
    assert await error(
        await api.call("GET", f"/blocks/{sg['block_id']}/rooming-list", "planner_gb")
    ) == (403, "not_your_block")
    desk_view = await api.ok("GET", f"/bookings/{booking['booking_id']}", "desk")
    assert desk_view["guest"]["phone"] == "+65 6123 4567" and desk_view["guest"]["name"]

    # Sub-block full, the whole stay refused; outside its dates or types: refused with reasons.
    for _ in range(2):
        assert (await api.book(1, 3, "planner_sg", block_id=sg["block_id"])).status_code == 201
    status, code = await error(await api.book(2, 3, "planner_sg", block_id=sg["block_id"]))
    assert (status, code) == (409, "no_room")
    assert await error(await api.book(3, 5, "planner_sg", block_id=sg["block_id"])) == (
        422,
        "outside_block_dates",
    )
    assert await error(await api.book(1, 2, block_id=sg["block_id"], room_type="deluxe")) == (
        422,
        "room_type_not_in_block",
    )

    # Modify and cancel through the planner; the nights follow.
    changed = await api.ok(
        "PATCH",
        f"/bookings/{booking['booking_id']}",
        "planner_sg",
        json={"departure": night(2), "requests": ["twin_beds"]},
    )
    assert (changed["nights"], changed["requests"], changed["total"]) == (1, ["twin_beds"], 800)
    assert await error(
        await api.call("PATCH", f"/bookings/{booking['booking_id']}", "planner_sg", json={})
    ) == (422, "nothing_to_change")
    assert await error(
        await api.call(
            "PATCH",
            f"/bookings/{booking['booking_id']}",
            "desk",
            json={"arrival": night(3), "departure": night(2)},
        )
    ) == (422, "invalid_stay")
    assert (await api.book(2, 3, "planner_sg", block_id=sg["block_id"])).status_code == 201
    cancelled = await api.ok("POST", f"/bookings/{booking['booking_id']}/cancel", "planner_sg")
    assert (cancelled["status"], cancelled["total"]) == ("cancelled", 0)
    assert await error(
        await api.call("POST", f"/bookings/{booking['booking_id']}/cancel", "desk")
    ) == (409, "booking_not_active")

    # The planner's view: their sub-block only, its pickup and rooming list with names.
    view = await eventually(
        lambda: api.ok("GET", "/planner/blocks", "planner_sg"),
        lambda v: (
            len(v) == 1
            and [e["status"] for e in v[0]["rooming_list"]] == ["confirmed"] * 3
            and v[0]["pickup"]["picked_up"] == 5
            # An earlier moment (the cancelled booking in, the last one not yet) also has
            # three rooms and five nights: wait for the cancellation to be applied too.
            and len(v[0]["rooming_list"]) == 3
            and "Tan Wei Ming" not in {e["guest_name"] for e in v[0]["rooming_list"]}
        ),
        what="the planner's view with three live bookings (the cancelled one gone)",
    )
    assert view[0]["block_id"] == sg["block_id"]
    assert {e["guest_name"] for e in view[0]["rooming_list"]} == {"Wang Fang"}
    assert view[0]["pickup"]["contracted"] == 9
    assert await api.ok("GET", "/planner/blocks", "planner_gb") == []
    assert await error(await api.call("GET", "/planner/blocks", "desk")) == (403, "missing_role")

    # Partner hotels see their own hotel's occupancy, not another's; visitors nothing.
    own = await api.ok("GET", "/occupancy?hotel_code=cncc-grand", "partner_cncc")
    assert len(own) == 5
    assert await error(
        await api.call("GET", "/occupancy?hotel_code=cncc-grand", "partner_other")
    ) == (403, "not_your_hotel")
    assert await error(await api.call("GET", "/occupancy", "visitor")) == (403, "missing_role")
    assert await error(await api.call("GET", "/occupancy", None)) == (401, "unauthenticated")


async def test_a_planner_cannot_book_or_read_another_planners_or_the_desks_guest(
    api: Api,
) -> None:
    await api.hotel()
    await api.allot(20, 1, 5)
    blocks = {}
    for planner in ("sg", "gb"):
        blocks[planner] = await api.ok(
            "POST",
            "/hotels/cncc-grand/blocks",
            "desk",
            json={
                "group": "delegation",
                "name": f"Delegation {planner}",
                "planner": f"planner-{planner}",
                "first_night": night(1),
                "last_night": night(5),
                "rooms": {"standard": 5},
                "cut_off_at": "2099-01-01T00:00:00+08:00",
            },
        )
    theirs = await api.book(
        1,
        2,
        "planner_sg",
        block_id=blocks["sg"]["block_id"],
        guest={"name": "Tan Wei Ming", "phone": "+65 6123 4567"},
    )
    assert theirs.status_code == 201, theirs.text
    desks = await api.book(1, 2, guest={"name": "Li Na", "phone": "+86 10 1234 5678"})
    assert desks.status_code == 201, desks.text

    for guest in (theirs.json()["guest"], desks.json()["guest"]):
        stolen = await api.book(
            2, 3, "planner_gb", block_id=blocks["gb"]["block_id"], **{"guest_id": guest["guest_id"]}
        )
        assert await error(stolen) == (404, "guest_not_found"), "no one else's guest"
        assert guest["name"] not in stolen.text and guest["phone"] not in stolen.text
    # Nothing was booked into the other planner's rooms.
    rooming = await api.ok("GET", f"/blocks/{blocks['gb']['block_id']}/rooming-list", "desk")
    assert "Tan Wei Ming" not in str(rooming) and "Li Na" not in str(rooming)

    again = await api.book(
        2,
        3,
        "planner_sg",
        block_id=blocks["sg"]["block_id"],
        guest_id=theirs.json()["guest"]["guest_id"],
    )
    assert again.status_code == 201 and again.json()["guest"]["name"] == "Tan Wei Ming"
    by_desk = await api.book(3, 4, guest_id=theirs.json()["guest"]["guest_id"])
    assert by_desk.status_code == 201, "the desk books any guest"


async def test_bad_requests_get_clear_errors_and_change_nothing(api: Api) -> None:
    await api.hotel()
    await api.allot(5, 1, 3)
    assert await error(
        await api.call(
            "POST",
            "/hotels",
            "ops",
            json={
                "hotel_code": "cncc-grand",
                "name_zh": "x",
                "name_en": "x",
                "room_types": {"a": 1},
            },
        )
    ) == (409, "hotel_exists")
    one_night = {"room_type": "standard", "first_night": night(1), "last_night": night(1),
                 "rooms": 1, "rate": 1}  # fmt: skip

    async def allot(hotel: str, **changed: Any) -> tuple[int, str]:
        path = f"/hotels/{hotel}/allotments"
        return await error(await api.call("PUT", path, "desk", json=one_night | changed))

    assert await allot("cncc-grand", rooms=301) == (422, "allotment_exceeds_rooms")
    assert await allot("nowhere") == (404, "hotel_not_found")
    assert await error(await api.book(3, 1)) == (422, "invalid_request")
    assert await error(await api.book(1, 2, guest={"name": "A", "phone": "call me"})) == (
        422,
        "invalid_request",
    )
    assert await error(await api.book(1, 2, guest_id="gst-nobody")) == (404, "guest_not_found")
    assert await error(await api.book(1, 2, room_type="deluxe")) == (422, "no_allotment")
    assert await error(await api.book(3, 5)) == (422, "no_allotment")
    assert await error(await api.book(1, 2, block_id="blk-none")) == (404, "block_not_found")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    past = await api.call(
        "POST",
        "/bookings",
        "desk",
        json={
            "hotel_code": "cncc-grand",
            "room_type": "standard",
            "arrival": yesterday,
            "departure": night(1),
            "guest": {"name": "A"},
        },
    )
    assert (await error(past))[1] in ("night_in_past", "invalid_request")
    press = {"group": "media", "name": "Press", "first_night": night(1), "last_night": night(3),
             "rooms": {"standard": 2}, "cut_off_at": "2099-01-01T00:00:00Z"}  # fmt: skip

    async def press_block(**changed: Any) -> tuple[int, str]:
        return await error(
            await api.call("POST", "/hotels/cncc-grand/blocks", "desk", json=press | changed)
        )

    assert await press_block(rooms={"standard": 6}) == (409, "not_enough_rooms")
    assert await press_block(cut_off_at="2001-01-01T00:00:00Z") == (422, "cut_off_in_past")
    assert await press_block(cut_off_at="2099-01-01T00:00:00") == (422, "invalid_request")
    assert await error(await api.call("GET", "/bookings/bk-none", "desk")) == (
        404,
        "booking_not_found",
    )
    assert await error(await api.call("POST", "/blocks/blk-none/release", "ops")) == (
        404,
        "block_not_found",
    )
    assert await error(
        await api.call("GET", "/partner/hotels/cncc-grand/guest-keys/gk-x", "partner_cncc")
    ) == (404, "guest_key_not_found")
    occupancy = await eventually(
        lambda: api.ok("GET", "/occupancy?hotel_code=cncc-grand", "desk"),
        lambda rows: len(rows) == 3,
        what="the allotment in the occupancy",
    )
    assert [r["booked"] for r in occupancy] == [0, 0, 0], "no refused request took a room"
    assert (await api.client.get("/partner/asyncapi.json")).status_code == 401
    contract = await api.ok("GET", "/partner/asyncapi.json", "partner_cncc")
    assert contract["asyncapi"] == "3.0.0"
    assert (await api.client.get("/asyncapi.json")).status_code == 200


async def test_a_no_show_charges_the_first_night_and_gives_the_rest_back(api: Api) -> None:
    today = local_date(datetime.now(UTC))
    await api.hotel()
    await api.ok(
        "PUT",
        "/hotels/cncc-grand/allotments",
        "desk",
        json={
            "room_type": "standard",
            "first_night": today.isoformat(),
            "last_night": (today + timedelta(days=3)).isoformat(),
            "rooms": 1,
            "rate": 650,
        },
    )
    made = await api.call(
        "POST",
        "/bookings",
        "desk",
        json={
            "hotel_code": "cncc-grand",
            "room_type": "standard",
            "arrival": today.isoformat(),
            "departure": (today + timedelta(days=3)).isoformat(),
            "guest": {"name": "Sun Li"},
        },
    )
    booking = made.json()
    assert booking["total"] == 1950
    assert await error(
        await api.call("POST", f"/bookings/{booking['booking_id']}/no-show", "planner_sg")
    ) == (403, "missing_role")
    no_show = await api.ok("POST", f"/bookings/{booking['booking_id']}/no-show", "desk")
    assert (no_show["status"], no_show["total"]) == ("no_show", 650)
    occupancy = await eventually(
        lambda: api.ok("GET", "/occupancy?hotel_code=cncc-grand", "desk"),
        lambda rows: [r["booked"] for r in rows] == [1, 0, 0, 0],
        what="the nights after the first given back",
    )
    assert sum(r["revenue"] for r in occupancy) == 650
    again = await api.call(
        "POST",
        "/bookings",
        "desk",
        json={
            "hotel_code": "cncc-grand",
            "room_type": "standard",
            "arrival": (today + timedelta(days=1)).isoformat(),
            "departure": (today + timedelta(days=3)).isoformat(),
            "guest": {"name": "Li Qiang"},
        },
    )
    assert again.status_code == 201, "the freed nights can be booked again"
