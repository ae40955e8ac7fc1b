"""Append, relay, projection and rebuild, each beside its raw baseline on the same servers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.heap import WORKING, settle_heap
from fairline_events.kafka import KafkaAccess, consumer, ensure_topics, producer, topic_partitions
from fairline_events.projection import LiveProjection, ProjectionRunner
from fairline_events.relay import Relay
from fairline_events.store import EventStore, StreamAppend

from .common import Figure, Timer, say, scratch, scratch_database
from .flame import sampling
from .model import envelope_bytes, floor, held_event, registry

ctx = CommandContext(actor="user:bench")


async def _gather_limited(n: int, concurrency: int, work: Any) -> None:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            await work(queue.get_nowait())

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def bench_append(server: str, singles: int, batches: int, batch_size: int) -> list[Figure]:
    figures = []
    async with scratch_database(server, "append") as (url, pool):
        store = EventStore(pool, registry)
        say(f"append: {singles} single-event appends, 16 writers…")
        with Timer() as t:
            await _gather_limited(
                singles, 16, lambda i: store.append(f"s-{i}", [held_event(i)], 0, ctx)
            )
        single_rate = singles / t.seconds
        say(f"append: {batches} appends of {batch_size} events (one stream each), 4 writers…")
        with Timer() as t:
            await _gather_limited(
                batches,
                4,
                lambda b: store.append_streams(
                    [StreamAppend(f"b-{b}", [held_event(i) for i in range(batch_size)], 0)], ctx
                ),
            )
        batch_rate = batches * batch_size / t.seconds
        raw_single, raw_batch = await _raw_inserts(pool, singles, batches, batch_size)
        peer_single, peer_batch = await asyncio.to_thread(
            _eventsourcing_appends, url, singles, batches, batch_size
        )
        tps = pgbench(url)
    figures.append(
        Figure(
            "append",
            "single events/s",
            single_rate,
            "events/s",
            "raw asyncpg single inserts/s",
            raw_single,
        )
    )
    figures.append(
        Figure(
            "append",
            "batched events/s",
            batch_rate,
            "events/s",
            "raw asyncpg batched inserts/s",
            raw_batch,
            ">= 20,000",
            batch_rate >= 20_000,
        )
    )
    for name, mine, peer, raw in (
        ("one aggregate per transaction", single_rate, peer_single, raw_single),
        (f"{batch_size} events per transaction", batch_rate, peer_batch, raw_batch),
    ):
        figures.append(
            Figure(
                "append",
                f"{name}: Fairline vs eventsourcing",
                mine,
                "events/s",
                "eventsourcing PostgresApplicationRecorder events/s",
                peer,
                ">= 1.5x eventsourcing",
                mine >= 1.5 * peer,
                notes={"eventsourcing_vs_raw_asyncpg": round(peer / raw, 2)},
            )
        )
    figures.append(Figure("append", "pgbench TPS (ceiling, 16 clients)", tps, "tx/s"))
    return figures


def _eventsourcing_appends(
    url: str, singles: int, batches: int, batch_size: int
) -> tuple[float, float]:
    """The `eventsourcing` package's PostgreSQL application recorder (globally ordered
    notifications, like Fairline's store) on the same server and database, appending the
    same events with as many writers as Fairline's append: its own way, synchronous psycopg
    connections in threads."""
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    from eventsourcing.persistence import StoredEvent
    from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

    parts = urlsplit(url)
    datastore = PostgresDatastore(
        dbname=parts.path.lstrip("/"),
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password or "",
        pool_size=16,
        originator_id_type="text",
    )
    try:
        recorder = PostgresApplicationRecorder(datastore, events_table_name="es_stored_events")
        recorder.create_table()
        state = json.dumps(held_event(0).model_dump(mode="json")).encode()

        def stored(stream: str, n: int) -> list[StoredEvent]:
            return [StoredEvent(stream, v, "bench.BoothHeld", state) for v in range(1, n + 1)]

        def run(writers: int, appends: int, per: int, prefix: str) -> float:
            with ThreadPoolExecutor(writers) as pool, Timer() as t:
                list(
                    pool.map(
                        lambda i: recorder.insert_events(stored(f"{prefix}-{i}", per)),
                        range(appends),
                    )
                )
            return appends * per / t.seconds

        say("append: the eventsourcing package's PostgreSQL recorder…")
        return run(16, singles, 1, "es"), run(4, batches, batch_size, "eb")
    finally:
        datastore.close()


async def _raw_inserts(
    pool: asyncpg.Pool, singles: int, batches: int, batch_size: int
) -> tuple[float, float]:
    """The same rows into a plain table: no version check, no envelope, no notify."""
    await pool.execute(
        "CREATE TABLE raw_events (LIKE events INCLUDING DEFAULTS INCLUDING IDENTITY)"
    )
    insert = """INSERT INTO raw_events (event_id, stream_id, stream_version, event_type,
                schema_version, occurred_at, actor, correlation_id, data)
                SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[],
                $6::timestamptz[], $7::text[], $8::uuid[], $9::jsonb[])"""

    def rows(n: int, prefix: str) -> list[list[Any]]:
        from datetime import UTC, datetime

        now = datetime.now(UTC)
        data = json.dumps(held_event(0).model_dump(mode="json"))
        return [
            [uuid.uuid4() for _ in range(n)],
            [f"{prefix}-{i}" for i in range(n)],
            [1] * n,
            ["bench.BoothHeld"] * n,
            [1] * n,
            [now] * n,
            ["user:bench"] * n,
            [uuid.uuid4() for _ in range(n)],
            [data] * n,
        ]

    async def one(i: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(insert, *rows(1, f"rs{i}"))

    say("append: raw asyncpg baseline…")
    with Timer() as t:
        await _gather_limited(singles, 16, one)
    raw_single = singles / t.seconds

    async def batch(b: int) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(insert, *rows(batch_size, f"rb{b}"))

    with Timer() as t:
        await _gather_limited(batches, 4, batch)
    return raw_single, batches * batch_size / t.seconds


def pgbench(url: str) -> float:
    say("append: pgbench (simple-update, 16 clients, 10 s) on the same server…")
    subprocess.run(["pgbench", "-i", "-q", "-s", "4", url], check=True, capture_output=True)
    out = subprocess.run(
        ["pgbench", "-N", "-c", "16", "-j", "2", "-T", "10", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    match = re.search(r"tps = ([0-9.]+)", out)
    return float(match.group(1)) if match else float("nan")


async def fill_store(store: EventStore, events: int) -> None:
    per = 500
    await _gather_limited(
        events // per,
        4,
        lambda b: store.append_streams(
            [StreamAppend(f"booth-{b}-{i}", [held_event(b * per + i)], 0) for i in range(per)],
            ctx,
        ),
    )


async def bench_relay_and_projection(server: str, kafka: KafkaAccess, events: int) -> list[Figure]:
    figures = []
    prefix = f"{scratch()}."
    topic = f"{prefix}bench.events"
    await ensure_topics(kafka, [topic, f"{prefix}raw", f"{prefix}perf"])
    async with scratch_database(server, "relay") as (_, pool):
        store = EventStore(pool, registry)
        say(f"relay: appending {events} events to relay…")
        await fill_store(store, events)
        with as_in_a_worker():
            figures += await _relay_and_projection(pool, store, kafka, prefix, topic, events)
    return figures


@contextlib.contextmanager
def as_in_a_worker() -> Iterator[None]:
    """The relay and the projections run in a service's worker, which settles its heap once
    started (`fairline-<service> work`); here they run in the bench's process, which does the
    same for them and then goes back to the interpreter's defaults for the other sections."""
    threshold = gc.get_threshold()
    settle_heap(WORKING)
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)


