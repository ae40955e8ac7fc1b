"""Reading a whole topic back, as an independent consumer would."""

from __future__ import annotations

from aiokafka import ConsumerRecord, TopicPartition
from fairline_events.kafka import KafkaAccess, consumer, topic_partitions


async def read_topic(kafka: KafkaAccess, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    reader = consumer(kafka, enable_auto_commit=False, auto_offset_reset="earliest")
    await reader.start()
    try:
        partitions = await topic_partitions(kafka, [topic])
        if not partitions:
            return []
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        end = await reader.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in partitions if await reader.position(tp) < end[tp]]:
            batch = await reader.getmany(timeout_ms=1000)
            for tp_records in batch.values():
                records.extend(tp_records)
        return records
    finally:
        await reader.stop()


async def end_offsets(kafka: KafkaAccess, topic: str) -> dict[TopicPartition, int]:
    """Where each partition of `topic` ends now (the offset its next record will get)."""
    reader = consumer(kafka, enable_auto_commit=False)
    await reader.start()
    try:
        partitions = await topic_partitions(kafka, [topic])
        return dict(await reader.end_offsets(partitions)) if partitions else {}
    finally:
        await reader.stop()
