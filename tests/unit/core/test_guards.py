"""What every service answers before any route: no 500 for what the database cannot store,
the security headers, the HTTP headers each status calls for, and docs without a CDN."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fairline_events.api import create_app
from fairline_events.auth import Principal, TokenIssuer, require
from fairline_events.dependencies import Body
from fairline_events.errors import DomainError
from fastapi import Depends

SECRET = "s" * 40


class Slow(DomainError):
    status = 429
    code = "rate_limited"


Anyone = Annotated[Principal, Depends(require())]


class Note(Body):
    text: str
    count: int = 0
    ratio: float = 0.0


def app_with_routes() -> Any:
    app = create_app(title="t", description="d", version="1")
    issuer = TokenIssuer(SECRET)
    app.state.token_issuer, app.state.token_verifier = issuer, issuer.verifier
    seen: list[Any] = []

    @app.post("/notes/{note_id}")
    async def add(note_id: str, note: Note, who: Anyone, q: str = "") -> dict[str, str]:
        seen.append((note_id, note, q))
        return {"ok": note_id}

    @app.get("/notes/{note_id}")
    async def get(note_id: str, who: Anyone) -> dict[str, str]:
        return {"note_id": note_id}

    @app.get("/slow")
    async def slow() -> None:
        raise Slow("wait", retry_after_seconds=7)

    app.state.seen = seen
    return app


@pytest.fixture
async def client() -> Any:
    app = app_with_routes()
    token = app.state.token_issuer.issue("u", ["exhibitor"])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


@pytest.mark.parametrize(
    ("path", "body", "at"),
    [
        ("/notes/a%00b", {"text": "x"}, "path"),
        ("/notes/a?q=%00", {"text": "x"}, "query.q"),
        ("/notes/a", {"text": "nul \u0000 inside"}, "body.text"),
        ("/notes/a", {"text": "x", "count": 2**63}, "body.count"),
        ("/notes/a", {"text": "x", "count": -(2**63) - 1}, "body.count"),
    ],
)
async def test_what_postgresql_cannot_store_is_a_422_before_any_route(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], at: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["details"]["problems"][0]["at"] == at
    assert client.app.state.seen == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"text": "\\ud800 a lone surrogate"}',
        b'{"text": "x", "ratio": Infinity}',
        b'{"text": "x", "ratio": NaN}',
        b'{"text\\u0000": "x"}',
    ],
)
async def test_unstorable_json_text_and_numbers_are_422(
    client: httpx.AsyncClient, raw: bytes
) -> None:
    response = await client.post(
        "/notes/a", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert client.app.state.seen == []  # type: ignore[attr-defined]


async def test_a_good_request_passes_untouched(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/notes/a?q=x", json={"text": "展位 \\u0000 stays text", "count": 2**63 - 1}
    )
    assert response.status_code == 200, response.text
    [(note_id, note, q)] = client.app.state.seen  # type: ignore[attr-defined]
    assert (note_id, note.text, note.count, q) == ("a", "展位 \\u0000 stays text", 2**63 - 1, "x")


async def test_every_answer_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/notes/a"),
        await client.get("/notes/a", headers={"Authorization": ""}),
        await client.get("/nowhere"),
        await client.get("/healthz"),
    ):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"


async def test_401_challenges_405_allows_429_says_when(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/notes/a", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == 'Bearer realm="fairline"'
    forged = await client.get(
        "/notes/a", headers={"Authorization": f"Bearer {TokenIssuer('o' * 40).issue('m', [])}"}
    )
    assert forged.status_code == 401
    assert 'error="invalid_token"' in forged.headers["www-authenticate"]
    wrong = await client.delete("/notes/a")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET, POST"
    slow = await client.get("/slow")
    assert slow.status_code == 429 and slow.headers["retry-after"] == "7"


async def test_swagger_ui_is_served_from_the_package_not_a_cdn(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200 and "http" not in page.text.replace("http-equiv", "")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"):
        found = await client.get(asset)
        assert found.status_code == 200 and len(found.content) > 10_000, asset
    start = await client.get("/docs/start.js")
    assert "/openapi.json" in start.text
    assert (await client.get("/redoc")).status_code == 404
