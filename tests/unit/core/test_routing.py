"""A service's routes are the app's own, tried once each in the order its routers declare
them: every request reaches the route it reached when the routers were included apart."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from booths.service import definition as booths
from fairline_events.service import ServiceDefinition, build_app
from fastapi.routing import APIRoute
from starlette.routing import Match
from unit.core.test_contracts import SETTINGS, definitions


def concrete(path: str) -> str:
    """The template's path with a made-up value in each parameter."""
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_each_request_reaches_the_first_declared_route_of_its_path_and_method(
    definition: ServiceDefinition,
) -> None:
    app = build_app(definition, SETTINGS)
    declared = [r for router in definition.routers for r in router.routes]
    assert all(isinstance(r, APIRoute) for r in declared)
    methods = {id(r): r.methods or set() for r in declared if isinstance(r, APIRoute)}
    for route in declared:
        assert isinstance(route, APIRoute)
        for method in methods[id(route)]:
            path = concrete(route.path)
            scope = {"type": "http", "method": method, "path": path, "root_path": ""}
            first = next(
                r
                for r in declared
                if isinstance(r, APIRoute) and r.path_regex.match(path) and method in methods[id(r)]
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
