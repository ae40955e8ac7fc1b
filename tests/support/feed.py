"""Another service's events on its topic, as its relay would send them: a test of a policy or
a projection feeds them in without running that service."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from fairline_events.envelope import Envelope
from fairline_events.kafka import producer
from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.settings import ServiceSettings


class Feed:
    """`service`'s events, encoded with its own `registry`, on `<service>.events`: each event
    the next version of its stream (one envelope each, keyed by the stream), by `actor`."""

    def __init__(
        self, settings: ServiceSettings, service: str, registry: EventRegistry, *, actor: str
    ) -> None:
        self.settings = settings
        self.topic = settings.topic(f"{service}.events")
        self.registry = registry
        self.actor = actor
        self.versions: dict[str, int] = {}

    async def publish(self, *events: tuple[str, DomainEvent]) -> None:
        """Each (stream, event) in order; returns once the broker acknowledged them all."""
        send = producer(self.settings.kafka)
        await send.start()
        try:
            acknowledged = []
            for stream, event in events:
                version = self.versions[stream] = self.versions.get(stream, 0) + 1
                name, schema, data = self.registry.encode(event)
                envelope = Envelope(
                    event_id=uuid.uuid4(),
                    event_type=name,
                    schema_version=schema,
                    stream_id=stream,
                    stream_version=version,
                    occurred_at=datetime.now(UTC),
                    actor=self.actor,
                    correlation_id=uuid.uuid4(),
                    data=data,
                )
                acknowledged.append(
                    await send.send(
                        self.topic,
                        envelope.to_json(),
                        key=stream.encode(),
                        headers=envelope.kafka_headers(),
                    )
                )
            await asyncio.wait_for(asyncio.gather(*acknowledged), 30)
        finally:
            await send.stop()
