"""Kafka client settings that do not lose data, and topic management.

aiokafka defaults to acks=1 without idempotence; every producer here waits for all in-sync
replicas and is idempotent, so a retried send never duplicates or reorders within a partition.
"""

from __future__ import annotations

import contextlib
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

DEFAULT_PARTITIONS = 3


def safe_producer_config() -> dict[str, Any]:
    return {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 512 * 1024,  # the default 16 KiB batch caps throughput
        "request_timeout_ms": 15_000,
        "retry_backoff_ms": 200,
    }


def producer(bootstrap_servers: str, **overrides: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers, **(safe_producer_config() | overrides)
    )


async def ensure_topics(
    bootstrap_servers: str,
    topics: list[str],
    partitions: int = DEFAULT_PARTITIONS,
    replication: int = 1,
) -> None:
    """Create the topics that do not exist yet (`replication` 1 suits one local broker only)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            t,
                            num_partitions=partitions,
                            replication_factor=replication,
                            # Kept forever: projections are rebuilt by replaying the topic.
                            topic_configs={"retention.ms": "-1", "retention.bytes": "-1"},
                        )
                        for t in missing
                    ]
                )
    finally:
        await admin.close()


async def topic_partitions(bootstrap_servers: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics` (a consumer only learns them once it subscribed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    )
