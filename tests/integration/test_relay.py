"""The relay against a real broker that dies mid-stream."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from aiokafka.partitioner import DefaultPartitioner
from fairline_events import relay as relay_module
from fairline_events import telemetry
from fairline_events.context import CommandContext
from fairline_events.db import migrate
from fairline_events.envelope import Envelope
from fairline_events.kafka import ensure_topics, topic_partitions
from fairline_events.relay import Relay
from fairline_events.store import Checkpoint, EventStore
from fairline_stack.config import StackConfig
from fairline_stack.kafka import KafkaBroker, ensure_kafka_jars
from fairline_stack.resolve import Infra
from support.kafka_read import read_topic
from support.sample_events import BoothHeld, registry
from support.serving import free_port
from support.waiting import eventually

pytestmark = pytest.mark.infra

ctx = CommandContext(actor="user:sales-1")


@pytest.fixture
async def private_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A broker of this test's own, so killing it harms nobody else."""
    cfg = StackConfig.from_env()
    ensure_kafka_jars(cfg.pom, cfg.kafka_libs)
    broker = KafkaBroker(
        tmp_path / "kafka",
        free_port(),
        free_port(),
        libs_dir=cfg.kafka_libs,
        log4j_config=cfg.log4j_config,
    )
    broker.start()
    await broker.wait_ready_async()
    yield broker
    broker.kill()


async def test_every_committed_event_reaches_kafka_across_a_broker_crash(
    pool: asyncpg.Pool, private_broker: KafkaBroker, unique: str
) -> None:
    await migrate(pool)
    store = EventStore(pool, registry)
    topic = f"{unique}.booths.events"
    await ensure_topics(private_broker.access, [topic])
    relay = Relay(store, private_broker.access, topic, batch_size=50)
    stopping = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stopping))

    streams, per_stream = 20, 30
    committed: list[Envelope] = []

    async def append_all() -> None:
        for version in range(per_stream):
            for s in range(streams):
                event = BoothHeld(booth=f"B{s}", exhibitor=f"ex-{version}", hall="E1")
                committed.extend(await store.append(f"booth-B{s}", [event], version, ctx))
            await asyncio.sleep(0.01)

    appending = asyncio.create_task(append_all())
    await eventually(
        lambda: asyncio.sleep(0, relay.published),
        lambda n: n >= 100,
        what="relay publishing before the crash",
    )
    private_broker.kill()  # SIGKILL, mid-stream
    await asyncio.sleep(3)
    private_broker.start()
    await private_broker.wait_ready_async()
    await appending
    total = streams * per_stream
    await eventually(
        lambda: asyncio.sleep(0, relay.published),
        lambda n: n >= total,
        within=120,
        what="relay catching up after the restart",
    )
    stopping.set()
    await relay_task

    records = await read_topic(private_broker.access, topic)
    received = [Envelope.from_json(r.value) for r in records]
    assert {e.event_id for e in received} >= {e.event_id for e in committed}, "an event was lost"
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[object] = set()
    for record, env in zip(records, received, strict=True):
        assert record.key == env.stream_id.encode()
        if env.event_id not in seen:
            seen.add(env.event_id)
            first_seen[env.stream_id].append(env.stream_version)
    for stream_id, versions in first_seen.items():
        assert versions == list(range(1, per_stream + 1)), f"{stream_id} out of order"


