"""A service's routes are the app's own, tried once each in the order its routers declare
them: every request reaches the route it reached when the routers were included apart."""

from __future__ import annotations

import itertools
import re
from typing import Any

import httpx
import pytest
from booths.service import definition as booths
from fairline_events.service import (
    ROUTE_ARGUMENTS,
    ServiceDefinition,
    _quick,
    _QuickMatch,
    build_app,
)
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from starlette.routing import Match
from unit.core.test_contracts import SETTINGS, definitions


def settled(value: Any) -> Any:
    """A FastAPI default as the value it stands for."""
    return value.value if isinstance(value, DefaultPlaceholder) else value


def declared_routes(definition: ServiceDefinition) -> list[APIRoute]:
    """The service's routes in the order its routers declare them (API routes only)."""
    declared = [r for router in definition.routers for r in router.routes]
    assert all(isinstance(r, APIRoute) for r in declared)
    return [r for r in declared if isinstance(r, APIRoute)]


def http_scope(method: str, path: str, root_path: str = "") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": root_path + path, "root_path": root_path}


def concrete(path: str) -> str:
    """The template's path with a made-up value in each parameter."""
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_each_request_reaches_the_first_declared_route_of_its_path_and_method(
    definition: ServiceDefinition,
) -> None:
    app = build_app(definition, SETTINGS)
    declared = declared_routes(definition)
    methods = {id(r): r.methods or set() for r in declared}
    for route in declared:
        for method in methods[id(route)]:
            path = concrete(route.path)
            scope = http_scope(method, path)
            first = next(
                r for r in declared if r.path_regex.match(path) and method in methods[id(r)]
            )
            reached = next(r for r in app.router.routes if r.matches(scope)[0] == Match.FULL)
            assert getattr(reached, "endpoint", None) is first.endpoint, f"{method} {path}"


async def answer(app: Any, method: str, path: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, json={})


async def test_a_route_answers_its_path_another_method_is_405_an_unknown_path_404() -> None:
    app = build_app(booths, SETTINGS)
    hold = "/editions/ciftis-2021/booths/E1-001/hold"

    assert (await answer(app, "POST", hold)).status_code == 401  # its route: no token
    wrong = await answer(app, "GET", hold)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert (await answer(app, "POST", "/editions/ciftis-2021/no-such-thing")).status_code == 404


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_the_apps_routes_are_the_routers_routes_in_every_argument(
    definition: ServiceDefinition,
) -> None:
    app = build_app(definition, SETTINGS)
    declared = declared_routes(definition)
    flat = [r for r in app.router.routes if isinstance(r, _QuickMatch)]  # the services' own
    assert ROUTE_ARGUMENTS and len(flat) == len(declared)
    for original, route in zip(declared, flat, strict=True):
        for name in ROUTE_ARGUMENTS:
            expected = getattr(original, name)
            if name == "responses":  # the app's own (its error bodies) under the route's
                expected = {**app.router.responses, **expected}
            assert settled(getattr(route, name)) == settled(expected), (route.path, name)


@pytest.mark.parametrize("root_path", ["", "/fairline"])
@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_a_quick_match_answers_as_fastapis_own_for_every_path(
    definition: ServiceDefinition, root_path: str
) -> None:
    declared = declared_routes(definition)
    paths = {concrete(r.path) for r in declared} | {"/no/such/path"}
    for route in declared:
        quick = _quick(type(route))(route.path, route.endpoint, methods=route.methods)
        for path, method in itertools.product(paths, ["GET", "POST", "PUT", "DELETE"]):
            quick_match, _ = quick.matches(http_scope(method, path, root_path))
            own_match, _ = APIRoute.matches(quick, http_scope(method, path, root_path))
            assert quick_match == own_match, (route.path, method, path)
