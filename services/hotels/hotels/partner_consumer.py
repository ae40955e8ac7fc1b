"""`fairline-hotel-feed`: the reference consumer a partner hotel's IT runs.

It reads one hotel's feed (`<prefix>partner.<hotel>.bookings`) and applies it to a local
SQLite file, the stand-in for the hotel's own system:

    fairline-hotel-feed --hotel cncc-grand --db cncc-grand.sqlite \
        --api http://127.0.0.1:8005 --token "$PARTNER_TOKEN" [--until-idle] [--resync]

Exactly once in effect: each message is applied in one SQLite transaction that also records
its id and the partition's next offset. On start it resumes from those offsets (Kafka's own
committed offsets are not used), so a crash at any point re-reads at most the message it was
applying, which then finds its id already recorded. A message sent twice is skipped by its
id; an older version of a booking than the one held is skipped by `subject_version`.
`--resync` empties the local store and reads the feed again from the start.

Guest names arrive sealed; the consumer fetches the guest's key from the hotels API while it
exists and stores the opened name. `booking.guest_erased` (or a key that is gone, 410)
deletes the name. Nothing personal is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from fairline_events.kafka import KafkaAccess, topic_partitions
from fairline_events.kafka import consumer as make_consumer
from fairline_events.settings import ServiceSettings
from fairline_events.shredding import Sealed, decode_key, unseal

from .partner import contract

SCHEMA = """
CREATE TABLE IF NOT EXISTS offsets (partition INTEGER PRIMARY KEY, next_offset INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
    message_id   TEXT PRIMARY KEY,
    message_type TEXT NOT NULL,
    subject_id   TEXT NOT NULL,
    applied      INTEGER NOT NULL,
    partition    INTEGER NOT NULL,
    offset       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS blocks (
    block_id TEXT PRIMARY KEY, parent_block_id TEXT, group_kind TEXT, name TEXT,
    first_night TEXT, last_night TEXT, rooms TEXT, cut_off_at TEXT,
    status TEXT NOT NULL, released_room_nights INTEGER, version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS bookings (
    booking_id TEXT PRIMARY KEY, block_id TEXT, room_type TEXT, arrival TEXT, departure TEXT,
    board TEXT, requests TEXT, nightly_rates TEXT, total INTEGER, status TEXT NOT NULL,
    guest_key_id TEXT, guest_name TEXT, guest_erased INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    changes_applied INTEGER NOT NULL DEFAULT 0
);
"""


class KeyService:
    """Fetches guest keys from the hotels API; remembers them only while it runs."""

    def __init__(self, api: str, hotel: str, token: str) -> None:
        self.api = api.rstrip("/")
        self.hotel = hotel
        self.token = token
        self.cache: dict[str, bytes | None] = {}

    def key(self, key_id: str) -> bytes | None:
        """The key, or None when the guest was erased (410) or the key is unknown (404)."""
        if key_id not in self.cache:
            url = f"{self.api}/partner/hotels/{self.hotel}/guest-keys/{key_id}"
            request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.cache[key_id] = decode_key(json.load(response)["key"])
            except urllib.error.HTTPError as exc:
                if exc.code not in (404, 410):
                    raise
                self.cache[key_id] = None
        return self.cache[key_id]

    def open_name(self, sealed: Sealed | None) -> str | None:
        if sealed is None:
            return None
        key = self.key(sealed.key_id)
        return unseal(key, sealed, "name") if key is not None else None


@dataclass
class Counts:
    applied: int = 0
    duplicates: int = 0
    stale: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


class LocalStore:
    def __init__(self, path: Path, keys: KeyService) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.executescript(SCHEMA)
        self.keys = keys

    def close(self) -> None:
        self.db.close()

    def reset(self) -> None:
        self.db.executescript(
            "BEGIN; DELETE FROM offsets; DELETE FROM seen; DELETE FROM blocks;"
            " DELETE FROM bookings; COMMIT;"
        )

    def offsets(self) -> dict[int, int]:
        return dict(self.db.execute("SELECT partition, next_offset FROM offsets").fetchall())

    def apply(self, record: ConsumerRecord[bytes, bytes], counts: Counts) -> None:
        """One message, its id and the next offset: all in one transaction."""
        message = contract.decode(record.value or b"")
        name = None
        if isinstance(message, contract.BookingConfirmed):
            name = self.keys.open_name(message.booking.guest.name)  # network: outside the tx
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            seen = db.execute(
                "SELECT 1 FROM seen WHERE message_id = ?", (str(message.message_id),)
            ).fetchone()
            if seen:
                counts.duplicates += 1
            else:
                applied = self._apply(message, name)
                db.execute(
                    "INSERT INTO seen VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        str(message.message_id),
                        message.message_type,
                        message.subject_id,
                        int(applied),
                        record.partition,
                        record.offset,
                    ),
                )
                if applied:
                    counts.applied += 1
                    counts.by_type[message.message_type] = (
                        counts.by_type.get(message.message_type, 0) + 1
                    )
                else:
                    counts.stale += 1
            db.execute(
                "INSERT INTO offsets VALUES (?, ?) ON CONFLICT (partition)"
                " DO UPDATE SET next_offset = excluded.next_offset",
                (record.partition, record.offset + 1),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _newer(self, table: str, key: str, subject_id: str, version: int | None) -> bool:
        row = self.db.execute(
            f"SELECT version FROM {table} WHERE {key} = ?", (subject_id,)
        ).fetchone()
        return row is None or version is None or version > row[0]

    def _apply(self, message: Any, name: str | None) -> bool:
        db = self.db
        match message:
            case contract.BlockCreated(block=b):
                if not self._newer("blocks", "block_id", b.block_id, message.subject_version):
                    return False
                db.execute(
                    "INSERT INTO blocks VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open', NULL, ?)"
                    " ON CONFLICT (block_id) DO UPDATE SET version = excluded.version",
                    (
                        b.block_id,
                        b.parent_block_id,
                        b.group,
                        b.name,
                        b.first_night.isoformat(),
                        b.last_night.isoformat(),
                        json.dumps(b.rooms),
                        b.cut_off_at.isoformat(),
                        message.subject_version,
                    ),
                )
            case contract.BlockReleased():
                if not self._newer("blocks", "block_id", message.block_id, message.subject_version):
                    return False
                db.execute(
                    "UPDATE blocks SET status = 'released', released_room_nights = ?, version = ?"
                    " WHERE block_id = ?",
                    (message.released_room_nights, message.subject_version, message.block_id),
                )
            case contract.BookingConfirmed(booking=b):
                if not self._newer("bookings", "booking_id", b.booking_id, message.subject_version):
                    return False
                sealed = b.guest.name
                db.execute(
                    """INSERT INTO bookings (booking_id, block_id, room_type, arrival, departure,
                         board, requests, nightly_rates, total, status, guest_key_id, guest_name,
                         guest_erased, version, changes_applied)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'confirmed', ?, ?, ?, ?, 1)
                       ON CONFLICT (booking_id) DO UPDATE SET
                         room_type = excluded.room_type, arrival = excluded.arrival,
                         departure = excluded.departure, board = excluded.board,
                         requests = excluded.requests, nightly_rates = excluded.nightly_rates,
                         total = excluded.total, status = 'confirmed',
                         guest_name = CASE WHEN bookings.guest_erased = 1 THEN NULL
                                           ELSE excluded.guest_name END,
                         version = excluded.version,
                         changes_applied = bookings.changes_applied + 1""",
                    (
                        b.booking_id,
                        b.block_id,
                        b.room_type,
                        b.arrival.isoformat(),
                        b.departure.isoformat(),
                        b.board,
                        json.dumps(b.requests),
                        json.dumps(b.nightly_rates),
                        b.total,
                        sealed.key_id if sealed else None,
                        name,
                        int(sealed is not None and name is None),
                        message.subject_version,
                    ),
                )
            case contract.BookingCancelled() | contract.BookingNoShow():
                if not self._newer(
                    "bookings", "booking_id", message.booking_id, message.subject_version
                ):
                    return False
                status = "cancelled" if message.message_type == "booking.cancelled" else "no_show"
                total = getattr(message, "charged", 0)
                db.execute(
                    "UPDATE bookings SET status = ?, total = ?, version = ?,"
                    " changes_applied = changes_applied + 1 WHERE booking_id = ?",
                    (status, total, message.subject_version, message.booking_id),
                )
            case contract.GuestErased():
                db.execute(
                    "UPDATE bookings SET guest_name = NULL, guest_erased = 1 WHERE booking_id = ?",
                    (message.booking_id,),
                )
            case _:
                return False
        return True


async def consume(
    store: LocalStore,
    kafka: KafkaAccess,
    topic: str,
    *,
    until_idle: bool,
    max_messages: int | None = None,
    crash_after: int | None = None,
) -> Counts:
    counts = Counts()
    partitions = await topic_partitions(kafka, [topic])
    consumer = make_consumer(
        kafka,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=200,
    )
    await consumer.start()
    try:
        consumer.assign(partitions)
        stored = store.offsets()
        for tp in partitions:
            if tp.partition in stored:
                consumer.seek(tp, stored[tp.partition])
            else:
                await consumer.seek_to_beginning(tp)
        handled = 0
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            records = [r for tp in sorted(batches, key=_order) for r in batches[tp]]
            for record in records:
                store.apply(record, counts)
                handled += 1
                if crash_after is not None and handled >= crash_after:
                    os._exit(3)  # a hard crash, for tests: no cleanup of any kind
                if max_messages is not None and handled >= max_messages:
                    return counts
            if not records and until_idle and await _caught_up(consumer, partitions):
                return counts
    finally:
        await consumer.stop()


def _order(tp: TopicPartition) -> int:
    return int(tp.partition)


async def _caught_up(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    end = await consumer.end_offsets(partitions)
    for tp in partitions:
        if await consumer.position(tp) < end[tp]:
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fairline-hotel-feed",
        description="Apply one partner hotel's booking feed to a local SQLite store.",
    )
    parser.add_argument("--hotel", help="hotel code, e.g. cncc-grand")
    parser.add_argument(
        "--contract", action="store_true", help="print the feed's AsyncAPI contract and exit"
    )
    parser.add_argument("--db", type=Path, help="SQLite file (default: <hotel>.sqlite)")
    parser.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:19092"),
    )
    parser.add_argument(
        "--topic-prefix", default=os.environ.get("FAIRLINE_TOPIC_PREFIX", "fairline.")
    )
    parser.add_argument(
        "--api", default=os.environ.get("FAIRLINE_HOTELS_API", "http://127.0.0.1:8005")
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("FAIRLINE_PARTNER_TOKEN", ""),
        help="a partner_hotel bearer token for this hotel (or FAIRLINE_PARTNER_TOKEN)",
    )
    # The feed's Kafka principal comes from the environment only (a password in argv shows
    # in `ps`): KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD, KAFKA_SECURITY_PROTOCOL.
    parser.add_argument("--resync", action="store_true", help="empty the store, read from start")
    parser.add_argument("--until-idle", action="store_true", help="stop once caught up")
    parser.add_argument("--max-messages", type=int, help="stop after this many messages")
    parser.add_argument("--crash-after", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.contract:
        json.dump(contract.asyncapi_document(), sys.stdout, ensure_ascii=False, indent=2)
        return 0
    if not args.hotel:
        parser.error("--hotel is required")
    store = LocalStore(
        args.db or Path(f"{args.hotel}.sqlite"), KeyService(args.api, args.hotel, args.token)
    )
    try:
        if args.resync:
            store.reset()
        topic = f"{args.topic_prefix}{contract.partner_topic(args.hotel)}"
        counts = asyncio.run(
            consume(
                store,
                ServiceSettings(kafka_bootstrap_servers=args.bootstrap_servers).kafka,
                topic,
                until_idle=args.until_idle,
                max_messages=args.max_messages,
                crash_after=args.crash_after,
            )
        )
    except KeyboardInterrupt:
        return 130
    finally:
        store.close()
    print(
        f"{args.hotel}: applied {counts.applied}, skipped {counts.duplicates} seen before"
        f" and {counts.stale} older versions; by type {json.dumps(counts.by_type, sort_keys=True)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
