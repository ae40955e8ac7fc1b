"""A partner hotel's feed topic is created as replicated as the service's own topics
(`FAIRLINE_TOPIC_REPLICATION`): the broker is asked for that factor, not for one replica."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest
from fairline_events.kafka import admin_client
from fairline_events.projection import ProjectionRunner
from fairline_events.settings import ServiceSettings
from hotels.jobs import publish_partner_feeds
from hotels.partner.contract import partner_topic
from hotels.projections import partner_feed

pytestmark = pytest.mark.infra


async def waiting_message(pool: asyncpg.Pool, hotel: str) -> None:
    await pool.execute(
        f"""INSERT INTO {partner_feed.schema}.outbox
                (message_id, hotel_code, subject_id, message_type, payload)
            VALUES (gen_random_uuid(), $1, 'b-1', 'booking.created', $2::jsonb)""",
        hotel,
        json.dumps({"booking_id": "b-1"}),
    )


async def replicas(settings: ServiceSettings, topic: str) -> list[int]:
    admin = admin_client(settings.kafka)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert described["error_code"] == 0, described
    return sorted({len(p["replicas"]) for p in described["partitions"]})


async def test_a_partner_feed_is_created_with_the_configured_replication(
    pool: asyncpg.Pool, settings: ServiceSettings
) -> None:
    await ProjectionRunner(partner_feed, pool, settings.kafka, "t.").create_schema()
    await waiting_message(pool, "continental")
    feed = settings.topic(partner_topic("continental"))

    # The test's broker is a single node: asked for two replicas it refuses, which shows
    # that the setting, not a hard-coded 1, reaches it; and the message stays unpublished.
    two: Any = SimpleNamespace(
        pool=pool, settings=settings.model_copy(update={"fairline_topic_replication": 2})
    )
    with pytest.raises(RuntimeError, match=rf"{feed} \(error 38"):
        await publish_partner_feeds(two)
    waiting = f"SELECT count(*) FROM {partner_feed.schema}.outbox WHERE published_at IS NULL"
    assert await pool.fetchval(waiting) == 1

    one: Any = SimpleNamespace(pool=pool, settings=settings)
    assert await publish_partner_feeds(one) == 1
    assert await replicas(settings, feed) == [1]
    assert await pool.fetchval(waiting) == 0
