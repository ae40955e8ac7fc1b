"""SIGTERM in the middle of load: an orchestrator's rolling restart loses and repeats nothing.

The hotels service runs as production and `make run` run it: an API process (`serve
--no-relay --no-projections`) and a worker (`work`: relay, projections, jobs). Bookings
arrive steadily over keep-alive connections. The worker gets SIGTERM mid-load: it finishes
its batches, commits its offsets and leaves its consumer groups (no member is left for the
session timeout to expire), and a new worker takes over. Then the API gets SIGTERM while
some bookings are still being uploaded: those get their answers, and the process exits.

Afterwards every acknowledged booking (201) is in the event store once and in the read
model once, nothing is in the store that no one got an answer for, and nothing went to the
topic twice (the relay kept what Kafka had acknowledged).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from aiokafka import TopicPartition
from fairline_events.auth import TokenIssuer
from fairline_events.kafka import admin_client, consumer
from fairline_events.projection import Projection
from fairline_events.settings import ServiceSettings
from hotels.service import definition
from support.kafka_read import read_topic
from support.serving import free_port, ready
from support.waiting import eventually

pytestmark = pytest.mark.infra

HOTEL = "rolling-grand"
FAIR = date(datetime.now(UTC).year + 1, 10, 1)


def night(n: int) -> str:
    return (FAIR + timedelta(days=n)).isoformat()


class Processes:
    """`fairline-hotels` processes with this test's databases and topics, logs kept."""

    def __init__(self, settings: ServiceSettings, logs: Path) -> None:
        self.env = {
            **os.environ,
            "DATABASE_URL": settings.database_url,
            **settings.kafka.env(),
            "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
            "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
            "FAIRLINE_AUTH_SECRET": settings.fairline_auth_secret,
            "LOG_LEVEL": "INFO",
        }
        self.command = str(Path(sys.executable).parent / "fairline-hotels")
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("ab")
        process = subprocess.Popen([self.command, *args], env=self.env, stdout=log, stderr=log)
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait(10)


@contextlib.contextmanager
def processes(settings: ServiceSettings, logs: Path) -> Iterator[Processes]:
    running = Processes(settings, logs)
    try:
        yield running
    finally:
        running.stop_all()


async def terminated(process: subprocess.Popen[bytes], within: float) -> tuple[int, float]:
    """SIGTERM, then the exit code and how long the process took to exit."""
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(process.wait, within)
    return code, time.monotonic() - sent


