"""Ad slots as dated inventory: an exclusive placement is never booked twice for overlapping
dates, a shared one rotates up to its share count; the inventory calendar shows it."""

from __future__ import annotations

import asyncio

import pytest
from support.waiting import eventually

from .conftest import EDITION, Api, day

pytestmark = pytest.mark.infra


async def test_200_concurrent_bookings_of_one_exclusive_placement_for_overlapping_dates_get_one(
    api: Api,
) -> None:
    # every range covers day 5: each pair overlaps, whichever of them commits first
    ranges = [(day(5 - n % 4), day(5 + n % 3)) for n in range(200)]
    answers = await asyncio.gather(*(
        api.hold(f"sales-{n % 7}", sponsor_id=f"sponsor-{n}", first_day=first, last_day=last)
        for n, (first, last) in enumerate(ranges)
    ))  # fmt: skip
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 1, sorted(set(statuses))
    assert statuses.count(409) == 199, [a.text for a in answers if a.status_code != 409][:3]
    codes = {a.json()["error"]["code"] for a in answers if a.status_code == 409}
    assert codes == {"placement_taken"}
    winner = next(a.json() for a in answers if a.status_code == 201)
    calendar = await eventually(
        lambda: api.ok(
            "GET", f"/editions/{EDITION}/inventory?first_day={day(0)}&last_day={day(9)}"
            "&channel=website", "team",
        ),
        lambda rows: any(r["held"] for r in rows),
        within=30,
        what="the hold in the calendar",
    )  # fmt: skip
    held = sorted(r["day"] for r in calendar if r["held"])
    assert held == [d for d in (day(n) for n in range(10))
                    if winner["first_day"] <= d <= winner["last_day"]]  # fmt: skip
    assert all(r["free"] == 0 for r in calendar if r["held"])


async def test_a_shared_placement_rotates_up_to_its_share_count(api: Api) -> None:
    answers = await asyncio.gather(*(
        api.hold(f"sales-{n}", placement_code="home-carousel", sponsor_id=f"s-{n}",
                 first_day=day(1), last_day=day(3))
        for n in range(8)
    ))  # fmt: skip
    assert sorted(a.status_code for a in answers).count(201) == 3  # three shares
    # a day not yet full still takes another sponsor
    assert (await api.hold(placement_code="home-carousel", first_day=day(4),
                           last_day=day(4))).status_code == 201  # fmt: skip


async def test_a_confirmed_booking_stays_and_a_released_one_frees_its_days(api: Api) -> None:
    booking = (await api.hold(first_day=day(20), last_day=day(21))).json()
    assert booking["price_fen"] == 2 * 8_000_000 and booking["status"] == "held"
    bid = booking["booking_id"]
    confirmed = await api.ok("POST", f"/bookings/{bid}/confirm", "team")
    assert confirmed["status"] == "confirmed" and confirmed["expires_at"] is None
    taken = await api.hold(sponsor_id="boc", first_day=day(21), last_day=day(22))
    assert taken.status_code == 409
    await api.ok("POST", f"/bookings/{bid}/release", "team", json={"reason": "sponsor pulled out"})
    again = await api.hold(sponsor_id="boc", first_day=day(21), last_day=day(22))
    assert again.status_code == 201, again.text
