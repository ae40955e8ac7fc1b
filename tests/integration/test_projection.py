"""The projection runner and its live consumer, against the real broker and database."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fairline_events import projection as projection_module
from fairline_events import telemetry
from fairline_events.context import CommandContext
from fairline_events.envelope import Envelope
from fairline_events.kafka import producer
from fairline_events.store import EventStore
from support.kafka_read import read_topic
from support.read_side import Pipeline
from support.sample_events import BoothHeld, BoothReleased
from support.waiting import eventually

pytestmark = pytest.mark.infra

ctx = CommandContext(actor="user:sales-1")


async def hold_and_release(store: EventStore, booths: int, released: int) -> None:
    for i in range(booths):
        await store.append(
            f"booth-{i}", [BoothHeld(booth=f"A{i}", exhibitor="ex", hall="E1")], 0, ctx
        )
    for i in range(released):
        await store.append(f"booth-{i}", [BoothReleased(booth=f"A{i}")], 1, ctx)


async def test_redelivered_messages_leave_the_read_model_unchanged(pipeline: Pipeline) -> None:
    await hold_and_release(pipeline.store, booths=12, released=4)
    before = await eventually(
        pipeline.board,
        lambda rows: len(rows) == 12 and sum(r[3] == "free" for r in rows) == 4,
        what="the board showing 12 booths, 4 released",
    )
    # Kafka hands every record over once more, as after a crash before the offset commit.
    records = await read_topic(pipeline.kafka, pipeline.topic)
    again = producer(pipeline.kafka)
    await again.start()
    try:
        for r in records:
            await again.send_and_wait(pipeline.topic, r.value, key=r.key, headers=list(r.headers))
    finally:
        await again.stop()
    await eventually(pipeline.consumed_everything, bool, what="the redelivered records consumed")
    assert await pipeline.board() == before
    assert all(row[4] == 1 for row in before), "a hold was applied twice"


async def test_poison_goes_to_the_dead_letter_topic_and_later_events_still_apply(
    pipeline: Pipeline,
) -> None:
    def envelope(stream: str, event_type: str, data: dict[str, object]) -> bytes:
        return Envelope(
            event_id=uuid.uuid4(),
            event_type=event_type,
            schema_version=2,
            stream_id=stream,
            stream_version=1,
            occurred_at=datetime.now(UTC),
            actor="user:x",
            correlation_id=uuid.uuid4(),
            data=data,
        ).to_json()

    poison = [
        b"this is not an envelope",
        envelope("booth-P1", "test.BoothHeld", {"booth": "P1"}),  # fields missing
        envelope(
            "booth-P2", "test.BoothHeld", {"booth": "P2", "exhibitor": "poison", "hall": "E1"}
        ),
    ]
    send = producer(pipeline.kafka)
    await send.start()
    try:
        for value in poison:
            await send.send_and_wait(pipeline.topic, value, key=b"booth-P")
    finally:
        await send.stop()
    await pipeline.store.append(
        "booth-OK", [BoothHeld(booth="OK", exhibitor="ex", hall="E1")], 0, ctx
    )
    rows = await eventually(
        pipeline.board, lambda rows: any(r[0] == "OK" for r in rows), what="the good event applied"
    )
    assert [r[0] for r in rows] == ["OK"]
    dead = await eventually(
        lambda: read_topic(pipeline.kafka, pipeline.runner.dead_letter_topic),
        lambda records: len(records) == 3,
        what="three dead letters",
    )
    assert sorted(r.value for r in dead) == sorted(poison)
    for r in dead:
        headers = dict(r.headers)
        assert headers["dlq.error"] and headers["dlq.source"].startswith(pipeline.topic.encode())
    assert {dict(r.headers)["dlq.error_type"] for r in dead} == {b"MalformedEvent", b"ValueError"}


async def test_a_rebuild_equals_live_processing(pipeline: Pipeline) -> None:
    await hold_and_release(pipeline.store, booths=30, released=10)
    # Every event in the topic first: "consumed everything" alone may hold while the relay
    # has yet to publish the last releases, and the rebuild, later, would see more.
    await eventually(
        lambda: read_topic(pipeline.kafka, pipeline.topic),
        lambda records: len({Envelope.from_json(r.value).event_id for r in records}) == 40,
        what="all 40 events relayed",
    )
    await eventually(pipeline.consumed_everything, bool, what="live processing done")
    live_board = await pipeline.board()
    assert len(live_board) == 30
    replayed = await pipeline.runner.rebuild()
    assert replayed >= 40
    assert await pipeline.board() == live_board
    # The live subscriber keeps going on the swapped-in schema.
    await pipeline.store.append("booth-29", [BoothReleased(booth="A29")], 1, ctx)
    rows = await eventually(
        pipeline.board,
        lambda rows: any(r[0] == "A29" and r[3] == "free" for r in rows),
        what="a new event applied after the swap",
    )
    assert sum(r[3] == "free" for r in rows) == 11


@pytest.mark.parametrize("exported", [True, False], ids=["spans exported", "no exporter"])
async def test_a_projection_makes_consumer_spans_only_where_someone_receives_them(
    pipeline: Pipeline, exported: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projection_module, "spans_unseen", lambda: not exported)
    processed: list[str] = []
    made = telemetry.process_span

    def process_span(**kwargs: Any) -> Any:
        processed.append(kwargs["event_id"])
        return made(**kwargs)

    monkeypatch.setattr(projection_module, "process_span", process_span)
    traced = CommandContext(
        actor="user:sales-1",
        trace_context={"traceparent": f"00-{uuid.uuid4().hex}-{'2' * 16}-01"},
    )
    for i in range(5):
        await pipeline.store.append(
            f"booth-{i}", [BoothHeld(booth=f"A{i}", exhibitor="ex", hall="E1")], 0, traced
        )
    await eventually(pipeline.board, lambda rows: len(rows) == 5, what="the 5 holds applied")
    assert len(processed) == (5 if exported else 0)
