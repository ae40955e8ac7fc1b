"""Every service's contracts: roles on every endpoint, errors documented, events described."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pytest
from fairline_events.asyncapi import asyncapi_document
from fairline_events.consistency import TOKEN_HEADER
from fairline_events.service import ServiceDefinition, build_app
from fairline_events.settings import ServiceSettings

# /metrics holds counts only (no ids, no personal data), for the Prometheus scraper.
OPEN = {"/healthz", "/readyz", "/asyncapi.json", "/metrics"}
# The public online fair (exhibitors, issue 16) is read by anyone, without a token: reads only.
PUBLIC = "/public/"
# Open by design, each protected by something else than a token (checked by its own test
# below), and named one by one so that no other endpoint slips out with them.
OPEN_BY_DESIGN = {
    # tickets (issue 15): the payment provider calls back with a notification signed by its
    # own key; no bearer token could be given to it.
    ("tickets", "post", "/payments/{provider}/notifications"),
}


def definitions() -> list[ServiceDefinition]:
    found = []
    for name in ("exhibitors", "booths", "forums", "sponsorship", "hotels", "tickets"):
        if (
            importlib.util.find_spec(name) is None
            or importlib.util.find_spec(f"{name}.service") is None
        ):
            continue  # that service is not built yet
        found.append(importlib.import_module(f"{name}.service").definition)
    return found


SETTINGS = ServiceSettings(fairline_auth_secret="x" * 40)


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_every_endpoint_but_health_and_contracts_needs_a_bearer_token(
    definition: ServiceDefinition,
) -> None:
    spec = build_app(definition, SETTINGS).openapi()
    exceptions = {(m, p) for service, m, p in OPEN_BY_DESIGN if service == definition.name}
    for method, path in exceptions:  # an exception names an endpoint that is there, open
        assert "security" not in spec["paths"][path][method], f"{method} {path}"
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in OPEN or (method, path) in exceptions:
                continue
            if path.startswith(PUBLIC):
                assert method == "get" and "security" not in operation, f"{method} {path}"
                continue
            assert operation.get("security") == [{"HTTPBearer": []}], f"{method} {path}"
            assert {"401", "403", "422"} <= set(operation["responses"]), f"{method} {path}"


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_every_read_and_no_command_takes_a_consistency_token(
    definition: ServiceDefinition,
) -> None:
    """A read waits for the writes a command's token names; a command ignores the header, so
    its documentation does not offer it (nor does FastAPI resolve it on every command)."""
    spec = build_app(definition, SETTINGS).openapi()
    reads = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if path in OPEN:
                continue
            if method == "get":
                reads += 1
                assert TOKEN_HEADER in headers, f"{method} {path}"
            else:
                assert TOKEN_HEADER not in headers, f"{method} {path}"
    assert reads


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_the_asyncapi_document_describes_every_event_type(definition: ServiceDefinition) -> None:
    document = asyncapi_document(definition, SETTINGS)
    text = str(document)
    assert document["asyncapi"].startswith("3.")
    assert f"{definition.name}.events" in text
    for name in definition.registry.names():
        assert name in text, name


# --- each exception's own protection --------------------------------------------------------


class _EventStore:
    """Stands for the tickets event store: notes that a request got that far."""

    def __init__(self) -> None:
        self.reached = False

    def __getattr__(self, name: str) -> Any:
        self.reached = True
        raise RuntimeError("no event store in this test")


def _tickets_app(store: _EventStore | None = None) -> Any:
    """The tickets API, not started, its event store a stand-in."""
    if importlib.util.find_spec("tickets") is None:
        pytest.skip(reason="the tickets service is not installed")
    from fairline_events.service import store_of
    from tickets.service import definition

    app = build_app(definition, SETTINGS)
    stand_in = store or _EventStore()

    async def stored() -> _EventStore:
        return stand_in

    app.dependency_overrides[store_of] = stored
    return app


def test_the_payment_callback_believes_only_the_providers_signature() -> None:
    from fastapi.testclient import TestClient
    from tickets.payments import DevPay

    store = _EventStore()
    client = TestClient(_tickets_app(store), raise_server_exceptions=False)
    path = "/payments/devpay/notifications"
    # The dev provider's key comes from the service's secret (tickets.api.common.providers).
    provider = DevPay(SETTINGS.fairline_auth_secret)
    body, signed = provider.notify("order-1", 10_000)
    _, forged = DevPay("somebody else's key").notify("order-1", 10_000)
    _, old = provider.notify("order-1", 10_000, at=1_000_000_000)
    tampered = body.replace(b"10000", b"1")
    for sent, signature in ((body, forged), (body, None), (body, old), (tampered, signed)):
        headers = {"X-DevPay-Signature": signature} if signature else {}
        answer = client.post(path, content=sent, headers=headers)
        assert answer.status_code == 401, (signature, answer.text)
        assert answer.json()["error"]["code"] in ("bad_signature", "stale_notification")
    unknown = client.post("/payments/otherpay/notifications", content=body)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_provider")
    assert not store.reached, "a refused notification never reaches the event store"
    client.post(path, content=body, headers={"X-DevPay-Signature": signed})
    assert store.reached, "the provider's own signature gets through to be recorded"


def test_the_gates_signing_keys_are_public_halves_behind_a_gate_token() -> None:
    """Gates fetch the keys they verify tickets with: only key ids, public halves and which
    one signs now, and only with a gate's (or ops') token."""
    spec = _tickets_app().openapi()
    operation = spec["paths"]["/editions/{edition_code}/signing-keys"]["get"]
    assert operation.get("security") == [{"HTTPBearer": []}]
    schemas = spec["components"]["schemas"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    view = schemas[answer.rsplit("/", 1)[-1]]
    keys = view["properties"]["keys"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert set(view["properties"]) == {"edition_code", "algorithm", "keys"}
    assert set(schemas[keys]["properties"]) == {"key_id", "public_key", "active"}