async def test_a_relay_killed_mid_batch_resumes_without_skipping(
    pool: asyncpg.Pool,
    database_url: str,
    infra: Infra,
    unique: str,
) -> None:
    await migrate(pool)
    store = EventStore(pool, registry)
    topic = f"{unique}.booths.events"
    await ensure_topics(infra.kafka, [topic])
    committed: list[Envelope] = []

    async def append_all() -> None:
        for v in range(10):
            for s in range(40):
                event = BoothHeld(booth=f"K{s}", exhibitor=f"ex-{v}", hall="E1")
                committed.extend(await store.append(f"booth-K{s}", [event], v, ctx))
            await asyncio.sleep(0.2)

    def start() -> subprocess.Popen[bytes]:
        script = Path(__file__).parents[1] / "support" / "relay_process.py"
        env = {**os.environ, **infra.kafka.env(), "PYTHONPATH": str(Path(__file__).parents[1])}
        return subprocess.Popen(
            [sys.executable, str(script), database_url, infra.bootstrap_servers, topic], env=env
        )

    async def progress() -> int:
        return len(await read_topic(infra.kafka, topic))

    appending = asyncio.create_task(append_all())
    first = start()
    await eventually(progress, lambda n: n >= 40, what="the first relay publishing")
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert not appending.done(), "the appends finished before the relay was killed"
    second = start()
    await appending
    try:
        records = await eventually(
            lambda: read_topic(infra.kafka, topic),
            lambda rs: (
                {Envelope.from_json(r.value).event_id for r in rs}
                >= {e.event_id for e in committed}
            ),
            within=60,
            what="every committed event in Kafka after the restart",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(10)
    in_flight = Relay.BATCHES_IN_FLIGHT * 20  # the relay process's batch size
    assert len(records) <= len(committed) + in_flight, "more re-sends than was unacknowledged"


@pytest.mark.parametrize("exported", [True, False], ids=["spans exported", "no exporter"])
async def test_each_stream_goes_to_its_keys_partition_with_its_headers_and_trace(
    pool: asyncpg.Pool, infra: Infra, unique: str, exported: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where no span of the relay's process reaches anyone, it makes none: the records carry
    # the request's own trace context on.
    monkeypatch.setattr(relay_module, "spans_unseen", lambda: not exported)
    spans: list[str] = []
    made = telemetry.send_span

    def send_span(topic: str, **kwargs: Any) -> Any:
        spans.append(kwargs["event_id"])
        return made(topic, **kwargs)

    monkeypatch.setattr(relay_module, "send_span", send_span)
    await migrate(pool)
    store = EventStore(pool, registry)
    topic = f"{unique}.booths.events"
    await ensure_topics(infra.kafka, [topic])
    trace_id = uuid.uuid4().hex
    traced = CommandContext(
        actor="user:sales-1", trace_context={"traceparent": f"00-{trace_id}-{'2' * 16}-01"}
    )
    committed: list[Envelope] = []
    for s in range(24):
        events = [BoothHeld(booth=f"P{s}", exhibitor=f"ex-{v}", hall="E1") for v in range(3)]
        committed.extend(await store.append(f"booth-P{s}", events, 0, traced if s % 2 else ctx))
    relay = Relay(store, infra.kafka, topic, batch_size=25)  # batches span streams
    stopping = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stopping))
    try:
        records = await eventually(
            lambda: read_topic(infra.kafka, topic),
            lambda rs: len(rs) >= len(committed),
            what="every event on the topic",
        )
    finally:
        stopping.set()
        await relay_task
    partitions = sorted(tp.partition for tp in await topic_partitions(infra.kafka, [topic]))
    by_stream: dict[str, list[int]] = defaultdict(list)
    for record in records:
        env = Envelope.from_json(record.value)
        headers = dict(record.headers)
        # Where Kafka's own clients put the key: a Java consumer or producer agrees.
        assert record.key == env.stream_id.encode()
        assert record.partition == DefaultPartitioner()(record.key, partitions, partitions)
        assert headers["event_type"] == b"test.BoothHeld"
        assert headers["event_id"] == str(env.event_id).encode()
        assert headers["schema_version"] == b"2"
        if env.trace_context:  # the request's trace goes on, in a span of the relay's own
            assert headers["traceparent"].decode().split("-")[1] == trace_id
            if not exported:  # or, where none is seen, the request's own context
                assert headers["traceparent"] == env.trace_context["traceparent"].encode()
        else:
            assert "traceparent" not in headers
        by_stream[env.stream_id].append(env.stream_version)
    assert sorted(e.event_id for e in committed) == sorted(
        Envelope.from_json(r.value).event_id for r in records
    )
    assert all(versions == [1, 2, 3] for versions in by_stream.values())
    assert len(spans) == (len([e for e in committed if e.trace_context]) if exported else 0)


