"""The projections of one topic in a worker decode each envelope once, and each still checks
what it applies (origin, payload) as if it had decoded it alone."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiokafka.structs import ConsumerRecord
from fairline_events.envelope import Envelope
from fairline_events.errors import MalformedEvent, WrongOrigin
from fairline_events.kafka import KafkaAccess
from fairline_events.projection import _ENVELOPES, Projection, ProjectionRunner
from support.sample_events import BoothHeld, registry

TOPIC = "booths.events"


def projection(name: str) -> Projection:
    board = Projection(name=name, topics=[TOPIC], registry=registry, tables_sql="")

    @board.on(BoothHeld)
    async def held(e: BoothHeld, env: Envelope, tx: object) -> None:
        return None

    return board


def runner(name: str) -> ProjectionRunner:
    # no pool: preparing a batch needs no database
    return ProjectionRunner(projection(name), None, KafkaAccess.plain("unused:9092"), "", "booths")


def record(value: bytes, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"booth-A1", value, None, 8, len(value), [])


def held(service: str = "booths", **data: object) -> bytes:
    return Envelope(
        event_id=uuid.uuid4(),
        event_type="test.BoothHeld",
        schema_version=2,
        stream_id="booth-A1",
        stream_version=1,
        service=service,
        occurred_at=datetime.now(UTC),
        actor="user:sales-1",
        correlation_id=uuid.uuid4(),
        data={"booth": "A1", "exhibitor": "ex-1", "hall": "E1"} | data,
    ).to_json()


@pytest.fixture
def two_readers() -> Iterator[None]:
    """As a worker whose two projections both read the service's topic."""
    _ENVELOPES.join([TOPIC, TOPIC])
    try:
        yield
    finally:
        _ENVELOPES.leave([TOPIC, TOPIC])


def test_the_second_projection_of_a_topic_gets_the_envelope_the_first_decoded(
    two_readers: None,
) -> None:
    raw = held()
    first = runner("floor").prepare([record(raw)])
    # another consumer's record: equal bytes in another object
    second = runner("ledger").prepare([record(bytes(bytearray(raw)))])
    (_, env_a), (_, env_b) = first.decoded[0], second.decoded[0]
    assert env_b is env_a
    assert env_a == Envelope.from_json(raw)
    # each decodes its own event from it, with its own registry
    assert (
        first.events[id(env_a)]
        == second.events[id(env_b)]
        == BoothHeld(booth="A1", exhibitor="ex-1", hall="E1")
    )


def test_each_projection_still_refuses_what_it_would_refuse_alone(two_readers: None) -> None:
    forged, garbage = held(service="tickets"), b'{"event_id": "not a uuid"}'
    bad_payload = held(hall=7)
    for name in ("floor", "ledger"):
        prepared = runner(name).prepare(
            [record(forged), record(garbage, 1), record(bad_payload, 2)]
        )
        assert [type(d.error) for d in prepared.dead] == [WrongOrigin, MalformedEvent]
        ((_, env),) = prepared.decoded
        assert isinstance(prepared.events[id(env)], MalformedEvent)


def test_a_projection_alone_on_its_topic_decodes_for_itself() -> None:
    raw = held()
    a = runner("floor").prepare([record(raw)]).decoded[0][1]
    b = runner("floor").prepare([record(raw)]).decoded[0][1]
    assert a == b and a is not b


def test_only_the_latest_envelopes_are_kept(two_readers: None) -> None:
    values = [held() for _ in range(_ENVELOPES.KEEP + 10)]
    floor = runner("floor")
    first = floor.prepare([record(values[0])]).decoded[0][1]
    floor.prepare([record(v, i) for i, v in enumerate(values[1:], 1)])
    assert len(_ENVELOPES._by_bytes) == _ENVELOPES.KEEP
    again = floor.prepare([record(values[0])]).decoded[0][1]
    assert again == first and again is not first
