"""The tickets service under uvicorn, with its relay, projections and expiry job, against the
real broker and database; tokens for every role; helpers that set up a fair to sell."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fairline_events.context import CommandContext
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from fairline_events.shredding import new_key, seal
from fairline_events.store import EventStore, StreamAppend
from support.serving import serving
from tickets.domain.commands import PlaceOrder
from tickets.domain.events import VisitorRegistered
from tickets.domain.values import FAIR_TIME
from tickets.domain.visitor import visitor_stream
from tickets.payments import DevPay
from tickets.service import definition

EDITION = "ciftis-2099"
DAY1 = date(datetime.now(UTC).year + 1, 9, 2)
DAY2 = DAY1 + timedelta(days=1)
MORNING = datetime.combine(DAY1, datetime.min.time(), FAIR_TIME) + timedelta(hours=9)
"""The first morning of the fair: the clock the gates' tests run at."""

ROLES = {
    "ops": ["ops"],
    "box": ["box_office"],
    "press": ["press_centre"],
    "gate": ["gate"],
    "visitor": ["visitor"],
    "other": ["visitor"],
}


class Api:
    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str], app: Any) -> None:
        self.client = client
        self.tokens = tokens
        self.app = app

    async def call(self, method: str, path: str, role: str | None, **kw: Any) -> httpx.Response:
        # Sent on every call: main's core still requires it (wip/hotels makes it optional).
        headers = {"X-Correlation-ID": str(uuid.uuid4())}
        headers |= {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        headers |= kw.pop("headers", {})
        return await self.client.request(method, path, headers=headers, **kw)

    async def ok(self, method: str, path: str, role: str, **kw: Any) -> Any:
        response = await self.call(method, path, role, **kw)
        assert response.status_code in (200, 201), f"{method} {path}: {response.text}"
        return response.json()

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    @property
    def store(self) -> EventStore:
        store: EventStore | None = self.runtime.store
        assert store is not None
        return store

    @property
    def devpay(self) -> DevPay:
        return DevPay(self.runtime.settings.fairline_auth_secret)

    def clock(self, at: datetime | None) -> None:
        """The time the service's rules see (None: the real clock)."""
        self.app.state.clock = (lambda: at) if at is not None else None

    async def product(self, code: str = "day-cncc", **kw: Any) -> dict[str, Any]:
        body = {
            "product_code": code,
            "kind": "day",
            "name_zh": "单日票",
            "name_en": "Day pass",
            "days": [DAY1.isoformat(), DAY2.isoformat()],
            "venues": ["cncc"],
            "classes": ["public"],
            "price": 10000,
        } | kw
        result: dict[str, Any] = await self.ok(
            "POST", f"/editions/{EDITION}/products", "box", json=body
        )
        return result

    async def quota(
        self, capacity: int, day: date = DAY1, venue: str = "cncc", cls: str = "public"
    ) -> None:
        body = {"day": day.isoformat(), "venue": venue, "visitor_class": cls, "capacity": capacity}
        await self.ok("PUT", f"/editions/{EDITION}/quotas", "box", json=body)

    async def register(self, role: str = "visitor", **kw: Any) -> dict[str, Any]:
        body = {
            "visitor_class": "public",
            "name": "Chen Jing",
            "document_type": "resident_id",
            "document_number": "110105199001010011",
            "phone": "+86 138 0000 0000",
            "country_region": "CN",
        } | kw
        result: dict[str, Any] = await self.ok(
            "POST", f"/editions/{EDITION}/visitors", role, json=body
        )
        return result

    async def order(
        self, visitor_ids: Sequence[str], code: str = "day-cncc", role: str = "visitor", **kw: Any
    ) -> httpx.Response:
        body = {"product_code": code, "visitor_ids": list(visitor_ids), "day": DAY1.isoformat()}
        return await self.call("POST", f"/editions/{EDITION}/orders", role, json=body | kw)

    async def notify(self, body: bytes, signature: str) -> httpx.Response:
        return await self.client.post(
            "/payments/devpay/notifications",
            content=body,
            headers={"X-DevPay-Signature": signature, "Content-Type": "application/json"},
        )

    async def pay(self, order: dict[str, Any]) -> None:
        body, signature = self.devpay.notify(order["order_id"], order["total"])
        response = await self.notify(body, signature)
        assert response.status_code == 200, response.text

    async def count_events(self) -> int:
        value: int = await self.runtime.pool.fetchval("SELECT count(*) FROM public.events")
        return value


async def seed_visitors(
    store: EventStore,
    count: int,
    *,
    account: str,
    prefix: str = "sv",
    cls: str = "public",
    own_accounts: bool = False,
) -> list[str]:
    """Many visitors at once, as events appended in bulk: the history a load test starts
    from (registering them one request at a time would take longer than the test itself).
    `own_accounts`: each registered by an account of their own, `<account>-<n>`, as people
    who each buy their own ticket (the bench's buyers)."""
    key = new_key()
    ids = [f"{prefix}-{n}" for n in range(count)]
    context = CommandContext.system("test-seed")
    for start in range(0, count, 1000):
        appends = [
            StreamAppend(
                visitor_stream(visitor_id),
                [
                    VisitorRegistered.model_validate(
                        {
                            "visitor_id": visitor_id,
                            "edition_code": EDITION,
                            "account": f"{account}-{n}" if own_accounts else account,
                            "visitor_class": cls,
                            "key_id": f"vk-{prefix}",
                            "name": seal(key, f"vk-{prefix}", "name", "seeded"),
                            "document_type": "passport",
                            "document_number": seal(key, f"vk-{prefix}", "document_number", "x"),
                            "phone": seal(key, f"vk-{prefix}", "phone", "x"),
                            "organisation": None,
                            "country_region": "CN",
                            "approved": True,
                        }
                    )
                ],
                0,
            )
            for n, visitor_id in enumerate(ids[start : start + 1000], start=start)
        ]
        await store.append_streams(appends, context)
    return ids


def day_order(
    order_id: str, visitor_ids: Sequence[str], product_code: str = "day-cncc"
) -> PlaceOrder:
    """An order of the visitors' account `visitor-1` for the fair's first day."""
    return PlaceOrder(
        order_id=order_id,
        edition_code=EDITION,
        product_code=product_code,
        account="visitor-1",
        visitor_ids=list(visitor_ids),
        day=DAY1,
    )


def at(moment: datetime) -> CommandContext:
    """A context whose rules see `moment`."""
    return replace(CommandContext.system("test"), clock=lambda: moment)


@pytest.fixture
async def api(settings: ServiceSettings) -> AsyncIterator[Api]:
    app = build_app(definition, settings)
    issuer = app.state.token_issuer
    tokens = {role: issuer.issue(f"{role}-1", roles) for role, roles in ROLES.items()}
    async with serving(app, max_connections=64) as client:
        yield Api(client, tokens, app)
