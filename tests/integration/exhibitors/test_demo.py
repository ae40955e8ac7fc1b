"""The demo loads a populated year-round fair, and loading it again adds nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from exhibitors.api.statistics import edition_statistics
from exhibitors.demo import load_demo
from exhibitors.projections import agendas, directory, leads, results, showcase
from exhibitors.service import definition
from fairline_events.kafka import KafkaAccess
from fairline_events.projection import ProjectionRunner
from fairline_events.service import Runtime
from fairline_events.settings import ServiceSettings

from .test_statistics import project_everything

pytestmark = pytest.mark.infra


async def test_the_demo_is_populated_and_idempotent(
    settings: ServiceSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FAIRLINE_BLOB_STORE", raising=False)  # the default: PostgreSQL
    runtime = Runtime(definition, settings)
    await runtime.prepare()
    try:
        first = await load_demo(runtime)
        assert first > 100
        assert await load_demo(runtime) == 0
        assert runtime.store is not None and runtime.pool is not None
        pool = runtime.pool
        for projection in (directory, showcase, leads, agendas, results):
            await project_everything(
                runtime.store,
                ProjectionRunner(projection, pool, KafkaAccess.plain("unused:9092"), "t."),
            )
        listed = await pool.fetchval(
            f"SELECT count(*) FROM {directory.schema}.exhibitors"
            " WHERE listed AND edition_code = 'ciftis-2021'"
        )
        assert listed == 7  # what `make run --smoke` checks
        stats = await edition_statistics(pool, "ciftis-2021")
        assert stats.previous is not None and stats.previous.exhibitors == 4
        assert stats.growth is not None and stats.growth.exhibitors == 3
        themes = await pool.fetch(
            f"SELECT DISTINCT theme FROM {directory.schema}.exhibitors WHERE theme IS NOT NULL"
        )
        assert {r["theme"] for r in themes} == {
            "governance",
            "experience",
            "transformation",
            "trust",
        }
        public = await pool.fetchval(
            f"""SELECT count(*) FROM {showcase.schema}.items
                WHERE status = 'published' AND public_content IS NOT NULL"""
        )
        assert public == 21  # three booths, seven items each, approved by the organiser
        assert await pool.fetchval(f"SELECT count(*) FROM {leads.schema}.leads") == 1
        meetings = await pool.fetch(f"SELECT status FROM {agendas.schema}.meetings")
        assert sorted(r["status"] for r in meetings) == ["confirmed", "pending"]
        announced = await pool.fetch(
            f"SELECT company_name FROM {results.schema}.agreements WHERE announced_at IS NOT NULL"
        )
        assert [r["company_name"] for r in announced] == ["Huawei"]
        # Three booths, three files each; the two images are the same bytes, stored once,
        # in the service's database (shared by every replica).
        assert await pool.fetchval("SELECT count(*) FROM blobs") == 2 + 3
    finally:
        await runtime.stop()
