"""Every service's contracts: roles on every endpoint, errors documented, events described."""

from __future__ import annotations

import importlib
import importlib.util

import pytest
from fairline_events.asyncapi import asyncapi_document
from fairline_events.service import ServiceDefinition, build_app
from fairline_events.settings import ServiceSettings

# /metrics holds counts only (no ids, no personal data), for the Prometheus scraper.
OPEN = {"/healthz", "/readyz", "/asyncapi.json", "/metrics"}
# The public online fair (exhibitors, issue 16) is read by anyone, without a token: reads only.
PUBLIC = "/public/"


def definitions() -> list[ServiceDefinition]:
    found = []
    for name in ("exhibitors", "booths", "forums", "sponsorship", "hotels"):
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
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path in OPEN:
                continue
            if path.startswith(PUBLIC):
                assert method == "get" and "security" not in operation, f"{method} {path}"
                continue
            assert operation.get("security") == [{"HTTPBearer": []}], f"{method} {path}"
            assert {"401", "403", "422"} <= set(operation["responses"]), f"{method} {path}"


@pytest.mark.parametrize("definition", definitions(), ids=lambda d: d.name)
def test_the_asyncapi_document_describes_every_event_type(definition: ServiceDefinition) -> None:
    document = asyncapi_document(definition, SETTINGS)
    text = str(document)
    assert document["asyncapi"].startswith("3.")
    assert f"{definition.name}.events" in text
    for name in definition.registry.names():
        assert name in text, name
