"""Creatives reviewed and versioned; the public serving schedule (no login, ETag and 304);
impressions and clicks counted once by their ids into the delivery reports."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from fairline_events.consistency import TOKEN_HEADER
from support.waiting import eventually

from .conftest import EDITION, FAIR, Api, day

pytestmark = pytest.mark.infra

CREATIVE = {"image_url": "https://cdn.example/icbc-v1.png", "link_url": "https://icbc.example",
            "alt_text": "ICBC: banking for trade in services"}  # fmt: skip
SCHEDULE = f"/public/editions/{EDITION}/serving-schedule?first_day={day(0)}&last_day={day(6)}"


async def _booked(api: Api) -> str:
    booking = (await api.hold(first_day=day(0), last_day=day(2))).json()
    await api.ok("POST", f"/bookings/{booking['booking_id']}/confirm", "team")
    return str(booking["booking_id"])


async def test_only_an_approved_version_is_served_publicly_with_an_etag(api: Api) -> None:
    bid = await _booked(api)
    await api.ok("POST", f"/bookings/{bid}/creatives", "icbc", json=CREATIVE)  # the sponsor
    returned = await api.ok(
        "POST",
        f"/bookings/{bid}/creatives/1/review",
        "team",
        json={"verdict": "return", "reason": "logo below minimum size"},
    )
    assert returned["serving_version"] is None
    v2 = CREATIVE | {"image_url": "https://cdn.example/icbc-v2.png"}
    await api.ok("POST", f"/bookings/{bid}/creatives", "icbc", json=v2)
    approved = await api.ok("POST", f"/bookings/{bid}/creatives/2/review", "team",
                            json={"verdict": "approve"})  # fmt: skip
    assert approved["serving_version"] == 2
    await api.ok("POST", f"/bookings/{bid}/creatives", "icbc", json=CREATIVE)  # v3, in review

    schedule = await eventually(
        lambda: api.client.get(SCHEDULE),  # no Authorization header: public
        lambda r: r.status_code == 200 and len(r.json()) == 3,
        within=30,
        what="three days served",
    )
    assert {s["image_url"] for s in schedule.json()} == {v2["image_url"]}
    assert [s["day"] for s in schedule.json()] == [day(0), day(1), day(2)]
    etag = schedule.headers["ETag"]
    assert "public" in schedule.headers["Cache-Control"]
    unchanged = await api.client.get(SCHEDULE, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and not unchanged.content
    await api.ok("POST", f"/bookings/{bid}/creatives/3/review", "team",
                 json={"verdict": "approve"})  # fmt: skip
    changed = await eventually(
        lambda: api.client.get(SCHEDULE, headers={"If-None-Match": etag}),
        lambda r: r.status_code == 200,
        within=30,
        what="a new ETag once v3 is approved",
    )
    assert changed.headers["ETag"] != etag
    assert {s["creative_version"] for s in changed.json()} == {3}
    others = await api.call("POST", f"/bookings/{bid}/creatives", "boc", json=CREATIVE)
    assert others.status_code == 403


def _batch(bid: str, n: int, clicks_every: int = 10) -> list[dict[str, Any]]:
    noon = datetime.combine(FAIR, time(4, 0), UTC)  # noon in Beijing: day 0 of the fair
    return [
        {"event_id": str(uuid.uuid4()), "booking_id": bid,
         "kind": "click" if i % clicks_every == 0 else "impression",
         "at": (noon + timedelta(seconds=i)).isoformat()}
        for i in range(n)
    ]  # fmt: skip


async def _report(api: Api, bid: str, who: str = "team") -> dict[str, Any] | None:
    lines = await api.ok("GET", f"/editions/{EDITION}/delivery", who)
    return next((line for line in lines if line["booking_id"] == bid), None)


async def test_a_replayed_batch_of_10000_changes_no_count_and_a_new_version_keeps_them(
    api: Api,
) -> None:
    bid = await _booked(api)
    await api.ok("POST", f"/bookings/{bid}/creatives", "icbc", json=CREATIVE)
    await api.ok("POST", f"/bookings/{bid}/creatives/1/review", "team", json={"verdict": "approve"})
    batch = _batch(bid, 10_000)
    first = await api.ok("POST", "/delivery/events", "ads", json={"events": batch})
    assert first == {"received": 10_000, "counted": 10_000}
    replay = await api.ok("POST", "/delivery/events", "ads", json={"events": batch})
    assert replay == {"received": 10_000, "counted": 0}
    report = await eventually(
        lambda: _report(api, bid), lambda r: r is not None, within=30, what="the report"
    )
    assert report is not None
    assert (report["impressions"], report["clicks"]) == (9_000, 1_000)
    assert report["click_through_percent"] == pytest.approx(11.11, abs=0.01)

    await api.ok("POST", f"/bookings/{bid}/creatives", "icbc", json=CREATIVE)  # v2
    await api.ok("POST", f"/bookings/{bid}/creatives/2/review", "team", json={"verdict": "approve"})
    await api.ok("POST", "/delivery/events", "ads", json={"events": _batch(bid, 100, 1000)})
    after = await _report(api, bid, who="icbc")  # the sponsor reads its own report
    assert after is not None
    assert (after["impressions"], after["clicks"]) == (9_099, 1_001)
    assert await api.ok("GET", f"/editions/{EDITION}/delivery", "boc") == []


async def test_a_newly_approved_creative_is_served_at_once_to_a_read_with_its_token(
    api: Api,
) -> None:
    """The schedule is rendered once per change of the desk and kept: a read that sends the
    approval's consistency token back gets the new version, never the kept rendering."""
    bid = await _booked(api)
    await api.ok("POST", f"/bookings/{bid}/creatives", "icbc", json=CREATIVE)
    await api.ok("POST", f"/bookings/{bid}/creatives/1/review", "team",
                 json={"verdict": "approve"})  # fmt: skip
    first = await eventually(
        lambda: api.client.get(SCHEDULE),
        lambda r: r.status_code == 200 and len(r.json()) == 3,
        within=30,
        what="three days served",
    )
    etag = first.headers["ETag"]
    assert (await api.client.get(SCHEDULE, headers={"If-None-Match": etag})).status_code == 304
    v2 = CREATIVE | {"image_url": "https://cdn.example/icbc-v2.png"}
    await api.ok("POST", f"/bookings/{bid}/creatives", "icbc", json=v2)
    approved = await api.call("POST", f"/bookings/{bid}/creatives/2/review", "team",
                              json={"verdict": "approve"})  # fmt: skip
    assert approved.status_code == 200, approved.text
    token = approved.headers[TOKEN_HEADER]
    seen = await api.client.get(SCHEDULE, headers={"If-None-Match": etag, TOKEN_HEADER: token})
    assert seen.status_code == 200, seen.text
    assert {s["creative_version"] for s in seen.json()} == {2}
    assert seen.headers["ETag"] != etag
    # and a plain read, once the read model has it, is the same rendering
    plain = await api.client.get(SCHEDULE)
    assert plain.headers["ETag"] == seen.headers["ETag"] and plain.content == seen.content
