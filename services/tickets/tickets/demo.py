"""The demo edition's ticket shop (deploy/demo/edition-2021.yaml): CIFTIS 2021, 2-7 September,
at CNCC and Shougang Park.

Products: a day pass per venue and one for both, a weekend pass for both venues, free trade
passes for approved trade visitors (专业观众), and accreditations for media, guests and staff.
Quotas are the venues' daily capacity limits under epidemic control (invented figures). A few
fictional visitors register, one trade visitor is approved and gets a trade pass, one public
visitor buys a day pass through the dev provider, and a journalist waits for the press
centre. Loaded as of 20 August 2021; idempotent (fixed ids, an existing item is left alone).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from fairline_events.context import CommandContext
from fairline_events.errors import DomainError
from fairline_events.service import Runtime
from fairline_events.store import EventStore

from .api.common import Registration, seal_visitor
from .domain.commands import (
    DefineProduct,
    PlaceOrder,
    RecordPayment,
    ReviewVisitor,
    SetQuota,
)
from .domain.order import order_stream
from .domain.product import product_stream
from .domain.values import FAIR_TIME, VENUES, days_between
from .domain.visitor import visitor_stream
from .handlers import (
    define_product,
    place_order,
    record_payment,
    register_visitor,
    review_visitor,
    set_quota,
)

PLANNED_AT = datetime(2021, 8, 20, 10, 0, tzinfo=FAIR_TIME)
EDITION = "ciftis-2021"

CAPACITY: dict[str, dict[str, int]] = {
    "cncc": {"public": 20000, "trade": 8000, "media": 1500, "guest": 500, "staff": 3000},
    "shougang": {"public": 15000, "trade": 6000, "media": 500, "guest": 300, "staff": 2000},
}
"""Daily places per venue and class (demo figures: the article's were stripped)."""


def _products(days: list[date]) -> list[dict[str, Any]]:
    weekend = [d for d in days if d.weekday() >= 5]
    every = {"days": days, "venues": list(VENUES)}
    return [
        {
            "product_code": "day-cncc",
            "kind": "day",
            "name_zh": "国家会议中心单日票",
            "name_en": "Day pass, CNCC",
            "days": days,
            "venues": ["cncc"],
            "classes": ["public"],
            "price": 10000,
        },
        {
            "product_code": "day-shougang",
            "kind": "day",
            "name_zh": "首钢园单日票",
            "name_en": "Day pass, Shougang Park",
            "days": days,
            "venues": ["shougang"],
            "classes": ["public"],
            "price": 8000,
        },
        {
            "product_code": "day-both",
            "kind": "day",
            "name_zh": "双馆单日票",
            "name_en": "Day pass, both venues",
            "days": days,
            "venues": list(VENUES),
            "classes": ["public"],
            "price": 15000,
        },
        {
            "product_code": "weekend-both",
            "kind": "multi_day",
            "name_zh": "双馆周末票",
            "name_en": "Weekend pass, both venues",
            "days": weekend,
            "venues": list(VENUES),
            "classes": ["public"],
            "price": 25000,
        },
        {
            "product_code": "trade-pass",
            "kind": "multi_day",
            "name_zh": "专业观众证",
            "name_en": "Trade visitor pass",
            **every,
            "classes": ["trade"],
            "price": 0,
            "needs_approval": True,
        },
        {
            "product_code": "media-accreditation",
            "kind": "multi_day",
            "name_zh": "媒体证件",
            "name_en": "Media accreditation",
            **every,
            "classes": ["media"],
            "price": 0,
            "needs_approval": True,
            "reentry": True,
        },
        {
            "product_code": "guest-pass",
            "kind": "multi_day",
            "name_zh": "嘉宾证",
            "name_en": "Guest pass",
            **every,
            "classes": ["guest"],
            "price": 0,
            "reentry": True,
        },
        {
            "product_code": "staff-pass",
            "kind": "multi_day",
            "name_zh": "工作证",
            "name_en": "Staff pass",
            **every,
            "classes": ["staff"],
            "price": 0,
            "reentry": True,
        },
    ]


VISITORS: list[dict[str, Any]] = [
    {
        "visitor_id": "demo-v-trade",
        "visitor_class": "trade",
        "name": "Demo Trade Buyer",
        "document_type": "passport",
        "document_number": "E00000001",
        "phone": "+86 100 0000 0001",
        "organisation": "Demo Logistics Ltd",
        "country_region": "SG",
    },
    {
        "visitor_id": "demo-v-public",
        "visitor_class": "public",
        "name": "Demo Visitor",
        "document_type": "resident_id",
        "document_number": "11010519900101000X",
        "phone": "+86 100 0000 0002",
        "country_region": "CN",
    },
    {
        "visitor_id": "demo-v-media",
        "visitor_class": "media",
        "name": "Demo Reporter",
        "document_type": "hk_macao_permit",
        "document_number": "H00000003",
        "phone": "+852 0000 0003",
        "organisation": "Demo Daily",
        "country_region": "HK",
    },
]


def demo_file() -> Path:
    configured = os.environ.get("FAIRLINE_DEMO_EDITION")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "demo" / "edition-2021.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("deploy/demo/edition-2021.yaml not found; set FAIRLINE_DEMO_EDITION")


async def load_demo(runtime: Runtime) -> int:
    assert runtime.store is not None
    store = runtime.store
    data: dict[str, Any] = yaml.safe_load(demo_file().read_text(encoding="utf-8"))
    dates = data["edition"]["dates"]
    days = days_between(dates["opens"], dates["closes"])
    loader = replace(
        CommandContext.system("demo-loader", reason="demo edition"), clock=lambda: PLANNED_AT
    )
    written = 0
    for spec in _products(days):
        if not await store.stream_version(product_stream(EDITION, spec["product_code"])):
            product = DefineProduct(edition_code=EDITION, **spec)
            written += len((await define_product(store, product, loader)).events)
    for day in days:
        for venue, classes in CAPACITY.items():
            for visitor_class, capacity in classes.items():
                quota = SetQuota.model_validate(
                    {
                        "edition_code": EDITION,
                        "day": day,
                        "venue": venue,
                        "visitor_class": visitor_class,
                        "capacity": capacity,
                    }
                )
                written += len((await set_quota(store, quota, loader)).events)
    written += await _visitors(store, loader, days)
    return written


async def _visitors(store: EventStore, loader: CommandContext, days: list[date]) -> int:
    written = 0
    for spec in VISITORS:
        visitor_id = spec["visitor_id"]
        if await store.stream_version(visitor_stream(visitor_id)):
            continue
        registration = Registration(**{k: v for k, v in spec.items() if k != "visitor_id"})
        command = seal_visitor(
            registration,
            visitor_id=visitor_id,
            edition_code=EDITION,
            account="demo-visitor",
            by_organiser=False,
        )
        written += len((await register_visitor(store, command, loader)).events)
    review = ReviewVisitor(visitor_id="demo-v-trade", approve=True, reviewer="organiser")
    with contextlib.suppress(DomainError):  # approved on an earlier load
        written += len((await review_visitor(store, review, loader)).events)
    orders = [
        ("demo-o-trade", "trade-pass", "demo-v-trade", None),
        ("demo-o-public", "day-cncc", "demo-v-public", days[1]),
    ]
    for order_id, product_code, visitor_id, day in orders:
        if await store.stream_version(order_stream(order_id)):
            continue
        order = PlaceOrder(
            order_id=order_id,
            edition_code=EDITION,
            product_code=product_code,
            account="demo-visitor",
            visitor_ids=[visitor_id],
            day=day,
        )
        outcome = await place_order(store, order, loader)
        written += len(outcome.events)
    paid = RecordPayment(
        provider="devpay", transaction_id="demo-tx-1", order_id="demo-o-public", amount=10000
    )
    written += len((await record_payment(store, paid, loader)).events)
    return written
