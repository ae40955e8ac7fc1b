"""The hotels service under uvicorn, with its relay, projections and jobs, against the real
broker and database; tokens for every role that uses it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from booths.service import definition as booths
from exhibitors.service import definition as exhibitors
from fairline_events.access import (
    create_acls,
    new_password,
    reader_grants,
    service_grants,
    upsert_scram_users,
)
from fairline_events.kafka import KafkaAccess
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings
from fairline_stack.resolve import Infra
from hotels.partner.contract import partner_topic
from hotels.service import definition
from support.api import RoleApi
from support.serving import serving

# The fair week the tests book: far enough ahead that no night is ever in the past.
FAIR = date(datetime.now(UTC).year + 1, 9, 1)


def night(n: int) -> str:
    """The n-th night of the test fair, counting FAIR as 1."""
    return (FAIR + timedelta(days=n - 1)).isoformat()


class Api(RoleApi):
    """The hotels API, called by role with the tokens the fixture issued for each."""

    def __init__(self, client: httpx.AsyncClient, tokens: dict[str, str], app: Any) -> None:
        super().__init__(client, app)
        self.tokens = dict(tokens)

    def identity(self, who: str) -> tuple[str, list[str]]:
        raise KeyError(f"no token for {who!r}: the fixture issues one per role")

    async def hotel(self, code: str = "cncc-grand", **room_types: int) -> None:
        await self.ok(
            "POST",
            "/hotels",
            "ops",
            json={
                "hotel_code": code,
                "name_zh": "国家会议中心大酒店",
                "name_en": "CNCC Grand Hotel",
                "room_types": room_types or {"standard": 300, "deluxe": 120},
            },
        )

    async def allot(
        self,
        rooms: int,
        first: int = 1,
        last: int = 7,
        room_type: str = "standard",
        rate: int = 800,
        hotel_code: str = "cncc-grand",
    ) -> None:
        await self.ok(
            "PUT",
            f"/hotels/{hotel_code}/allotments",
            "desk",
            json={
                "room_type": room_type,
                "first_night": night(first),
                "last_night": night(last),
                "rooms": rooms,
                "rate": rate,
            },
        )

    async def book(
        self, arrival: int, departure: int, role: str = "desk", **kw: Any
    ) -> httpx.Response:
        body = (
            {
                "hotel_code": "cncc-grand",
                "room_type": "standard",
                "arrival": night(arrival),
                "departure": night(departure),
            }
            | ({} if "guest_id" in kw else {"guest": {"name": "Wang Fang"}})
            | kw
        )
        return await self.call("POST", "/bookings", role, json=body)


@asynccontextmanager
async def running(settings: ServiceSettings) -> AsyncIterator[Api]:
    """One process of the service; leaving the block stops it as a shutdown would."""
    app = build_app(definition, settings)
    issuer = app.state.token_issuer
    tokens = {
        "ops": issuer.issue("ops-1", ["ops"]),
        "desk": issuer.issue("desk-1", ["hotel_desk"]),
        "planner_sg": issuer.issue("planner-sg", ["delegation_planner"]),
        "planner_gb": issuer.issue("planner-gb", ["delegation_planner"]),
        "partner_cncc": issuer.issue("hotel:cncc-grand", ["partner_hotel"]),
        "partner_other": issuer.issue("hotel:continental", ["partner_hotel"]),
        "visitor": issuer.issue("visitor-1", ["visitor"]),
    }
    async with serving(app, max_connections=200) as client:
        yield Api(client, tokens, app)


@pytest.fixture
async def api(settings: ServiceSettings) -> AsyncIterator[Api]:
    async with running(settings) as api:
        yield api


@dataclass
class Principals:
    """Kafka principals of one test's own (tagged names), with the platform's grants for the
    test's topic prefix: the three services, and partner hotels cncc-grand and continental."""

    prefix: str
    admin: KafkaAccess
    services: dict[str, KafkaAccess]
    partners: dict[str, KafkaAccess]

    def topic(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def feed(self, hotel: str) -> str:
        return self.topic(partner_topic(hotel))


@pytest.fixture
async def principals(infra: Infra, settings: ServiceSettings) -> Principals:
    if not infra.authenticated:
        pytest.skip(reason="the broker in use runs without authentication (no ACLs to test)")
    prefix = settings.fairline_topic_prefix
    tag = uuid.uuid4().hex[:8]
    users = {name: f"{tag}.{name}" for name in ("exhibitors", "booths", "hotels")}
    partner_users = {hotel: f"{tag}.hotel.{hotel}" for hotel in ("cncc-grand", "continental")}
    passwords = {u: new_password() for u in [*users.values(), *partner_users.values()]}
    await upsert_scram_users(infra.kafka, passwords)
    grants = []
    for service in (exhibitors, booths, definition):
        grants += service_grants(service, prefix, users[service.name])
    for hotel, user in partner_users.items():
        grants += reader_grants(user, [f"{prefix}{partner_topic(hotel)}"], f"{prefix}{user}.")
    await create_acls(infra.kafka, grants)
    return Principals(
        prefix,
        infra.kafka,
        {name: infra.kafka.as_user(u, passwords[u]) for name, u in users.items()},
        {hotel: infra.kafka.as_user(u, passwords[u]) for hotel, u in partner_users.items()},
    )
