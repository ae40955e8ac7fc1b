"""The demo edition loads through the same handlers as the API (as planned on 1 August 2021),
keeps each guest's key with their booking, and loading it again adds nothing."""

from __future__ import annotations

import pytest
from fairline_events.service import Runtime
from fairline_events.settings import ServiceSettings
from hotels.demo import BOOKINGS, load_demo
from hotels.domain.blocks import BLOCK, block_stream
from hotels.service import definition

pytestmark = pytest.mark.infra


async def test_the_demo_loads_through_the_handlers_and_only_once(
    settings: ServiceSettings,
) -> None:
    runtime = Runtime(definition, settings)
    await runtime.prepare()
    try:
        assert runtime.store is not None and runtime.pool is not None
        assert await load_demo(runtime) > 100
        assert await load_demo(runtime) == 0
        stream_id = block_stream("demo-delegations")
        parent, _ = await runtime.store.load(stream_id, BLOCK.evolve, BLOCK.initial(stream_id))
        assert parent.sub_blocks == ("demo-delegation-sg", "demo-delegation-gb")
        keys = await runtime.pool.fetchval(
            "SELECT count(*) FROM guest_keys k JOIN guest_key_grants g USING (key_id)"
        )
        assert keys == len(BOOKINGS), "each guest's key, and their hotel's right to fetch it"
    finally:
        await runtime.stop()
