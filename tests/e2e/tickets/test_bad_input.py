"""Bad input gets a 4xx with the error body and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tickets.domain.qr import b64

from .conftest import DAY1, EDITION, Api

pytestmark = pytest.mark.infra

VISITOR = {
    "visitor_class": "public",
    "name": "Chen Jing",
    "document_type": "resident_id",
    "document_number": "110105199001010011",
    "phone": "+86 138 0000 0000",
    "country_region": "CN",
}


async def test_bad_input_is_refused_with_the_error_body_and_writes_nothing(api: Api) -> None:
    await api.product()
    await api.quota(5)
    visitor = await api.register()
    placed = (await api.order([visitor["visitor_id"]])).json()
    cases: list[tuple[str, str, str | None, Any]] = [
        ("POST", f"/editions/{EDITION}/visitors", "visitor", VISITOR | {"name": "Chen\x00Jing"}),
        ("POST", f"/editions/{EDITION}/visitors", "visitor", VISITOR | {"document_number": "1"}),
        ("POST", f"/editions/{EDITION}/visitors", "visitor", VISITOR | {"country_region": "China"}),
        ("POST", f"/editions/{EDITION}/visitors", "visitor", VISITOR | {"visitor_class": "king"}),
        ("POST", f"/editions/{EDITION}/visitors", "visitor", VISITOR | {"shoe_size": 42}),
        ("POST", "/editions/NOT AN EDITION/visitors", "visitor", VISITOR),
        (
            "PUT",
            f"/editions/{EDITION}/quotas",
            "box",
            {"day": DAY1.isoformat(), "venue": "moon", "visitor_class": "public", "capacity": 5},
        ),
        (
            "PUT",
            f"/editions/{EDITION}/quotas",
            "box",
            {
                "day": DAY1.isoformat(),
                "venue": "cncc",
                "visitor_class": "public",
                "capacity": 10**12,
            },
        ),
        (
            "PUT",
            f"/editions/{EDITION}/quotas",
            "box",
            {"day": DAY1.isoformat(), "venue": "cncc", "visitor_class": "public", "capacity": 0},
        ),
        (
            "POST",
            f"/editions/{EDITION}/products",
            "box",
            {
                "product_code": "x",
                "kind": "day",
                "name_zh": "x",
                "name_en": "x",
                "days": [DAY1.isoformat()],
                "venues": ["cncc"],
                "classes": ["public"],
                "price": -1,
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/products",
            "box",
            {
                "product_code": "x",
                "kind": "day",
                "name_zh": "x",
                "name_en": "x",
                "days": [DAY1.isoformat()],
                "venues": ["cncc"],
                "classes": ["public"],
                "price": 2**63,
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/products",
            "box",
            {
                "product_code": "day-cncc",
                "kind": "day",
                "name_zh": "x",
                "name_en": "x",
                "days": [DAY1.isoformat()],
                "venues": ["cncc"],
                "classes": ["public"],
                "price": 1,
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/products",
            "visitor",
            {
                "product_code": "y",
                "kind": "day",
                "name_zh": "x",
                "name_en": "x",
                "days": [DAY1.isoformat()],
                "venues": ["cncc"],
                "classes": ["public"],
                "price": 1,
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/orders",
            "visitor",
            {
                "product_code": "day-cncc",
                "visitor_ids": [visitor["visitor_id"]] * 2,
                "day": DAY1.isoformat(),
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/orders",
            "visitor",
            {
                "product_code": "day-cncc",
                "visitor_ids": [f"v{n}" for n in range(11)],
                "day": DAY1.isoformat(),
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/orders",
            "visitor",
            {
                "product_code": "nothing",
                "visitor_ids": [visitor["visitor_id"]],
                "day": DAY1.isoformat(),
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/orders",
            "visitor",
            {"product_code": "day-cncc", "visitor_ids": ["nobody"], "day": DAY1.isoformat()},
        ),
        (
            "POST",
            f"/editions/{EDITION}/orders",
            "other",
            {
                "product_code": "day-cncc",
                "visitor_ids": [visitor["visitor_id"]],
                "day": DAY1.isoformat(),
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/orders",
            "visitor",
            {
                "product_code": "day-cncc",
                "visitor_ids": [visitor["visitor_id"]],
                "day": DAY1.isoformat(),
                "order_id": placed["order_id"],
            },
        ),
        (
            "POST",
            f"/editions/{EDITION}/orders",
            "visitor",
            {
                "product_code": "day-cncc",
                "visitor_ids": [visitor["visitor_id"]],
                "day": "2099-13-01",
            },
        ),
        (
            "POST",
            "/gates/moon/east-1/check-ins",
            "gate",
            {"gate_id": "g", "scan_id": "s", "qr": "x"},
        ),
        (
            "POST",
            "/gates/cncc/east-1/check-ins",
            "visitor",
            {"gate_id": "g", "scan_id": "s", "qr": "x"},
        ),
        (
            "POST",
            "/gates/cncc/east-1/offline-scans",
            "gate",
            {
                "gate_id": "g",
                "scans": [{"scan_id": "s", "qr": "x", "scanned_at": "2099-09-02T09:00:00"}],
            },
        ),
        ("POST", "/gates/cncc/east-1/offline-scans", "gate", {"gate_id": "g", "scans": []}),
        ("POST", f"/orders/{placed['order_id']}/refund", "box", {"reason": "not paid yet"}),
        ("POST", "/payments/devpay/notifications", None, {"order_id": placed["order_id"]}),
        ("POST", "/payments/otherpay/notifications", None, {}),
        ("GET", f"/editions/{EDITION}/revocations?after=-1", "gate", None),
        ("GET", f"/editions/{EDITION}/revocations?after=99999999999999999999", "gate", None),
    ]
    nul = b64(json.dumps({"t": "a\x00", "e": EDITION, "d": [], "v": [], "c": "x", "r": 0}).encode())
    nul_code = f"FT1.{EDITION}-k1.{nul}.{b64(b'sig')}"
    cases.append(
        (
            "POST",
            "/gates/cncc/east-1/check-ins",
            "gate",
            {"gate_id": "g", "scan_id": "s", "qr": nul_code},
        )
    )
    before = await api.count_events()
    for method, path, role, body in cases:
        response = await api.call(method, path, role, json=body)
        assert 400 <= response.status_code < 500, (path, body, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"], (path, response.text)
    assert await api.count_events() == before
    upload = {
        "gate_id": "g",
        "scans": [{"scan_id": "s", "qr": nul_code, "scanned_at": "2099-09-02T09:00:00+08:00"}],
    }
    uploaded = await api.ok("POST", "/gates/cncc/east-1/offline-scans", "gate", json=upload)
    assert uploaded["results"] == [{"scan_id": "s", "outcome": "rejected", "code": "qr_unreadable"}]
    assert await api.count_events() == before
    keys = await api.runtime.pool.fetchval("SELECT count(*) FROM visitor_keys")
    assert keys == 1, "a refused registration leaves no key behind"
