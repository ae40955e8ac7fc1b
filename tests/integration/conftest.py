"""Fixtures of the integration tests that need more than the root conftest's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from fairline_events.db import migrate
from fairline_events.store import EventStore
from fairline_stack.resolve import Infra
from support.read_side import Pipeline, running_pipeline
from support.sample_events import registry


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    """The event store of the sample booth events on the test's own database, migrated."""
    await migrate(pool)
    return EventStore(pool, registry)


@pytest.fixture
async def pipeline(pool: asyncpg.Pool, infra: Infra, unique: str) -> AsyncIterator[Pipeline]:
    """A relay and a live projection of the sample booth board, as a worker runs them."""
    async with running_pipeline(pool, infra, unique) as running:
        yield running