async def test_a_relay_whose_database_connection_is_cut_leads_again_and_skips_nothing(
    pool: asyncpg.Pool, infra: Infra, unique: str
) -> None:
    await migrate(pool)
    store = EventStore(pool, registry)
    topic = f"{unique}.booths.events"
    await ensure_topics(infra.kafka, [topic])
    relay = Relay(store, infra.kafka, topic, batch_size=20)
    stopping = asyncio.Event()
    relay_task = asyncio.create_task(relay.run(stopping))
    committed: list[Envelope] = []
    for s in range(60):
        event = BoothHeld(booth=f"C{s}", exhibitor="ex-1", hall="E1")
        committed.extend(await store.append(f"booth-C{s}", [event], 0, ctx))
    await eventually(
        lambda: asyncio.sleep(0, relay.published),
        lambda n: n >= 20,
        what="relay publishing before its connection is cut",
    )
    # The leader holds the advisory lock and reads: cutting it loses both at once.
    cut = await pool.fetchval(
        "SELECT count(pg_terminate_backend(l.pid)) FROM pg_locks l"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.pid <> pg_backend_pid()"
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    )
    assert cut == 1
    for s in range(60, 120):
        event = BoothHeld(booth=f"C{s}", exhibitor="ex-1", hall="E1")
        committed.extend(await store.append(f"booth-C{s}", [event], 0, ctx))
    try:
        records = await eventually(
            lambda: read_topic(infra.kafka, topic),
            lambda rs: (
                {Envelope.from_json(r.value).event_id for r in rs}
                >= {e.event_id for e in committed}
            ),
            within=60,
            what="every committed event in Kafka after the connection was cut",
        )
    finally:
        stopping.set()
        await relay_task
    assert len(records) >= len(committed)


@pytest.mark.parametrize("service", ["booths", None])
async def test_the_envelope_postgresql_encodes_for_the_relay_is_the_one_stored(
    pool: asyncpg.Pool, service: str | None
) -> None:
    """PostgreSQL builds each envelope's JSON for the relay: it must decode to exactly the
    envelope the store reads, whatever the metadata and payload hold."""
    await migrate(pool)
    store = EventStore(pool, registry, service=service)
    odd = 'a "quoted" \\ back\\slash, a\nnew line, a\ttab, \x01, é, 漢字, 🎪 and </script>'
    contexts = [
        CommandContext(actor="user:sales-1"),
        CommandContext(
            actor=f"user:{odd}",
            reason=odd,
            command=f"HoldBooth {odd}",
            causation_id=uuid.uuid4(),
            trace_context={"traceparent": f"00-{uuid.uuid4().hex}-{'3' * 16}-01", "x": odd},
        ),
    ]
    written: list[Envelope] = []
    for n, context in enumerate(contexts * 3):
        events = [BoothHeld(booth=f"{odd}{n}", exhibitor=odd, hall="E1") for _ in range(2)]
        written += await store.append(f"booth-{odd}-{n}", events, 0, context)
    # Readers see a commit once every older transaction of the server has ended.
    stored = await eventually(
        lambda: store.read_all(Checkpoint.start()),
        lambda read: len(read) == len(written),
        what="every event readable",
    )
    encoded = await store.read_all_encoded(Checkpoint.start(), limit=100)
    assert [Envelope.from_json(e.value) for e in encoded] == [s.envelope for s in stored]
    assert [e.event_id for e in written] == [s.envelope.event_id for s in stored]
    for e, s in zip(encoded, stored, strict=True):
        envelope = s.envelope
        assert e.checkpoint == s.checkpoint
        assert (e.stream_id, e.event_id) == (envelope.stream_id, envelope.event_id)
        assert e.trace_context == envelope.trace_context
        assert e.kafka_headers() == Envelope.kafka_headers(
            envelope.model_copy(update={"trace_context": {}})
        )
    # Paging from a checkpoint goes on where the last page stopped.
    rest = await store.read_all_encoded(encoded[4].checkpoint, limit=100)
    assert [e.event_id for e in rest] == [e.event_id for e in encoded[5:]]
