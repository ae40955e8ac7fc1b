"""The service's clocks: cut-off releases and the partner feeds' publisher.

Both find their work in the database, so a restart loses nothing: a block whose cut-off
passed while the service was down is released on the first tick after it comes back, and an
unpublished feed message is published then.
"""

from __future__ import annotations

import asyncio

import structlog
from fairline_events.context import CommandContext
from fairline_events.errors import DomainError
from fairline_events.jobs import Job
from fairline_events.kafka import ensure_topics
from fairline_events.kafka import producer as make_producer
from fairline_events.service import Runtime

from .domain.commands import ReleaseBlock
from .handlers import release_block
from .partner.contract import CONTRACT_VERSION, partner_topic
from .projections import partner_feed, rooming

log = structlog.get_logger(__name__)


async def release_due_blocks(runtime: Runtime) -> int:
    """Release every open block whose cut-off passed: sub-blocks before their parents.

    Each is the `release_block` command the API's early release runs too; the decision
    checks the cut-off again on the block's own stream, so a stale read model releases
    nothing too early."""
    assert runtime.pool is not None and runtime.store is not None
    due = await runtime.pool.fetch(
        f"""SELECT block_id FROM {rooming.schema}.blocks
            WHERE status = 'open' AND cut_off_at <= now()
            ORDER BY parent_block_id IS NULL, cut_off_at, block_id LIMIT 200"""
    )
    released = 0
    context = CommandContext.system("cut-off", reason="the block's cut-off passed")
    for row in due:
        command = ReleaseBlock(block_id=row["block_id"], at_cut_off=True)
        try:
            if (await release_block(runtime.store, command, context)).events:
                released += 1
        except DomainError as exc:  # e.g. a sub-block the read model has not seen yet
            log.warning("block not released yet", block_id=row["block_id"], code=exc.code)
    return released


_known_topics: set[str] = set()


async def publish_partner_feeds(runtime: Runtime, batch: int = 500) -> int:
    """Send unpublished feed messages to their hotel's topic; mark them once Kafka has them."""
    assert runtime.pool is not None
    rows = await runtime.pool.fetch(
        f"""SELECT seq, message_id, hotel_code, subject_id, message_type, payload::text AS payload
            FROM {partner_feed.schema}.outbox WHERE published_at IS NULL ORDER BY seq LIMIT $1""",
        batch,
    )
    if not rows:
        return 0
    kafka = runtime.settings.kafka
    topics = {r["hotel_code"]: runtime.settings.topic(partner_topic(r["hotel_code"])) for r in rows}
    missing = sorted(set(topics.values()) - _known_topics)
    if missing:
        # as replicated as the service's own topics (FAIRLINE_TOPIC_REPLICATION), or one
        # broker's loss would take a hotel's feed with it
        replication = runtime.settings.fairline_topic_replication
        await ensure_topics(kafka, missing, replication=replication)
        _known_topics.update(missing)
    producer = make_producer(kafka)
    await producer.start()
    try:
        sends = [
            await producer.send(
                topics[r["hotel_code"]],
                r["payload"].encode(),
                key=r["subject_id"].encode(),
                headers=[
                    ("message_type", r["message_type"].encode()),
                    ("contract_version", str(CONTRACT_VERSION).encode()),
                    ("message_id", str(r["message_id"]).encode()),
                    ("content-type", b"application/json"),
                ],
            )
            for r in rows
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    await runtime.pool.execute(
        f"UPDATE {partner_feed.schema}.outbox SET published_at = now() WHERE seq = ANY($1)",
        [r["seq"] for r in rows],
    )
    return len(rows)


cut_off_job = Job(name="hotels.cut-off", every=1.0, run=release_due_blocks)
partner_feed_job = Job(name="hotels.partner-feed", every=0.5, run=publish_partner_feeds)
