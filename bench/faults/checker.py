"""After a fault: does the event store, the topic and every read model still tell the truth?

What is checked, the way Kafka's own system tests and Jepsen's Kafka analyses look at a run:
- every acknowledged booking (201) is in the event store exactly once: no success without a
  commit, no lost write;
- every stream's versions run 1..n without a gap;
- every stored event is on the topic at least once, each stream on one partition, and its
  versions first appear there in order (re-sends after a crash may repeat, never reorder);
- nothing is on the topic that the store does not hold;
- every read model equals a fresh rebuild from the topic (`fairline-hotels rebuild`), and
  the occupancy counts each booked night once;
- the dead-letter topics are listed (none expected: a fault is not a poison event).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, ConsumerRecord
from fairline_events.kafka import KafkaAccess, topic_partitions
from hotels.service import definition

from .load import Outcome
from .rig import Rig

# Columns a rebuild rightly fills differently: arrival order across partitions (identity
# columns) and delivery bookkeeping of the partner feed's outbox.
NOT_COMPARED = {"published_at"}
BOOKKEEPING_TABLES = {"applied_versions", "consumed_offsets"}


@dataclass
class Check:
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    effects_without_ack: int = 0
    stream_gaps: list[str] = field(default_factory=list)
    missing_on_topic: int = 0
    unknown_on_topic: int = 0
    redelivered_on_topic: int = 0
    order_violations: list[str] = field(default_factory=list)
    read_model_mismatches: dict[str, str] = field(default_factory=dict)
    dead_letters: list[dict[str, Any]] = field(default_factory=list)
    events_in_store: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.stream_gaps
            or self.missing_on_topic
            or self.unknown_on_topic
            or self.order_violations
            or self.read_model_mismatches
            or self.dead_letters
        )

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "acknowledged": self.acknowledged,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "effects_without_ack": self.effects_without_ack,
            "events_in_store": self.events_in_store,
            "stream_gaps": len(self.stream_gaps),
            "missing_on_topic": self.missing_on_topic,
            "unknown_on_topic": self.unknown_on_topic,
            "redelivered_on_topic": self.redelivered_on_topic,
            "order_violations": len(self.order_violations),
            "read_model_mismatches": self.read_model_mismatches,
            "dead_letters": len(self.dead_letters),
            "check_seconds": round(self.seconds, 1),
            "examples": {
                "lost": self.lost[:5],
                "duplicated": self.duplicated[:5],
                "stream_gaps": self.stream_gaps[:5],
                "order_violations": self.order_violations[:5],
                "dead_letters": self.dead_letters[:5],
            },
        }


async def read_topic(bootstrap: str, topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(KafkaAccess.plain(bootstrap), [topic])
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        end = await consumer.end_offsets(partitions)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp in partitions if await consumer.position(tp) < end[tp]]:
            for batch in (await consumer.getmany(timeout_ms=1000)).values():
                records.extend(batch)
        return records
    finally:
        await consumer.stop()


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(KafkaAccess.plain(bootstrap), [topic])
        return {tp.partition: o for tp, o in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


async def converged(rig: Rig, conn: asyncpg.Connection) -> bool:
    """The relay published every stored event and every projection consumed the topic."""
    last = await conn.fetchval("SELECT coalesce(max(position), 0) FROM events")
    relayed = await conn.fetchval(
        "SELECT coalesce(max(position), 0) FROM reader_checkpoints WHERE reader = 'relay'"
    )
    if relayed < last:
        return False
    topic = f"{rig.topic_prefix}{definition.events_topic}"
    ends = await end_offsets(rig.cluster.bootstrap_servers, topic)
    for projection in definition.projections:
        if definition.events_topic not in projection.topics:
            continue  # it reads another service's topic (hotels' sponsorship policy)
        rows = await conn.fetch(
            f'SELECT partition, next_offset FROM "{projection.schema}".consumed_offsets'
            " WHERE topic = $1",
            topic,
        )
        consumed = {r["partition"]: r["next_offset"] for r in rows}
        if any(consumed.get(p, 0) < end for p, end in ends.items()):
            return False
    return True


async def wait_converged(rig: Rig, within: float = 180.0) -> float:
    """Seconds until the pipeline caught up by itself; raises when it does not."""
    started = time.monotonic()
    conn = None
    while True:
        try:
            conn = conn or await asyncpg.connect(rig.database_url, timeout=2)
            if await converged(rig, conn):
                await conn.close()
                return time.monotonic() - started
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn = None
        except Exception:  # the topic or a schema not there yet: same as "not yet"
            pass
        if time.monotonic() - started > within:
            raise TimeoutError(f"the relay and projections did not catch up within {within}s")
        await asyncio.sleep(0.5)


async def _snapshot(conn: asyncpg.Connection, schema: str) -> dict[str, list[str]]:
    tables = await conn.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
    )
    snapshot: dict[str, list[str]] = {}
    for table in sorted(t["table_name"] for t in tables):
        if table in BOOKKEEPING_TABLES:
            continue
        columns = await conn.fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = $1"
            " AND table_name = $2 AND is_identity = 'NO' ORDER BY ordinal_position",
            schema,
            table,
        )
        names = [c["column_name"] for c in columns if c["column_name"] not in NOT_COMPARED]
        listed = ", ".join(f'"{n}"' for n in names)
        rows = await conn.fetch(f'SELECT {listed} FROM "{schema}"."{table}"')
        snapshot[table] = sorted(json.dumps(dict(r), default=str, sort_keys=True) for r in rows)
    return snapshot


def _differences(live: dict[str, list[str]], rebuilt: dict[str, list[str]]) -> str:
    problems = []
    for table in sorted(set(live) | set(rebuilt)):
        a, b = Counter(live.get(table, [])), Counter(rebuilt.get(table, []))
        if a != b:
            only_live, only_rebuilt = sum((a - b).values()), sum((b - a).values())
            problems.append(f"{table}: {only_live} rows only live, {only_rebuilt} only rebuilt")
    return "; ".join(problems)


async def _rebuild(rig: Rig, projection: str) -> None:
    process = await asyncio.create_subprocess_exec(
        rig.command,
        "rebuild",
        projection,
        env=rig.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    _, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"rebuild {projection} failed: {err.decode()[-2000:]}")


async def check(rig: Rig, outcomes: list[Outcome], *, read_models: bool = True) -> Check:
    """Everything the module docstring lists, over the whole run so far."""
    started = time.monotonic()
    result = Check()
    conn = await asyncpg.connect(rig.database_url)
    try:
        events = await conn.fetch(
            "SELECT event_id::text AS id, stream_id, stream_version, event_type,"
            " data->>'booking_id' AS booking_id, data FROM events ORDER BY position"
        )
        result.events_in_store = len(events)
        versions: dict[str, list[int]] = defaultdict(list)
        made: Counter[str] = Counter()
        booked_nights = 0
        for e in events:
            versions[e["stream_id"]].append(e["stream_version"])
            if e["event_type"] == "hotels.BookingMade":
                made[e["booking_id"]] += 1
                data = json.loads(e["data"])
                booked_nights += len(data.get("nightly_rates") or []) or 0
        for stream, seen in versions.items():
            if sorted(seen) != list(range(1, len(seen) + 1)):
                result.stream_gaps.append(f"{stream}: {sorted(seen)[:10]}")
        acknowledged = [o.booking_id for o in outcomes if o.booking_id is not None]
        result.acknowledged = len(acknowledged)
        result.lost = [b for b in acknowledged if made[b] == 0]
        result.duplicated = [b for b, n in made.items() if n > 1]
        result.effects_without_ack = len(set(made) - set(acknowledged))

        topic = f"{rig.topic_prefix}{definition.events_topic}"
        records = await read_topic(rig.cluster.bootstrap_servers, topic)
        stored = {e["id"] for e in events}
        on_topic: Counter[str] = Counter()
        by_stream: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for r in records:
            envelope = json.loads(r.value or b"{}")
            on_topic[envelope["event_id"]] += 1
            by_stream[envelope["stream_id"]].append(
                (r.partition, r.offset, envelope["stream_version"])
            )
        result.missing_on_topic = len(stored - set(on_topic))
        result.unknown_on_topic = len(set(on_topic) - stored)
        result.redelivered_on_topic = sum(n - 1 for n in on_topic.values())
        for stream, placed in by_stream.items():
            if len({p for p, _, _ in placed}) > 1:
                result.order_violations.append(f"{stream} is on several partitions")
                continue
            first_seen: list[int] = []
            for _, _, version in sorted(placed):
                if version not in first_seen:
                    first_seen.append(version)
            if first_seen != list(range(1, len(first_seen) + 1)):
                result.order_violations.append(f"{stream}: first seen as {first_seen[:10]}")

        for projection in definition.projections:
            dead = await read_topic(
                rig.cluster.bootstrap_servers, rig.topic_prefix + _dlq(projection.name)
            )
            for r in dead:
                headers = {k: v.decode(errors="replace")[:200] for k, v in r.headers}
                result.dead_letters.append(
                    {"projection": projection.name, "offset": r.offset, **headers}
                )

        if read_models:
            live = {p.name: await _snapshot(conn, p.schema) for p in definition.projections}
            await asyncio.gather(*(_rebuild(rig, p.name) for p in definition.projections))
            for p in definition.projections:
                differences = _differences(live[p.name], await _snapshot(conn, p.schema))
                if differences:
                    result.read_model_mismatches[p.name] = differences
            counted = await conn.fetchval("SELECT count(*) FROM proj_occupancy.room_nights")
            if booked_nights and counted != booked_nights:
                result.read_model_mismatches["occupancy.room_nights"] = (
                    f"{counted} room-nights counted, {booked_nights} booked in the store"
                )
    finally:
        await conn.close()
    result.seconds = time.monotonic() - started
    return result


def _dlq(projection: str) -> str:
    return f"{definition.name}.{projection}.dlq"
