"""The event envelope: what is stored, relayed and consumed.

One JSON encoding everywhere (the event table, Kafka values, the AsyncAPI contract):
`Envelope.model_dump_json()`. The domain payload sits in `data`, exactly as its registered
schema version says; who did it (`actor`), why (`reason`), when (`occurred_at`) and the W3C
trace context travel beside it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import MalformedEvent
from .registry import DomainEvent, EventRegistry


class Envelope(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID
    event_type: str
    schema_version: int = Field(ge=1)
    stream_id: str
    stream_version: int = Field(ge=1, description="1 for a stream's first event")
    service: str | None = Field(
        default=None,
        description="the service whose event store wrote it; a consumer refuses it on another"
        " service's topic (events relayed before the field existed have none)",
    )
    position: int | None = Field(
        default=None, description="global position in the service's event table"
    )
    occurred_at: AwareDatetime
    actor: str = Field(description="who: a user id or a system process, e.g. system:hold-expiry")
    reason: str | None = Field(default=None, description="why, in the actor's words")
    command: str | None = Field(default=None, description="the command that decided this event")
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    trace_context: dict[str, str] = Field(
        default_factory=dict, description="W3C traceparent/tracestate of the deciding request"
    )
    data: dict[str, Any]

    @field_validator("occurred_at")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        """Decode one envelope; anything that is not one raises MalformedEvent."""
        try:
            return cls.model_validate_json(raw)
        except ValidationError as exc:
            raise MalformedEvent(str(exc.errors(include_url=False))) from exc

    def event(self, registry: EventRegistry) -> DomainEvent:
        return registry.decode(self.event_type, self.schema_version, self.data)

    def kafka_headers(self) -> list[tuple[str, bytes]]:
        """Headers that let consumers route and trace without parsing the value."""
        headers = [
            ("event_type", self.event_type.encode()),
            ("schema_version", str(self.schema_version).encode()),
            ("event_id", str(self.event_id).encode()),
            ("content-type", b"application/json"),
        ]
        headers += [(k, v.encode()) for k, v in self.trace_context.items()]
        return headers
