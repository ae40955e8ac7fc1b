"""Who calls a command: the bearer token, the role a route needs, the store and the context its
events carry, resolved as ONE dependency (`Acting`); the OpenAPI still names `HTTPBearer` and
the `X-Correlation-ID` header."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Annotated, Any

import httpx
import pytest
from fairline_events.api import create_app
from fairline_events.auth import Role, TokenIssuer
from fairline_events.dependencies import Acting, Caller, _Acting, acting
from fairline_events.service import ServiceDefinition, store_of
from fastapi import Depends
from fastapi.dependencies.models import Dependant
from unit.core.test_contracts import definitions
from unit.core.test_routing import declared_routes

SECRET = "s" * 40
AsSales = Annotated[Acting, Depends(acting("sales", "ops"))]
STORE = object()
"""Stands for the service's event store: a route gets the one its runtime holds."""


@pytest.fixture
def app() -> Any:
    app = create_app(title="t", description="d", version="1")
    issuer = TokenIssuer(SECRET)
    app.state.token_issuer, app.state.token_verifier = issuer, issuer.verifier
    app.state.runtime = SimpleNamespace(store=STORE)

    @app.post("/booths/{code}/hold")
    async def hold(code: str, acting: AsSales) -> dict[str, Any]:
        return {
            "code": code,
            "who": acting.who.subject,
            "actor": acting.context.actor,
            "correlation": str(acting.context.correlation_id),
            "store": acting.store is STORE,
        }

    @app.get("/me")
    async def me(who: Caller) -> dict[str, Any]:
        return {"who": who.subject, "roles": sorted(who.roles)}

    return app


async def _call(app: Any, method: str, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.request(method, path, headers=headers)


def _bearer(app: Any, subject: str, *roles: str) -> str:
    return f"Bearer {app.state.token_issuer.issue(subject, list(roles))}"


async def test_the_sales_desk_holds_and_its_events_name_it(app: Any) -> None:
    answer = await _call(app, "POST", "/booths/A1/hold", Authorization=_bearer(app, "ana", "sales"))
    assert answer.status_code == 200
    assert {k: v for k, v in answer.json().items() if k != "correlation"} == {
        "code": "A1",
        "who": "ana",
        "actor": "user:ana",
        "store": True,
    }
    admin = await _call(app, "POST", "/booths/A1/hold", Authorization=_bearer(app, "bo", "admin"))
    assert admin.status_code == 200


async def test_the_correlation_header_ties_the_command_to_a_business_action(app: Any) -> None:
    sales = _bearer(app, "ana", "sales")
    action = str(uuid.uuid4())
    given = await _call(
        app, "POST", "/booths/A1/hold", Authorization=sales, **{"X-Correlation-ID": action}
    )
    assert given.json()["correlation"] == action
    first, second = [
        (await _call(app, "POST", "/booths/A1/hold", Authorization=sales)).json()["correlation"]
        for _ in range(2)
    ]
    assert first != second, "without the header each command gets a correlation of its own"


async def test_a_caller_without_the_role_is_refused_with_the_roles_it_needs(app: Any) -> None:
    answer = await _call(
        app, "POST", "/booths/A1/hold", Authorization=_bearer(app, "vi", "visitor")
    )
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "missing_role"
    assert answer.json()["error"]["details"] == {"required": ["sales", "ops"]}


@pytest.mark.parametrize("authorization", [None, "Basic dXNlcjpwdw==", "Bearer", "Bearer x.y.z"])
async def test_no_or_a_bad_token_is_a_401_challenge(app: Any, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in (("POST", "/booths/A1/hold"), ("GET", "/me")):
        answer = await _call(app, method, path, **headers)
        assert answer.status_code == 401, (method, path, authorization)
        assert answer.json()["error"]["code"] == "unauthenticated"
        assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="fairline"')


async def test_a_token_is_verified_once_however_many_dependencies_ask(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    verifier = app.state.token_verifier
    checked = 0
    verify = verifier._verify

    def counting(token: str) -> Any:
        nonlocal checked
        checked += 1
        return verify(token)

    monkeypatch.setattr(verifier, "_verify", counting)
    token = _bearer(app, "ana", "sales")
    for _ in range(3):
        assert (await _call(app, "POST", "/booths/A1/hold", Authorization=token)).status_code == 200
    assert checked == 1


def test_the_openapi_names_one_bearer_scheme(app: Any) -> None:
    spec = app.openapi()
    assert spec["components"]["securitySchemes"] == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "JWT from the Fairline issuer",
        }
    }
    for path, method in (("/booths/{code}/hold", "post"), ("/me", "get")):
        assert spec["paths"][path][method]["security"] == [{"HTTPBearer": []}]
    headers = [
        p["name"]
        for p in spec["paths"]["/booths/{code}/hold"]["post"]["parameters"]
        if p["in"] == "header"
    ]
    assert headers == ["X-Correlation-ID"]


def header_names(dependant: Dependant) -> list[str]:
    """The headers a route declares, its dependencies' included."""
    own = [p.alias for p in dependant.header_params]
    return own + [name for d in dependant.dependencies for name in header_names(d)]


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_every_command_resolves_its_caller_store_and_context_as_one_dependency(
    definition: ServiceDefinition,
) -> None:
    """One way to write a command in every service: the route that takes a correlation id
    takes it with its caller and store, through its role alias for commands (FastAPI
    resolves each dependency of a route on every request)."""
    commands = 0
    for route in declared_routes(definition):
        headers = header_names(route.dependant)
        calls = [d.call for d in route.dependant.dependencies]
        if "X-Correlation-ID" not in headers:
            assert not any(isinstance(c, _Acting) for c in calls), route.path
            continue
        commands += 1
        assert [c for c in calls if isinstance(c, Role)] == [
            c for c in calls if isinstance(c, _Acting)
        ], f"{route.path}: one role check, the one that brings the store and context"
        assert len([c for c in calls if isinstance(c, _Acting)]) == 1, route.path
        assert store_of not in calls, route.path
    assert commands > 0
