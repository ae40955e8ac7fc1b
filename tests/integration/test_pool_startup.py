"""An API process opens its connections at startup: the first burst of commands never waits
on PostgreSQL connecting (a SCRAM exchange and a forked backend each)."""

from __future__ import annotations

import pytest
from fairline_events.cli import serving
from fairline_events.service import Runtime
from fairline_events.settings import ServiceSettings
from hotels.service import definition

pytestmark = pytest.mark.infra


async def _opened(settings: ServiceSettings) -> tuple[int, int]:
    """Connections the pool holds right after startup, and those the server sees."""
    runtime = Runtime(definition, settings)
    await runtime.prepare()
    assert runtime.pool is not None
    try:
        database = settings.service_database_url(definition.name).rsplit("/", 1)[-1]
        async with runtime.pool.acquire() as conn:
            seen = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1", database
            )
        return runtime.pool.get_size(), int(seen)
    finally:
        await runtime.pool.close()


async def test_an_api_process_opens_its_whole_pool_at_startup(settings: ServiceSettings) -> None:
    api = serving(settings.model_copy(update={"database_pool_size": 5}))
    assert await _opened(api) == (5, 5)


async def test_a_configured_number_is_opened_and_other_processes_open_two(
    settings: ServiceSettings,
) -> None:
    chosen = serving(
        settings.model_copy(update={"database_pool_size": 5, "database_pool_opened": 3})
    )
    assert await _opened(chosen) == (3, 3)
    assert await _opened(settings.model_copy(update={"database_pool_size": 5})) == (2, 2)
