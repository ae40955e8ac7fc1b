"""The relay: the event table is the outbox; committed events go to the service's topic.

At least once, never skipping, in order per stream (the stream id is the Kafka key).
Progress is saved in PostgreSQL only after Kafka acknowledged the whole batch, so a crash of
the relay or of the broker costs re-sends (which consumers ignore), never a lost event.
One relay per database is active at a time (an advisory lock); others wait as stand-bys.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from aiokafka.producer.message_accumulator import BatchBuilder
from opentelemetry import propagate, trace

from .kafka import KafkaAccess
from .kafka import producer as make_producer
from .store import NOTIFY_CHANNEL, Checkpoint, EncodedEvent, EventStore
from .telemetry import _unseen as spans_unseen
from .telemetry import send_span

log = structlog.get_logger(__name__)

_RELAY_LOCK = 0x7265_6C61  # "rela"

# The relay reads in commit order through the (tx_id, position) index. Without statistics
# (a new database, a burst before autovacuum's first ANALYZE) the planner guesses a few
# thousand rows and prefers a bitmap scan of everything unread plus a sort: 150 ms per batch
# of 5,000 instead of 6 ms, measured on 100,000 events. The leader's own connection, which
# does all the reading, is told to walk the index.
_IN_INDEX_ORDER = "SET enable_bitmapscan = off; SET enable_seqscan = off; SET enable_sort = off"


class Relay:
    BATCHES_IN_FLIGHT = 2
    """Batches sent and not yet acknowledged; a crash re-sends these, and what was
    acknowledged since the last checkpoint saved (`save_every_seconds`)."""
    ENCODED_BETWEEN_YIELDS = 500
    """Events a batch's encoding takes in one go before it lets the loop run."""

    def __init__(
        self,
        store: EventStore,
        kafka: KafkaAccess,
        topic: str,
        *,
        name: str = "relay",
        batch_size: int = 2000,
        idle_poll_seconds: float = 0.5,
        read_every_seconds: float = 0.040,
        save_every_seconds: float = 0.25,
    ) -> None:
        self.store = store
        self.kafka = kafka
        self.topic = topic
        self.name = name
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        # Under a steady trickle of commits (each one notifies), a read follows the one before
        # only after this long, taking all that committed meanwhile: a few larger batches
        # (reads, sends, checkpoints) instead of one per command. A full batch, or the first
        # commit after a quiet moment, is read at once. As often as a projection starts a
        # batch (`LiveProjection`, 40 ms): each send wakes every consumer of the topic for a
        # fetch, so sending more often only costs them fetches, not latency.
        self.read_every_seconds = read_every_seconds
        # An acknowledged batch's checkpoint is saved at once when the relay falls idle, else
        # at most this often (and on a clean stop): a crash re-sends what was acknowledged
        # since (consumers ignore re-sends), and a steady trickle costs no round trip per send.
        self.save_every_seconds = save_every_seconds
        self.published = 0
        self.batches = 0
        """Batches read and handed to Kafka (a read that found nothing is none)."""
        self._wakeup = asyncio.Event()
        self._last_read = 0.0
        self._saved = Checkpoint.start()
        self._saved_at = 0.0
        self._partitions = _StreamPartitions([])

    async def run(self, stopping: asyncio.Event) -> None:
        """Lead while this process holds the lock; stand by otherwise; stop with `stopping`."""
        while not stopping.is_set():
            try:
                async with self.store.pool.acquire() as leader:
                    try:
                        await self._lead(leader, stopping)
                    except Exception:
                        # A leader connection that broke (terminated, or left mid-query by
                        # a read cut short) is closed, not pooled again; the lock goes with it.
                        # One the server dropped is already back in the pool, closed.
                        with contextlib.suppress(asyncpg.InterfaceError):
                            leader.terminate()
                        raise
            except Exception as exc:
                log.warning(
                    "relay lost its database connection; standing in line again",
                    relay=self.name,
                    error=repr(exc),
                )
                await _wait(stopping, 1.0)

    async def _lead(self, leader: asyncpg.Connection, stopping: asyncio.Event) -> None:
        while not await leader.fetchval("SELECT pg_try_advisory_lock($1)", _RELAY_LOCK):
            if await _wait(stopping, 2.0):
                return
        await leader.add_listener(NOTIFY_CHANNEL, self._notified)
        await leader.execute(_IN_INDEX_ORDER)
        try:
            await self._relay_until(stopping, leader)
        finally:
            if not leader.is_closed():
                with contextlib.suppress(Exception):
                    await leader.remove_listener(NOTIFY_CHANNEL, self._notified)
                    await leader.execute(f"RESET ALL; SELECT pg_advisory_unlock({_RELAY_LOCK})")

    def _notified(self, *_: object) -> None:
        self._wakeup.set()

    async def _relay_until(self, stopping: asyncio.Event, reader: asyncpg.Connection) -> None:
        """Keep the database and Kafka busy at once: while one batch is handed to the
        producer, the next is read, and the one before is being acknowledged."""
        checkpoint = self._saved = await self.store.load_checkpoint(self.name)
        producer: AIOKafkaProducer | None = None
        in_flight: deque[_InFlight] = deque()
        reading: asyncio.Future[list[EncodedEvent]] | None = None
        backoff = 0.2
        try:
            while not stopping.is_set():
                try:
                    if reading is None:
                        cursor = in_flight[-1].checkpoint if in_flight else checkpoint
                        reading = self._read_after(reader, cursor)
                    if producer is None:  # while the first read runs
                        producer = make_producer(self.kafka)
                        await producer.start()
                    batch = await reading
                    reading = None
                    if batch:
                        full = len(batch) >= self.batch_size
                        reading = self._read_after(reader, batch[-1].checkpoint, paced=not full)
                        # The next read goes to PostgreSQL now, so the database builds it
                        # while this batch is encoded.
                        await asyncio.sleep(0)
                        in_flight.append(await self._enqueue(producer, batch))
                        self.batches += 1
                    if in_flight and (len(in_flight) >= self.BATCHES_IN_FLIGHT or not batch):
                        done = in_flight.popleft()
                        await done.acknowledged()
                        checkpoint = done.checkpoint
                        self.published += done.count
                        due = self._saved_at + self.save_every_seconds
                        if not batch or time.monotonic() >= due:
                            await self._save(checkpoint)
                        backoff = 0.2
                    elif not batch:
                        if checkpoint != self._saved:  # idle: nothing acknowledged goes unsaved
                            await self._save(checkpoint)
                        await _wait_any(stopping, self._wakeup, self.idle_poll_seconds)
                except (TimeoutError, KafkaError, OSError, asyncpg.PostgresError) as exc:
                    log.warning(
                        "relay retrying after error",
                        relay=self.name,
                        error=repr(exc),
                        retry_in_s=backoff,
                    )
                    await _abandon_read(reading)
                    reading = None
                    if reader.is_closed():  # the lock went with it: `run` stands in line again
                        raise
                    while in_flight:  # resent from the last acknowledged checkpoint
                        in_flight.popleft().abandon()
                    if producer is not None:
                        with contextlib.suppress(Exception):
                            await producer.stop()
                        producer = None
                    await _wait(stopping, backoff)
                    backoff = min(backoff * 2, 5.0)
            await self._drain(in_flight, checkpoint)
        finally:
            await _abandon_read(reading)
            while in_flight:
                in_flight.popleft().abandon()
            if producer is not None:
                with contextlib.suppress(Exception):
                    await producer.stop()

    async def _drain(
        self, in_flight: deque[_InFlight], checkpoint: Checkpoint, within: float = 5.0
    ) -> None:
        """A clean stop (SIGTERM): wait for the batches Kafka is acknowledging and keep the
        checkpoint, so the next leader does not send them again; after `within`, or on any
        error, the rest is abandoned and re-sent, as after a crash."""
        with contextlib.suppress(Exception):
            async with asyncio.timeout(within):
                while in_flight:
                    await in_flight[0].acknowledged()
                    done = in_flight.popleft()
                    checkpoint = done.checkpoint
                    self.published += done.count
        if checkpoint != self._saved:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(within):
                    await self._save(checkpoint)

    async def _save(self, checkpoint: Checkpoint) -> None:
        """Only ever a checkpoint whose events Kafka acknowledged."""
        await self.store.save_checkpoint(self.name, checkpoint)
        self._saved, self._saved_at = checkpoint, time.monotonic()

    def _read_after(
        self, reader: asyncpg.Connection, cursor: Checkpoint, *, paced: bool = True
    ) -> asyncio.Future[list[EncodedEvent]]:
        return asyncio.ensure_future(self._read(reader, cursor, paced))

    async def _read(
        self, reader: asyncpg.Connection, cursor: Checkpoint, paced: bool
    ) -> list[EncodedEvent]:
        if paced:
            delay = self._last_read + self.read_every_seconds - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        self._last_read = time.monotonic()
        # Cleared as the read starts: a commit it does not see sets it again.
        self._wakeup.clear()
        return await self.store.read_all_encoded(cursor, self.batch_size, connection=reader)

    async def _enqueue(self, producer: AIOKafkaProducer, batch: list[EncodedEvent]) -> _InFlight:
        """Hand a batch to the producer, in order; its acknowledgement is awaited later.

        The events go as Kafka record batches, one per partition (more when one fills), each
        with one acknowledgement: `send` per event would cost a future, a metadata check and
        a queue lookup per event. Partitions are chosen by key as `send` chooses them (the
        Java client's murmur2), so a stream's events stay in one partition, in order.
        """
        partitions = sorted(await producer.partitions_for(self.topic))
        if not self._partitions.fits(partitions):
            self._partitions = _StreamPartitions(partitions)
        keys = [event.stream_id.encode() for event in batch]
        placed = self._partitions.of_all(keys)
        builders: dict[int, BatchBuilder] = {}
        sends: list[asyncio.Future[object]] = []
        spans: list[trace.Span] = []
        # Where no span of this process reaches anyone, the records carry on the context the
        # request stored (same trace; consumers elsewhere may record theirs) instead of an
        # unrecorded send span's, which cost the relay nearly half its CPU.
        seen = not spans_unseen()
        for start in range(0, len(batch), self.ENCODED_BETWEEN_YIELDS):
            if start:
                # Let the loop take in the next batch's rows and Kafka's acknowledgements
                # meanwhile: a read left waiting holds its rows, and PostgreSQL, up.
                await asyncio.sleep(0)
            end = start + self.ENCODED_BETWEEN_YIELDS
            for event, key, partition in zip(
                batch[start:end], keys[start:end], placed[start:end], strict=True
            ):
                headers = event.kafka_headers()
                if event.trace_json and not seen:
                    headers += _carried_headers(event.trace_context)
                elif event.trace_json:  # continue the trace of the request that caused it
                    span = self._span(event)
                    if span is not None:
                        spans.append(span)
                        carrier: dict[str, str] = {}
                        propagate.inject(carrier, context=trace.set_span_in_context(span))
                        headers += [(k, v.encode()) for k, v in carrier.items()]
                builder = builders.get(partition)
                if builder is None:
                    builder = builders[partition] = producer.create_batch()
                added = builder.append(timestamp=None, key=key, value=event.value, headers=headers)
                if added is not None:
                    continue
                # Full: this one goes, and the event starts the partition's next batch.
                sends.append(await self._send(producer, builder, partition))
                builder = builders[partition] = producer.create_batch()
                added = builder.append(timestamp=None, key=key, value=event.value, headers=headers)
                if added is None:
                    raise MessageSizeTooLargeError(f"event {event.event_id} exceeds a Kafka batch")
        for partition, builder in builders.items():
            sends.append(await self._send(producer, builder, partition))
        return _InFlight(batch[-1].checkpoint, len(batch), asyncio.gather(*sends), spans)

    async def _send(
        self, producer: AIOKafkaProducer, builder: BatchBuilder, partition: int
    ) -> asyncio.Future[object]:
        builder.close()
        return await producer.send_batch(builder, self.topic, partition=partition)  # type: ignore[no-any-return]

    def _span(self, event: EncodedEvent) -> trace.Span | None:
        return send_span(
            self.topic,
            key=event.stream_id,
            event_type=event.event_type,
            event_id=str(event.event_id),
            parent=event.trace_context,
        )


