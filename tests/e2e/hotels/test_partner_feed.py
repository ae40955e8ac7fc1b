"""Each partner hotel's feed: taken into a hotel's system by the reference consumer exactly
once in effect (across a hard crash, a re-sent message and a re-sync), and readable by an
independent client, kcat."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fairline_events.kafka import KafkaAccess
from fairline_events.kafka import producer as make_producer
from fairline_events.settings import ServiceSettings
from fairline_stack.kcat import kcat_env, sasl_args
from hotels.partner import contract
from hotels.projections import partner_feed
from support.kafka_read import read_topic
from support.waiting import eventually

from .conftest import Api, night

pytestmark = pytest.mark.infra

GUESTS = ["Chen Jing", "Tan Wei Ming", "Oliver Hughes", "Sun Li", "Emma Clarke", "Huang Fang"]
EXPECTED = {
    "block.created": 2,
    "booking.created": 6,
    "booking.modified": 1,
    "booking.cancelled": 1,
    "booking.guest_erased": 1,
}


async def scenario(api: Api, settings: ServiceSettings) -> dict[str, Any]:
    """A block and a delegation's sub-block, six bookings, one modified, one cancelled, one
    guest erased; returns the ids, once the whole feed is on the hotel's topic."""
    await api.hotel()
    await api.allot(30, 1, 6, rate=700)
    block = await api.ok(
        "POST",
        "/hotels/cncc-grand/blocks",
        "desk",
        json={
            "group": "delegation",
            "name": "Delegations",
            "first_night": night(1),
            "last_night": night(5),
            "rooms": {"standard": 12},
            "cut_off_at": "2099-01-01T00:00:00+08:00",
        },
    )
    sub = await api.ok(
        "POST",
        f"/blocks/{block['block_id']}/sub-blocks",
        "desk",
        json={
            "name": "Singapore delegation",
            "planner": "planner-sg",
            "first_night": night(1),
            "last_night": night(4),
            "rooms": {"standard": 4},
            "cut_off_at": "2098-01-01T00:00:00+08:00",
        },
    )
    bookings = []
    for i, name in enumerate(GUESTS):
        where = {"block_id": sub["block_id"]} if i < 2 else {}
        made = await api.book(1 + i % 3, 3 + i % 3, guest={"name": name}, **where)
        assert made.status_code == 201, made.text
        bookings.append(made.json())
    await api.ok(
        "PATCH",
        f"/bookings/{bookings[0]['booking_id']}",
        "desk",
        json={"departure": night(4), "board": "full_board"},
    )
    await api.ok("POST", f"/bookings/{bookings[1]['booking_id']}/cancel", "desk")

    # The erasure and the booking sit on different partitions: a feed that lags may see the
    # erasure first, and then rightly sends the booking without a name. This scenario is the
    # other order, so it waits for the booking to reach the feed before erasing its guest.
    async def created() -> int:
        count: int = await api.runtime.pool.fetchval(
            f"SELECT count(*) FROM {partner_feed.schema}.outbox"
            " WHERE message_type = 'booking.created'"
        )
        return count

    await eventually(created, lambda n: n == len(GUESTS), what="every booking in the feed")
    await api.ok("POST", f"/guests/{bookings[2]['guest']['guest_id']}/erasure", "ops")
    topic = settings.topic("partner.cncc-grand.bookings")

    async def types() -> dict[str, int]:
        records = await read_topic(settings.kafka, topic)
        counts: dict[str, int] = {}
        for r in records:
            kind = json.loads(r.value or b"")["message_type"]
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    await eventually(types, lambda c: c == EXPECTED, what="the whole feed on the topic")
    return {"block": block, "sub": sub, "bookings": bookings, "topic": topic}


def feed_consumer(
    api: Api, settings: ServiceSettings, db: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "fairline-hotel-feed"),
        "--hotel",
        "cncc-grand",
        "--db",
        str(db),
        "--bootstrap-servers",
        settings.kafka_bootstrap_servers,
        "--topic-prefix",
        settings.fairline_topic_prefix,
        "--api",
        str(api.client.base_url),
        "--token",
        api.tokens["partner_cncc"],
        *extra,
    ]
    env = {**os.environ, **settings.kafka.env()}  # the feed's Kafka identity: env only
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)