async def _relay_and_projection(
    pool: asyncpg.Pool, store: EventStore, kafka: KafkaAccess, prefix: str, topic: str, events: int
) -> list[Figure]:
    figures = []
    relay = Relay(store, kafka, topic, batch_size=5000)
    stopping = asyncio.Event()
    say("relay: publishing…")
    with sampled("relay"), Timer() as t:
        task = asyncio.create_task(relay.run(stopping))
        while relay.published < events:
            await asyncio.sleep(0.05)
    stopping.set()
    await task
    relay_rate = events / t.seconds
    raw_rate = await raw_producer(kafka, f"{prefix}raw", events)
    # The broker creates no topic on first use: Kafka's own tool needs its topic made.
    await ensure_topics(kafka, [f"{prefix}perf"])
    perf_rate = producer_performance(kafka, f"{prefix}perf", events)
    figures.append(
        Figure(
            "relay",
            "relay events/s",
            relay_rate,
            "events/s",
            "raw aiokafka producer msgs/s",
            raw_rate,
            ">= 0.8 of the raw producer",
            relay_rate >= 0.8 * raw_rate,
            {"kafka ProducerPerformance records/s": perf_rate},
        )
    )

    say("projection: applying the relayed events…")
    runner = ProjectionRunner(floor, pool, kafka, prefix)
    live = LiveProjection(runner, max_records=2000)
    await runner.create_schema()  # before the clock, as a worker has it at start
    with sampled("projection"), Timer() as t:
        await live.start()
        while live.applied < events:
            await asyncio.sleep(0.05)
    await live.stop()
    projection_rate = events / t.seconds
    raw_consume = await raw_consumer(kafka, topic, events)
    figures.append(
        Figure(
            "projection",
            "projection events/s",
            projection_rate,
            "events/s",
            "raw aiokafka consumer msgs/s",
            raw_consume,
            ">= 30,000",
            projection_rate >= 30_000,
        )
    )
    return figures


