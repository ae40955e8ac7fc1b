"""Schemathesis against every service's OpenAPI, served for real (its own process, the real
broker and database): no input a client can send is answered with a 5xx, and every answer
matches the schema the service publishes (issue 11, must-be-true 5).

Each request is sent with one of two tenants' tokens, drawn per case: a member of the
organiser's staff holding every role but admin (to reach every route), and an exhibitor
company's user that is also a planner and a partner hotel (another tenant, refused where the
data is not theirs). Bounded: a few examples per operation and a time budget per service,
about three minutes for all four; the stateful phase runs where the schema declares links.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from fairline_events.auth import ROLES, TokenIssuer
from fairline_events.db import drop_databases
from fairline_events.settings import ServiceSettings, kafka_fields
from fairline_stack.resolve import Infra
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import response_schema_conformance
from support.serving import free_port, start_service

pytestmark = pytest.mark.infra

SERVICES = ("booths", "exhibitors", "hotels", "tickets")
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "6"))
"""Examples per operation and generation mode (positive, then negative)."""
BUDGET = float(os.environ.get("SCHEMATHESIS_SECONDS_PER_SERVICE", "45"))
"""Seconds of fuzzing per service; operations past it are listed as not reached."""
CHECKS = [not_a_server_error, response_schema_conformance]


def tokens(secret: str, service: str) -> list[str]:
    issuer = TokenIssuer(secret, audience=f"fairline-{service}")
    staff = [role for role in ROLES if role != "admin"]
    return [
        issuer.issue("st-staff", staff, name="Staff Member"),
        issuer.issue("st-tenant-b", ["exhibitor", "delegation_planner", "partner_hotel"]),
    ]


@pytest.fixture(scope="module")
def infra_settings(infra: Infra) -> Iterator[ServiceSettings]:
    unique = f"st{uuid.uuid4().hex[:8]}"
    settings = ServiceSettings(
        database_url=infra.database_url,
        **kafka_fields(infra.kafka),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret="st-secret-" + "x" * 40,
    )
    yield settings
    _drop_databases(settings)


def _drop_databases(settings: ServiceSettings) -> None:
    import asyncio

    async def drop() -> None:
        await drop_databases(settings.database_url, settings.fairline_database_prefix)

    asyncio.run(drop())


def served(service: str, settings: ServiceSettings) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = start_service(service, settings, port, quiet=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{service} exited with {process.returncode}")
        time.sleep(0.5)
    raise RuntimeError(f"{service} not ready in 90 s")


def fuzz_operation(
    operation: Any,
    mode: GenerationMode,
    who: list[str],
    failures: list[str],
    statuses: Counter[int],
) -> None:
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,  # the same cases every run: a failure is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), token=st.sampled_from(who))
    def run(case: Any, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        response = case.call(headers=headers, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    except Unsatisfiable:  # e.g. no invalid request exists for an operation without inputs
        pass
    except Exception as exc:  # one line per failing operation, the whole list at the end
        failures.append(f"{operation.label} [{mode.value}]: {str(exc)[:1500]}")


def run_state_machine(schema: Any, who: list[str], failures: list[str]) -> str:
    """Schemathesis's stateful phase: it follows the links the schema declares."""
    try:
        machine = schema.as_state_machine()
    except Exception as exc:  # no links declared: nothing to chain
        return f"stateful: not run ({type(exc).__name__})"
    headers = {"Authorization": f"Bearer {who[0]}"}

    class Machine(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers, "timeout": 30}

        def validate_response(self, response: Any, case: Any, **kw: Any) -> None:
            case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        Machine.run(
            settings=settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                stateful_step_count=5,
                suppress_health_check=list(HealthCheck),
            )
        )
    except Exception as exc:
        if "no link definitions" in str(exc):
            return "stateful: not run (the schema declares no links)"
        failures.append(f"stateful: {str(exc)[:1500]}")
    return "stateful: run"


@pytest.mark.parametrize("service", SERVICES)
def test_no_input_gets_a_5xx_and_every_answer_matches_the_schema(
    service: str, infra_settings: ServiceSettings
) -> None:
    process, base = served(service, infra_settings)
    try:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        schema.config.update(base_url=base)
        who = tokens(infra_settings.fairline_auth_secret, service)
        failures: list[str] = []
        reached, skipped = 0, []
        statuses: Counter[int] = Counter()
        deadline = time.monotonic() + BUDGET
        for result in schema.get_all_operations():
            if isinstance(result, Err):  # an operation schemathesis cannot read is a failure
                failures.append(f"invalid schema: {result.err()}")
                continue
            operation = result.ok()
            if time.monotonic() > deadline:
                skipped.append(operation.label)
                continue
            reached += 1
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                fuzz_operation(operation, mode, who, failures, statuses)
        stateful = run_state_machine(schema, who, failures)
        print(
            f"{service}: {reached} operations fuzzed, {len(skipped)} past the budget"
            f" {skipped}; {stateful}; answers {sorted(statuses.items())}"
        )
        assert not failures, f"{service}: {len(failures)} failing\n" + "\n\n".join(failures)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
