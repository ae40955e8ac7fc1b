"""Bad input gets a 4xx with the error body and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import EDITION, Api, day

pytestmark = pytest.mark.infra

HOLD = {"placement_code": "home-banner", "sponsor_id": "icbc", "first_day": day(0),
        "last_day": day(1)}  # fmt: skip
OFFER = {"tier_code": "gold", "sponsor_id": "icbc", "sponsor_name": "ICBC",
         "category": "banking"}  # fmt: skip
PLACEMENT = {"channel": "website", "name": "footer", "price_per_day_fen": 100}
TIER = {"name": "bronze", "quantity": 3, "price_fen": 100}
CREATIVE = {"image_url": "https://cdn.example/a.png", "link_url": "https://a.example",
            "alt_text": "A"}  # fmt: skip


async def test_bad_input_is_refused_with_the_error_body_and_writes_nothing(api: Api) -> None:
    booking = (await api.hold(first_day=day(30), last_day=day(30))).json()["booking_id"]
    bookings = f"/editions/{EDITION}/bookings"
    packages = f"/editions/{EDITION}/packages"
    before = await api.event_count()
    cases: list[tuple[str, str, str, dict[str, Any], int, str]] = [
        ("reversed dates", "POST", bookings, HOLD | {"first_day": day(3), "last_day": day(1)},
         422, "invalid_request"),
        ("an unknown placement", "POST", bookings, HOLD | {"placement_code": "moon-billboard"},
         404, "unknown_placement"),
        ("another edition's placement", "POST", "/editions/ciftis-1999/bookings", HOLD,
         404, "unknown_placement"),
        ("a year-long run", "POST", bookings, HOLD | {"last_day": day(400)},
         422, "invalid_request"),
        ("a date that is not one", "POST", bookings, HOLD | {"first_day": "2021-02-30"},
         422, "invalid_request"),
        ("a negative price per day", "PUT", f"/editions/{EDITION}/placements/footer",
         PLACEMENT | {"price_per_day_fen": -1}, 422, "invalid_request"),
        ("a price past the column", "PUT", f"/editions/{EDITION}/placements/footer",
         PLACEMENT | {"price_per_day_fen": 2**70}, 422, "invalid_request"),
        ("an unknown channel", "PUT", f"/editions/{EDITION}/placements/footer",
         PLACEMENT | {"channel": "billboard"}, 422, "invalid_request"),
        ("an exclusive placement with shares", "PUT", f"/editions/{EDITION}/placements/footer",
         PLACEMENT | {"shares": 3}, 422, "invalid_request"),
        ("a negative tier price", "PUT", f"/editions/{EDITION}/tiers/bronze",
         TIER | {"price_fen": -5}, 422, "invalid_request"),
        ("a tier of none", "PUT", f"/editions/{EDITION}/tiers/bronze",
         TIER | {"quantity": 0}, 422, "invalid_request"),
        ("a negative offer price", "POST", packages, OFFER | {"price_fen": -100},
         422, "invalid_request"),
        ("an unknown tier", "POST", packages, OFFER | {"tier_code": "diamond"},
         422, "unknown_tier"),
        ("a NUL byte", "POST", packages, OFFER | {"sponsor_name": "bad\x00name"},
         422, "invalid_request"),
        ("an unknown field", "POST", packages, OFFER | {"colour": "red"},
         422, "invalid_request"),
        ("a return without a reason", "POST", f"/bookings/{booking}/creatives/1/review",
         {"verdict": "return"}, 422, "invalid_request"),
        ("a review of no version", "POST", f"/bookings/{booking}/creatives/1/review",
         {"verdict": "approve"}, 404, "unknown_creative"),
        ("a creative over http", "POST", f"/bookings/{booking}/creatives",
         CREATIVE | {"image_url": "http://cdn.example/a.png"}, 422, "invalid_request"),
        ("an unknown booking", "POST", "/bookings/nope/confirm", {}, 404, "unknown_booking"),
        ("an unknown package", "POST", "/packages/nope/cancel", {"reason": "x"},
         404, "unknown_package"),
        ("a delivery event of another kind", "POST", "/delivery/events",
         {"events": [{"event_id": "5f0c0b5e-8d3f-4d7a-9a52-1b0e6c1d2e3f", "kind": "view",
                      "booking_id": booking, "at": "2021-09-02T10:00:00+08:00"}]},
         422, "invalid_request"),
    ]  # fmt: skip
    for what, method, path, body, status, code in cases:
        response = await api.call(method, path, "team", json=body)
        assert response.status_code == status, (what, response.text)
        assert response.json()["error"]["code"] == code, (what, response.text)
        assert response.json()["error"]["message"], what
    assert await api.event_count() == before
    assert await api.runtime.pool.fetchval("SELECT count(*) FROM delivery_events") == 0
    assert (await api.call("GET", f"/editions/{EDITION}/inventory", None)).status_code == 401
    reversed_range = await api.call(
        "GET",
        f"/public/editions/{EDITION}/serving-schedule?first_day={day(3)}&last_day={day(1)}",
        None,
    )
    assert reversed_range.status_code == 422
