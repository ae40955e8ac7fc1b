"""A service is ready when it starts: every route is built then, not on its first request
(which blocked the event loop for every request in flight)."""

from __future__ import annotations

import httpx
import pytest
from fairline_events.api import create_app
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute


def _fair_app() -> FastAPI:
    app = create_app(title="t", description="t", version="1")
    booths, halls = APIRouter(), APIRouter()

    @booths.get("/booths/{code}")
    async def booth(code: str) -> dict[str, str]:
        return {"code": code}

    @halls.get("/halls/{code}")
    async def hall(code: str) -> dict[str, str]:
        return {"code": code}

    booths.include_router(halls, prefix="/floor")  # nested, as a service's routers may be
    app.include_router(booths)
    return app


@pytest.fixture
def built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths of the route handlers built from now on."""
    paths: list[str] = []
    build = APIRoute.get_route_handler

    def counting(route: APIRoute) -> object:
        paths.append(route.path)
        return build(route)

    monkeypatch.setattr(APIRoute, "get_route_handler", counting)
    return paths


async def _get(app: FastAPI, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get(path)


async def test_every_route_is_built_at_startup_and_none_on_a_first_request(
    built: list[str],
) -> None:
    app = _fair_app()
    async with app.router.lifespan_context(app):
        at_startup = list(built)
        assert (await _get(app, "/booths/A1")).json() == {"code": "A1"}
        assert (await _get(app, "/floor/halls/H2")).json() == {"code": "H2"}
    assert {"/booths/{code}", "/halls/{code}"} <= set(at_startup)
    assert built == at_startup


async def test_without_the_startup_a_first_request_builds_its_route(built: list[str]) -> None:
    app = _fair_app()
    assert (await _get(app, "/booths/A1")).status_code == 200
    assert "/booths/{code}" in built
