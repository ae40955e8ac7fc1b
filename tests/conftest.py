"""Shared fixtures: the real Kafka broker and PostgreSQL server, found as the README says.

Order: KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL from the environment; testcontainers when a
Docker engine answers; otherwise the project's local stack (started when needed). Every test
gets its own database and topic prefix, so runs never see each other's data.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from fairline_events.db import (
    create_pool,
    drop_database,
    drop_databases,
    ensure_database,
    with_database,
)
from fairline_events.kafka import delete_topics
from fairline_events.settings import ServiceSettings, kafka_fields
from fairline_stack.resolve import Infra

RUN = uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
async def infra() -> Infra:
    from fairline_stack.resolve import infrastructure

    return await infrastructure()


@pytest.fixture
def unique() -> str:
    return f"t{RUN}{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def database_url(infra: Infra, unique: str) -> AsyncIterator[str]:
    url = with_database(infra.database_url, unique)
    await ensure_database(url)
    yield url
    await drop_database(url)


@pytest.fixture
async def pool(database_url: str):  # type: ignore[no-untyped-def]
    pool = await create_pool(database_url, min_size=1, max_size=30)
    yield pool
    await pool.close()


@pytest.fixture
async def settings(infra: Infra, unique: str) -> AsyncIterator[ServiceSettings]:
    """Settings for a service under test: its own databases and topics, dropped afterwards."""
    yield ServiceSettings(
        database_url=infra.database_url,
        **kafka_fields(infra.kafka),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret="test-secret-" + "x" * 40,
    )
    await drop_databases(infra.database_url, f"{unique}_")
    await delete_topics(infra.kafka, f"{unique}.")
