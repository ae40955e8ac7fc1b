"""One exhibitors service per test module, over real HTTP, Kafka and PostgreSQL.

Starting a service (database, migrations, topics, consumer groups) costs seconds, so a module
shares one; its tests keep apart by using fresh ids (companies, people, editions) each time.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from exhibitors.service import definition
from fairline_events.auth import TokenIssuer
from fairline_events.db import drop_databases
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings, kafka_fields
from fastapi import FastAPI
from support.serving import serving

RUN = uuid.uuid4().hex[:6]


def fresh(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def credit_code() -> str:
    """A fresh, valid unified social credit code."""
    from exhibitors.domain.values import credit_code_check_char

    first = "91110000" + str(uuid.uuid4().int)[:9]
    return first + credit_code_check_char(first)


class User:
    """Someone signed in: every call carries their bearer token."""

    def __init__(self, client: httpx.AsyncClient, subject: str, token: str) -> None:
        self.client = client
        self.subject = subject
        self.token = token

    async def call(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kw)

    async def get(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.call("POST", path, json=json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.call("PUT", path, json=json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return await self.call("PATCH", path, json=json, **kw)

    async def delete(self, path: str, **kw: Any) -> httpx.Response:
        return await self.call("DELETE", path, **kw)


@dataclass
class Service:
    client: httpx.AsyncClient
    issuer: TokenIssuer
    app: FastAPI
    settings: ServiceSettings

    def user(self, *roles: str, subject: str | None = None) -> User:
        subject = subject or fresh(roles[0] if roles else "user")
        return User(self.client, subject, self.issuer.issue(subject, list(roles)))

    def anonymous(self) -> httpx.AsyncClient:
        return self.client


def error(response: httpx.Response) -> tuple[int, str]:
    """(status, code) of an error response, after checking it has the common error body."""
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"], body
    return response.status_code, body["error"]["code"]


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture(scope="module")
async def service(infra, tmp_path_factory) -> AsyncIterator[Service]:  # type: ignore[no-untyped-def]
    unique = f"x{RUN}{uuid.uuid4().hex[:6]}"
    settings = ServiceSettings(
        database_url=infra.database_url,
        **kafka_fields(infra.kafka),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret="test-secret-" + "x" * 40,
    )
    app = build_app(definition, settings)
    # uploads go to the default store: the service's own PostgreSQL
    try:
        async with serving(app, request_timeout=30) as client:
            yield Service(client, app.state.token_issuer, app, settings)
    finally:
        await drop_databases(infra.database_url, f"{unique}_")


async def new_company(
    service: Service, *colleagues: User, name: str = "Huawei"
) -> tuple[str, User]:
    """A registered company whose owner (returned) and `colleagues` are on the staff."""
    owner = service.user("exhibitor")
    body = {
        "identity": {"credit_code": credit_code()},
        "details": {
            "name_zh": name,
            "name_en": name,
            "country_or_region": "CN",
            "sector": "digital services",
        },
    }
    company_id: str = ok(await owner.post("/companies", body), 201)["company_id"]
    for colleague in colleagues:
        ok(await owner.post(f"/companies/{company_id}/staff", {"person": colleague.subject}))
    return company_id, owner