def local_state(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        bookings = {
            r[0]: {
                "status": r[1],
                "guest_name": r[2],
                "erased": r[3],
                "changes": r[4],
                "departure": r[5],
                "board": r[6],
            }
            for r in conn.execute(
                "SELECT booking_id, status, guest_name, guest_erased, changes_applied,"
                " departure, board FROM bookings"
            )
        }
        blocks = {r[0]: r[1] for r in conn.execute("SELECT block_id, status FROM blocks")}
        seen = conn.execute("SELECT count(*), count(DISTINCT message_id) FROM seen").fetchone()
    return {"bookings": bookings, "blocks": blocks, "seen": seen}


async def test_the_reference_consumer_applies_each_message_once_across_a_crash_and_a_resync(
    api: Api, settings: ServiceSettings, tmp_path: Path
) -> None:
    ids = await scenario(api, settings)
    db = tmp_path / "cncc-grand.sqlite"

    crashed = await asyncio.to_thread(feed_consumer, api, settings, db, "--crash-after", "4")
    assert crashed.returncode == 3, crashed.stderr[-2000:]
    assert local_state(db)["seen"] == (4, 4), "what was applied before the crash is kept"
    resumed = await asyncio.to_thread(feed_consumer, api, settings, db, "--until-idle")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "applied 7," in resumed.stdout, resumed.stdout

    # A message the platform sends again (a publish retried after a crash) is skipped.
    records = await read_topic(settings.kafka, ids["topic"])
    first = records[0]
    producer = make_producer(settings.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(
            ids["topic"], first.value, key=first.key, partition=first.partition
        )
    finally:
        await producer.stop()
    again = await asyncio.to_thread(feed_consumer, api, settings, db, "--until-idle")
    assert "applied 0, skipped 1 seen before" in again.stdout, again.stdout

    state = local_state(db)
    made = ids["bookings"]
    expected_bookings = {
        b["booking_id"]: {
            "status": "cancelled" if i == 1 else "confirmed",
            "guest_name": None if i == 2 else GUESTS[i],
            "erased": int(i == 2),
            "changes": 2 if i in (0, 1) else 1,
            "departure": night(4) if i == 0 else night(3 + i % 3),
            "board": "full_board" if i == 0 else "breakfast",
        }
        for i, b in enumerate(made)
    }
    assert state["bookings"] == expected_bookings
    assert state["blocks"] == {ids["block"]["block_id"]: "open", ids["sub"]["block_id"]: "open"}
    assert state["seen"] == (11, 11)

    resynced = await asyncio.to_thread(feed_consumer, api, settings, db, "--resync", "--until-idle")
    assert resynced.returncode == 0 and "applied 11," in resynced.stdout, resynced.stdout
    assert local_state(db) == state, "a re-sync from the start rebuilds the same store"
    for output in (crashed, resumed, again, resynced):
        assert not [g for g in GUESTS if g in output.stdout + output.stderr]


def kcat() -> str:
    """Debian's kcat; installed when missing on a machine where we are root (CI)."""
    found = shutil.which("kcat")
    if found:
        return found
    if os.geteuid() != 0:
        pytest.fail("kcat is not installed: run `apt-get install -y kcat` (Debian's package)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "kcat"]
    if subprocess.run(install, env=env, capture_output=True, timeout=300).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=300)
        subprocess.run(install, env=env, capture_output=True, timeout=300, check=True)
    found = shutil.which("kcat")
    assert found, "kcat did not install"
    return found


def run_kcat(kafka: KafkaAccess, *args: str) -> subprocess.CompletedProcess[str]:
    """kcat as `kafka`'s principal (SASL/SCRAM options when the broker wants them)."""
    binary = kcat()
    command = [binary, "-b", kafka.bootstrap_servers, *sasl_args(kafka), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=kcat_env())


async def test_an_independent_client_reads_and_decodes_the_feed_with_kcat(
    api: Api, settings: ServiceSettings
) -> None:
    await asyncio.to_thread(kcat)
    ids = await scenario(api, settings)
    done = await asyncio.to_thread(
        run_kcat, settings.kafka, "-C", "-t", ids["topic"], "-o", "beginning", "-e", "-J", "-q"
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == sum(EXPECTED.values())
    messages = [contract.decode(line["payload"]) for line in lines]
    counts: dict[str, int] = {}
    for line, message in zip(lines, messages, strict=True):
        counts[message.message_type] = counts.get(message.message_type, 0) + 1
        assert line["key"] == message.subject_id
        headers = dict(zip(line["headers"][::2], line["headers"][1::2], strict=True))
        assert headers["message_type"] == message.message_type
        assert headers["contract_version"] == "1"
        assert headers["message_id"] == str(message.message_id)
        assert message.hotel_code == "cncc-grand"
    assert counts == EXPECTED
    created = [m for m in messages if m.message_type == "booking.created"]
    assert {m.booking.booking_id for m in created} == {b["booking_id"] for b in ids["bookings"]}
    assert all(m.booking.guest.name is not None for m in created)
    assert not [g for g in GUESTS if g in done.stdout], "names travel sealed"
    # Only what a hotel needs: no staff ids, no phone or passport fields, no trace data.
    for forbidden in ("actor", "phone", "id_document", "traceparent", "guest_id", "desk-1"):
        assert forbidden not in done.stdout
