"""A `work` process whose projections start while PostgreSQL is down waits for it and then
projects as usual, instead of exiting with its relay half started (seen once in CI: on a busy
machine the fault run killed PostgreSQL while the worker was still starting, and nothing
caught up any more).

The database is a throwaway server of this test's own (see support.own_postgres).
"""

from __future__ import annotations

import asyncio

import pytest
from fairline_events.service import Runtime, build_app
from fairline_events.settings import ServiceSettings
from hotels.service import definition
from support.own_postgres import crash, own_postgres, restart
from support.serving import serving
from support.waiting import eventually

pytestmark = pytest.mark.infra


async def test_a_worker_whose_projections_start_while_postgres_is_down_waits_and_then_projects(
    settings: ServiceSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with own_postgres() as server:
        # The shared stack's Kafka, this test's own PostgreSQL; its topics go at teardown.
        on_own_server = settings.model_copy(update={"database_url": server.dsn})
        worker = Runtime(definition, on_own_server)
        await worker.prepare()

        async def prepared() -> None:
            """Already done: the crash below lands after `prepare`, as on a busy machine."""

        monkeypatch.setattr(worker, "prepare", prepared)
        await asyncio.to_thread(crash, server)
        starting = asyncio.create_task(worker.start(jobs=False))
        try:
            await asyncio.sleep(3.0)
            assert not starting.done(), (
                f"the worker gave up while PostgreSQL was down: {starting.exception()!r}"
            )
            await asyncio.to_thread(restart, server)
            await asyncio.wait_for(starting, 60)
            assert [live.runner.projection.name for live in worker.live] == [
                p.name for p in definition.projections
            ]

            app = build_app(definition, on_own_server, relay=False, projections=False, jobs=False)
            ops = {"Authorization": f"Bearer {app.state.token_issuer.issue('ops-1', ['ops'])}"}
            async with serving(app) as client:
                hotel: dict[str, object] = {"hotel_code": "shougang-inn", "name_zh": "首钢酒店"}
                hotel |= {"name_en": "Shougang Inn", "room_types": {"standard": 40}}
                created = await client.post("/hotels", json=hotel, headers=ops)
                assert created.status_code == 201, created.text

                async def listed() -> list[str]:
                    response = await client.get("/hotels", headers=ops)
                    return [h["hotel_code"] for h in response.json()]

                # Relayed by the worker's relay and applied by its projection.
                await eventually(
                    listed, lambda codes: "shougang-inn" in codes, within=60, what="projected"
                )
        finally:
            if not starting.done():
                starting.cancel()
            await worker.stop()