@dataclass
class Load:
    """Bookings sent once each, from a few keep-alive connections, outcomes kept."""

    client: httpx.AsyncClient
    acknowledged: set[str] = field(default_factory=set)  # booking ids answered 201
    statuses: Counter[str] = field(default_factory=Counter)
    numbers: itertools.count[int] = field(default_factory=itertools.count)

    def body(self) -> dict[str, object]:
        n = next(self.numbers)
        arrival = n % 4
        return {
            "hotel_code": HOTEL,
            "room_type": "standard",
            "arrival": night(arrival),
            "departure": night(arrival + 1 + n % 2),
            "guest": {"name": f"Guest {n:05d}"},
        }

    def record(self, response: httpx.Response) -> None:
        self.statuses[str(response.status_code)] += 1
        if response.status_code == 201:
            self.acknowledged.add(response.json()["booking_id"])

    async def sender(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                self.record(await self.client.post("/bookings", json=self.body()))
            except httpx.TransportError as exc:  # no answer: the client cannot know
                self.statuses[f"transport:{type(exc).__name__}"] += 1
            await asyncio.sleep(0.05)  # steady, not flat out: two shared cores

    async def slow(self, base_url: str, token: str, sending: asyncio.Event) -> httpx.Response:
        """A booking whose body takes 1.5 s to upload: in flight when SIGTERM comes."""
        payload = json.dumps(self.body()).encode()

        async def upload() -> AsyncIterator[bytes]:
            yield payload[:20]
            sending.set()
            await asyncio.sleep(1.5)
            yield payload[20:]

        async with httpx.AsyncClient(base_url=base_url, timeout=30) as own:
            response = await own.post(
                "/bookings",
                content=upload(),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
        self.record(response)
        return response


async def join_seconds(settings: ServiceSettings) -> float:
    """How long a new member takes to be given partitions in each projection's group.

    A member that left (LeaveGroup) is gone at once; one that did not is waited for until
    its session times out (10 s), and only then are its partitions handed over. The probes
    never commit, and leave when done.
    """

    async def join(projection: Projection) -> float:
        group = f"{settings.fairline_topic_prefix}hotels.projection.{projection.name}"
        probe = consumer(settings.kafka, group_id=group, enable_auto_commit=False)
        started = time.monotonic()
        await probe.start()
        try:
            probe.subscribe([settings.topic(t) for t in projection.topics])
            while not probe.assignment() and time.monotonic() - started < 30:
                await probe.getmany(timeout_ms=100)
            return time.monotonic() - started
        finally:
            await probe.stop()

    return max(await asyncio.gather(*(join(p) for p in definition.projections)))


async def committed(settings: ServiceSettings, group: str) -> dict[TopicPartition, int]:
    admin = admin_client(settings.kafka)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    finally:
        await admin.close()


async def test_sigterm_mid_load_to_worker_then_api_loses_and_repeats_nothing(
    settings: ServiceSettings, tmp_path: Path
) -> None:
    prefix = settings.fairline_topic_prefix
    groups = [p.name for p in definition.projections]
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    issuer = TokenIssuer(settings.fairline_auth_secret, audience="fairline-hotels")
    desk = issuer.issue("desk-1", ["hotel_desk"])
    with processes(settings, tmp_path) as run:
        migrated = await asyncio.to_thread(
            subprocess.run, [run.command, "migrate"], env=run.env, capture_output=True
        )
        assert migrated.returncode == 0, migrated.stderr[-2000:]
        api = run.start("api", "serve", "--port", str(port), "--no-relay", "--no-projections")
        worker = run.start("work-1", "work")
        async with httpx.AsyncClient(
            base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {desk}"}
        ) as client:
            await eventually(lambda: ready(client), bool, within=90, what="the API ready")
            await open_hotel(client, issuer)
            load = Load(client)
            stop = asyncio.Event()
            senders = [asyncio.create_task(load.sender(stop)) for _ in range(3)]
            try:
                await bookings_flowing(load, 20)

                # The worker, mid-load: it finishes, commits, leaves; a new one takes over.
                await occupancy_applying(settings)
                code, took = await terminated(worker, within=30)
                joined = await join_seconds(settings)
                assert code == 0, run.log("work-1")[-3000:]
                assert took < 15, f"the worker took {took:.1f} s to stop"
                assert joined < 5, f"{joined:.1f} s to join: the old member had not left"
                await offsets_committed_as_recorded(settings)
                stopped = run.log("work-1").count("projection stopped after its batch")
                assert stopped == len(groups), run.log("work-1")[-3000:]
                run.start("work-2", "work")
                await bookings_flowing(load, len(load.acknowledged) + 20)

                # The API, mid-load, with three bookings still uploading.
                uploading = [asyncio.Event() for _ in range(3)]
                slow = [asyncio.create_task(load.slow(base_url, desk, u)) for u in uploading]
                await asyncio.gather(*(u.wait() for u in uploading))
                await asyncio.sleep(0.5)  # their headers are read: the server began them
                code, _ = await terminated(api, within=30)
                # uvicorn re-raises the signal once its shutdown is complete, so that whoever
                # started it sees why it ended: -SIGTERM (143 in a shell) is a clean exit.
                assert code in (0, -signal.SIGTERM), run.log("api")[-3000:]
                assert "Application shutdown complete" in run.log("api")
                answers = await asyncio.gather(*slow)
                assert [a.status_code for a in answers] == [201] * 3, [a.text for a in answers]
            finally:
                stop.set()
                await asyncio.gather(*senders)
        await acknowledged_once_in_store_and_read_model(settings, load.acknowledged)

    # Nothing relayed twice: the stopping worker kept what Kafka had acknowledged.
    records = await read_topic(settings.kafka, f"{prefix}hotels.events")
    on_topic = Counter(json.loads(r.value or b"{}")["event_id"] for r in records)
    assert on_topic and max(on_topic.values()) == 1, "events sent twice"
    print(f"load: {dict(load.statuses)}; {len(load.acknowledged)} acknowledged")


async def open_hotel(client: httpx.AsyncClient, issuer: TokenIssuer) -> None:
    ops = {"Authorization": f"Bearer {issuer.issue('ops-1', ['ops'])}"}
    hotel = {"hotel_code": HOTEL, "name_zh": "滚动大酒店", "name_en": "Rolling Grand"}
    made = await client.post(
        "/hotels", json={**hotel, "room_types": {"standard": 9999}}, headers=ops
    )
    assert made.status_code == 201, made.text
    allotment = {"room_type": "standard", "first_night": night(0), "last_night": night(6)}
    allotted = await client.put(
        f"/hotels/{HOTEL}/allotments", json={**allotment, "rooms": 9999, "rate": 700}
    )
    assert allotted.status_code == 200, allotted.text


async def occupancy_applying(settings: ServiceSettings) -> None:
    """The worker's projections are in their groups and applying."""
    conn = await asyncpg.connect(settings.service_database_url("hotels"))
    try:
        await eventually(
            lambda: conn.fetchval("SELECT count(*) FROM proj_occupancy.room_nights"),
            lambda n: n > 0,
            within=60,
            what="the occupancy read model applying bookings",
        )
    finally:
        await conn.close()


async def bookings_flowing(load: Load, at_least: int) -> None:
    await eventually(
        lambda: asyncio.sleep(0, len(load.acknowledged)),
        lambda n: n >= at_least,
        within=30,
        what=f"{at_least} bookings acknowledged",
    )


async def offsets_committed_as_recorded(settings: ServiceSettings) -> None:
    """Kafka's committed offsets of each group are those PostgreSQL recorded."""
    conn = await asyncpg.connect(settings.service_database_url("hotels"))
    try:
        for p in definition.projections:
            rows = await conn.fetch(
                f'SELECT topic, partition, next_offset FROM "{p.schema}".consumed_offsets'
            )
            recorded = {TopicPartition(r[0], r[1]): r[2] for r in rows}
            group = f"{settings.fairline_topic_prefix}hotels.projection.{p.name}"
            # A partition nothing was consumed from may show as committed at 0.
            in_kafka = {tp: o for tp, o in (await committed(settings, group)).items() if o}
            assert in_kafka == recorded, p.name
    finally:
        await conn.close()


async def acknowledged_once_in_store_and_read_model(
    settings: ServiceSettings, acknowledged: set[str]
) -> None:
    conn = await asyncpg.connect(settings.service_database_url("hotels"))
    try:
        rows = await conn.fetch(
            "SELECT data->>'booking_id' AS booking, jsonb_array_length(data->'nightly_rates')"
            " AS nights FROM events WHERE event_type = 'hotels.BookingMade'"
        )
        stored = Counter(r["booking"] for r in rows)
        assert set(stored) == acknowledged, (
            f"lost: {acknowledged - set(stored)};"
            f" stored without an answer: {set(stored) - acknowledged}"
        )
        assert max(stored.values()) == 1, "a booking stored twice"

        booked = Counter({r["booking"]: r["nights"] for r in rows})

        async def room_nights() -> Counter[str]:
            counted = await conn.fetch("SELECT booking_id FROM proj_occupancy.room_nights")
            return Counter(r[0] for r in counted)

        await eventually(
            room_nights,
            lambda counted: counted == booked,
            within=60,
            what="each booked night once in the occupancy read model, after the restart",
        )
    finally:
        await conn.close()