_TRACE_FIELDS = ("traceparent", "tracestate", "baggage")
"""What the W3C propagators read from a record's headers."""


def _carried_headers(context: dict[str, str]) -> list[tuple[str, bytes]]:
    """The stored trace context as record headers, when it names a parent."""
    if "traceparent" not in context:
        return []
    return [(name, context[name].encode()) for name in _TRACE_FIELDS if name in context]


class _StreamPartitions:
    """The partition of each stream's key, as Kafka's Java client (and aiokafka's `send`)
    chooses it: murmur2 of the key, modulo the partition count."""

    def __init__(self, partitions: list[int]) -> None:
        self.partitions = partitions

    def fits(self, partitions: list[int]) -> bool:
        return partitions == self.partitions

    def of(self, key: bytes) -> int:
        return self.of_all([key])[0]

    def of_all(self, keys: list[bytes]) -> list[int]:
        partitions = self.partitions
        count = len(partitions)
        return [partitions[(h & 0x7FFFFFFF) % count] for h in murmur2_all(keys)]


_M = 0x5BD1E995
_MASK = 0xFFFFFFFF
_WORDS: dict[int, Callable[[bytes], tuple[int, ...]]] = {}


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as aiokafka's
    partitioner computes it, but a little-endian word at a time instead of a byte at a time."""
    length = len(data)
    h = 0x9747B28C ^ length
    words = _WORDS.get(length >> 2)
    if words is None:
        words = _WORDS[length >> 2] = struct.Struct(f"<{length >> 2}I").unpack_from
    for k in words(data):
        k = (k * _M) & _MASK
        k = ((k ^ (k >> 24)) * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = length & 3
    if tail:
        end = length - tail
        if tail == 3:
            h ^= data[end + 2] << 16
        if tail >= 2:
            h ^= data[end + 1] << 8
        h = ((h ^ data[end]) * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    return h ^ (h >> 15)


_SIDE_BY_SIDE = 8
"""Keys of one length from which murmur2_all hashes them together, not one by one."""


def murmur2_all(keys: list[bytes]) -> list[int]:
    """murmur2 of each key, the keys of one length side by side: word i of every key in its
    own 64-bit lane of one Python int, so each step of the hash is one operation on that int
    for all of them. A lane cannot spill into the next: every step masks it to 32 bits before
    the multiplication by the 32-bit constant. A fifth of the CPU of one key at a time (which
    was a fifth of the relay's), since most keys in a batch are new streams."""
    hashes = [0] * len(keys)
    by_length: dict[int, list[int]] = {}
    for i, key in enumerate(keys):
        by_length.setdefault(len(key), []).append(i)
    for length, where in by_length.items():
        count = len(where)
        if count < _SIDE_BY_SIDE:
            for i in where:
                hashes[i] = murmur2(keys[i])
            continue
        joined = b"".join([keys[i] for i in where])
        ones = int.from_bytes(b"\x01\0\0\0\0\0\0\0" * count, "little")
        low = ones * _MASK  # the low 32 bits of every lane
        h = ones * (0x9747B28C ^ length)
        words = length & ~3
        lanes = bytearray(8 * count)
        for word in range(0, words, 4):
            for byte in range(4):
                lanes[byte::8] = joined[word + byte :: length]
            k = (int.from_bytes(lanes, "little") * _M) & low
            k = ((k ^ ((k >> 24) & low)) * _M) & low
            h = ((h * _M) & low) ^ k
        if length & 3:
            lanes = bytearray(8 * count)
            for byte in range(length & 3):
                lanes[byte::8] = joined[words + byte :: length]
            h = ((h ^ int.from_bytes(lanes, "little")) * _M) & low
        h ^= (h >> 13) & low
        h = (h * _M) & low
        h ^= (h >> 15) & low
        hashed_lanes = struct.unpack(f"<{count}Q", h.to_bytes(8 * count, "little"))
        for i, hashed in zip(where, hashed_lanes, strict=True):
            hashes[i] = hashed
    return hashes


@dataclass
class _InFlight:
    checkpoint: Checkpoint
    count: int
    acks: asyncio.Future[list[object]]
    spans: list[trace.Span]

    def __post_init__(self) -> None:
        # The send spans end when Kafka answers, not when the relay next looks (up to a
        # paced read later), so they measure the send; a consumer may still fetch the record
        # before the producer hears the acknowledgement, its span ending first.
        if self.spans:
            self.acks.add_done_callback(self._end_spans)

    def _end_spans(self, _: object = None) -> None:
        spans, self.spans = self.spans, []
        for span in spans:
            span.end()

    async def acknowledged(self) -> None:
        try:
            await self.acks
        finally:
            self._end_spans()

    def abandon(self) -> None:
        self.acks.cancel()
        with contextlib.suppress(BaseException):
            self.acks.exception()
        self._end_spans()


async def _abandon_read(reading: asyncio.Future[list[EncodedEvent]] | None) -> None:
    """Cancel a read ahead and wait until its connection is free for the next query."""
    if reading is not None:
        reading.cancel()
        with contextlib.suppress(BaseException):
            await reading


async def _wait(stopping: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early when stopping; True when stopping."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)
    return stopping.is_set()


async def _wait_any(stopping: asyncio.Event, wakeup: asyncio.Event, seconds: float) -> None:
    waiters = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(wakeup.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