@contextlib.contextmanager
def sampled(name: str) -> Iterator[None]:
    """With BENCH_PROFILE=<dir>, py-spy samples this process (the relay and the projection
    run inside the bench's own) for the block, into <dir>/<name>.folded; `python -m
    bench.flame` summarises it."""
    with sampling({name: os.getpid()}, None, subprocesses=False):
        yield


async def raw_producer(kafka: KafkaAccess, topic: str, events: int) -> float:
    say("relay: raw aiokafka producer baseline…")
    messages = [envelope_bytes(i) for i in range(events)]
    send = producer(kafka)
    await send.start()
    try:
        with Timer() as t:
            futures = [await send.send(topic, v, key=k) for k, v in messages]
            await asyncio.gather(*futures)
    finally:
        await send.stop()
    return events / t.seconds


def java_client_props(kafka: KafkaAccess) -> list[str]:
    """The same identity for a Java client (`--producer-props`)."""
    if not kafka.security_protocol.startswith("SASL"):
        return [f"security.protocol={kafka.security_protocol}"]
    module = "org.apache.kafka.common.security.scram.ScramLoginModule"
    jaas = f'{module} required username="{kafka.username}" password="{kafka.password}";'
    return [
        f"security.protocol={kafka.security_protocol}",
        f"sasl.mechanism={kafka.sasl_mechanism}",
        f"sasl.jaas.config={jaas}",
    ]


def producer_performance(kafka: KafkaAccess, topic: str, events: int) -> float:
    say("relay: Kafka's ProducerPerformance baseline…")
    from fairline_stack.kafka import tool_command

    size = len(envelope_bytes(0)[1])
    props = [
        f"bootstrap.servers={kafka.bootstrap_servers}",
        *java_client_props(kafka),
        "acks=all",
        "enable.idempotence=true",
        "linger.ms=5",
    ]
    # A file, not --producer-props: that flag splits on "=", and a JAAS line holds several.
    with tempfile.NamedTemporaryFile("w", suffix=".properties") as config:
        config.write("\n".join(props) + "\n")
        config.flush()
        out = subprocess.run(
            tool_command(
                "org.apache.kafka.tools.ProducerPerformance",
                "--topic",
                topic,
                "--num-records",
                str(events),
                "--record-size",
                str(size),
                "--throughput",
                "-1",
                "--producer.config",
                config.name,
            ),
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    matches = re.findall(r"([0-9.]+) records/sec", out)
    return float(matches[-1]) if matches else float("nan")


async def raw_consumer(kafka: KafkaAccess, topic: str, events: int) -> float:
    say("projection: raw aiokafka consumer baseline…")
    reader = consumer(kafka, enable_auto_commit=False, max_poll_records=2000)
    await reader.start()
    try:
        partitions = await topic_partitions(kafka, [topic])
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        seen = 0
        with Timer() as t:
            while seen < events:
                batch = await reader.getmany(timeout_ms=500, max_records=2000)
                seen += sum(len(records) for records in batch.values())
    finally:
        await reader.stop()
    return events / t.seconds


async def bench_rebuild(server: str, kafka: KafkaAccess, events: int) -> list[Figure]:
    prefix = f"{scratch()}."
    topic = f"{prefix}bench.events"
    await ensure_topics(kafka, [topic])
    say(f"rebuild: writing {events} events to Kafka…")
    send = producer(kafka, linger_ms=20, max_batch_size=256 * 1024)
    await send.start()
    try:
        futures = []
        for i in range(events):
            key, value = envelope_bytes(i % 200_000, version=i // 200_000 + 1)
            futures.append(await send.send(topic, value, key=key))
            if len(futures) >= 20_000:
                await asyncio.gather(*futures)
                futures = []
                if i % 100_000 == 99_999:
                    say(f"rebuild:   {i + 1} written")
        await asyncio.gather(*futures)
    finally:
        await send.stop()
    async with scratch_database(server, "rebuild") as (_, pool):
        runner = ProjectionRunner(floor, pool, kafka, prefix)
        await runner.create_schema()
        say("rebuild: replaying into a fresh schema…")
        with Timer() as t:
            replayed = await runner.rebuild(batch_size=10_000)
        rows = await pool.fetchval(f"SELECT count(*) FROM {floor.schema}.floor")
    return [
        Figure(
            "rebuild",
            f"replay {events:,} events",
            t.seconds,
            "s",
            target="<= 60 s",
            met=t.seconds <= 60,
            notes={"replayed": replayed, "rows": rows, "events/s": replayed / t.seconds},
        )
    ]
