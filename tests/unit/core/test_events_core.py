"""The envelope, the event registry and a command's context: one encoding, typed errors,
upcasting, the metadata every event carries."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fairline_events.context import CommandContext
from fairline_events.envelope import Envelope
from fairline_events.errors import MalformedEvent, UnknownEventType
from fairline_events.registry import DomainEvent, EventRegistry
from support.sample_events import BoothHeld, BoothReleased, registry


def envelope(**overrides: object) -> Envelope:
    fields: dict[str, object] = {
        "event_id": uuid.uuid4(),
        "event_type": "test.BoothHeld",
        "schema_version": 2,
        "stream_id": "booth-A1",
        "stream_version": 1,
        "occurred_at": datetime(2021, 9, 2, 9, 30, tzinfo=timezone(timedelta(hours=8))),
        "actor": "user:sales-1",
        "reason": "walk-in at the CNCC sales desk",
        "correlation_id": uuid.uuid4(),
        "trace_context": {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"},
        "data": {"booth": "A1", "exhibitor": "ex-1", "hall": "E1"},
    }
    return Envelope.model_validate(fields | overrides)


def test_the_json_encoding_round_trips_and_is_in_utc() -> None:
    original = envelope()
    decoded = Envelope.from_json(original.to_json())
    assert decoded == original
    assert decoded.occurred_at.utcoffset() == timedelta(0)
    assert decoded.occurred_at == datetime(2021, 9, 2, 1, 30, tzinfo=UTC)


def test_the_envelope_decodes_to_its_domain_event() -> None:
    assert envelope().event(registry) == BoothHeld(booth="A1", exhibitor="ex-1", hall="E1")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"{}",
        b'{"event_type": 3}',
        envelope().to_json().replace(b'"actor"', b'"who"'),
    ],
)
def test_anything_that_is_not_an_envelope_raises_malformed_event(raw: bytes) -> None:
    with pytest.raises(MalformedEvent):
        Envelope.from_json(raw)


def test_a_naive_timestamp_is_refused() -> None:
    with pytest.raises(ValueError):
        envelope(occurred_at=datetime(2021, 9, 2, 9, 30))


def test_unknown_types_and_future_versions_raise_unknown_event_type() -> None:
    with pytest.raises(UnknownEventType):
        envelope(event_type="test.BoothPainted").event(registry)
    with pytest.raises(UnknownEventType):
        envelope(schema_version=3).event(registry)


def test_a_payload_that_does_not_fit_its_schema_raises_malformed_event() -> None:
    with pytest.raises(MalformedEvent):
        envelope(data={"booth": "A1"}).event(registry)
    with pytest.raises(MalformedEvent):
        envelope(data={"booth": "A1", "exhibitor": "ex", "hall": "E1", "colour": "red"}).event(
            registry
        )


def test_an_old_version_is_upcast_to_the_current_shape() -> None:
    old = envelope(schema_version=1, data={"booth": "A1", "exhibitor": "ex-1"})
    assert old.event(registry) == BoothHeld(booth="A1", exhibitor="ex-1", hall="E1")


def test_encoding_names_the_registered_type_and_version() -> None:
    assert registry.encode(BoothReleased(booth="A1")) == (
        "test.BoothReleased",
        1,
        {"booth": "A1"},
    )


def test_an_unregistered_event_cannot_be_encoded() -> None:
    class Stray(DomainEvent):
        note: str

    with pytest.raises(UnknownEventType):
        registry.encode(Stray(note="x"))


def test_a_type_name_cannot_be_registered_twice() -> None:
    other = EventRegistry()
    other.event("test.Twice")(type("A", (DomainEvent,), {}))
    with pytest.raises(ValueError):
        other.event("test.Twice")(type("B", (DomainEvent,), {}))


def test_a_version_without_its_upcaster_is_unknown() -> None:
    other = EventRegistry()

    @other.event("test.Moved", version=3)
    class Moved(DomainEvent):
        to: str

    @other.upcaster("test.Moved", from_version=2)
    def _v2(data: dict[str, object]) -> dict[str, object]:
        return {"to": data["target"]}

    assert other.decode("test.Moved", 2, {"target": "B2"}) == Moved(to="B2")
    with pytest.raises(UnknownEventType):
        other.decode("test.Moved", 1, {"target": "B2"})


def test_a_commands_context_carries_everything_but_the_commands_name_and_reason() -> None:
    """`for_command` copies the context field by field: a field it forgot would leave the
    events of every command without it."""
    base = CommandContext(actor="user:sales-1")
    given: dict[str, Any] = {f.name: object() for f in dataclasses.fields(CommandContext)}
    context = dataclasses.replace(base, **given)

    named = context.for_command("HoldBooth")
    because = context.for_command("HoldBooth", reason="the exhibitor asked")

    for f in dataclasses.fields(CommandContext):
        if f.name == "command":
            assert named.command == because.command == "HoldBooth"
        elif f.name == "reason":
            assert named.reason is given["reason"]
            assert because.reason == "the exhibitor asked"
        else:
            assert getattr(named, f.name) is getattr(because, f.name) is given[f.name], f.name
