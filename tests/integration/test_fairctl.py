"""`fairctl` against the real stack: a stream's history, lag, dead letters (listed and
re-driven), pauses."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from fairline_events import ops
from fairline_events.context import CommandContext
from fairline_events.envelope import Envelope
from fairline_events.kafka import producer
from fairline_events.service import Runtime
from fairline_events.settings import ServiceSettings
from hotels.domain.events import AllotmentSet, HotelRegistered, RoomsAllocated
from hotels.service import definition
from support.waiting import eventually

pytestmark = pytest.mark.infra


async def fairctl(settings: ServiceSettings, *args: str) -> Done:
    """The installed command, as ops run it, pointed at this test's databases and topics."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        **settings.kafka.env(),
        "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
        "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
    }
    command = [str(Path(sys.executable).parent / "fairctl"), *args]
    done = await asyncio.to_thread(
        subprocess.run, command, env=env, capture_output=True, text=True, timeout=60
    )
    return Done(done.returncode, done.stdout + done.stderr)


@dataclass(frozen=True)
class Done:
    exit_code: int
    output: str


def lag_of(output: str, part: str) -> int:
    [line] = [line for line in output.splitlines() if f" {part} " in f" {line} "]
    return int(line.split()[2])


async def test_history_lag_and_dead_letters_of_a_running_service(
    settings: ServiceSettings,
) -> None:
    runtime = Runtime(definition, settings)
    await runtime.prepare()
    assert runtime.store is not None
    desk = CommandContext(actor="user:hotel-desk-1", reason="the group's new hotel")
    await runtime.store.append(
        "hotel-fairctl",
        [
            HotelRegistered(
                hotel_code="fairctl",
                name_zh="测试酒店",
                name_en="Test Hotel",
                room_types={"standard": 10},
            ),
            *(
                AllotmentSet(
                    hotel_code="fairctl",
                    room_type="standard",
                    night=date(2021, 9, day),
                    rooms=5,
                    rate=800,
                )
                for day in (1, 2)
            ),
        ],
        0,
        desk.for_command("RegisterHotel"),
    )
    if runtime.pool is not None:
        await runtime.pool.close()

    shown = await fairctl(settings, "history", "hotels", "hotel-fairctl")
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert len(lines) == 3
    assert "hotels.HotelRegistered" in lines[0] and "by user:hotel-desk-1" in lines[0]
    assert 'because "the group\'s new hotel"' in lines[0] and "(RegisterHotel)" in lines[0]

    missing = await fairctl(settings, "history", "hotels", "hotel-nowhere")
    assert missing.exit_code == 1 and "no stream 'hotel-nowhere'" in missing.output

    before = await fairctl(settings, "lag", "hotels")
    assert lag_of(before.output, "relay:relay") == 3
    assert lag_of(before.output, "projection:occupancy") == 0  # nothing on the topic yet

    relaying = Runtime(definition, settings)
    await relaying.start(relay=True, projections=False, jobs=False)
    try:
        after = await eventually(
            lambda: _lag(settings),
            lambda out: lag_of(out, "relay:relay") == 0,
            within=30,
            what="the relay catching up",
        )
    finally:
        await relaying.stop()
    # On the topic now, and no projection ran: each read model is three events behind.
    assert lag_of(after, "projection:occupancy") == 3
    assert lag_of(after, "projection:rooming") == 3

    dead = await fairctl(settings, "dead-letters", "list", "hotels", "occupancy")
    assert dead.exit_code == 0, dead.output
    assert "0 dead letter(s)" in dead.output
    unknown = await fairctl(settings, "dead-letters", "list", "hotels", "nothing")
    assert unknown.exit_code == 2 and "has no projection 'nothing'" in unknown.output


async def _lag(settings: ServiceSettings) -> str:
    result = await fairctl(settings, "lag", "hotels")
    assert result.exit_code == 0, result.output
    return result.output


async def fairctl_here(settings: ServiceSettings, *args: str) -> Done:
    """The same command in this process (Click's runner, in a thread of its own: fairctl
    runs its own event loop): a busy machine spends seconds importing every service for
    each subprocess, and the tests below call it often."""
    env = {
        "DATABASE_URL": settings.database_url,
        **settings.kafka.env(),
        "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
        "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
    }
    result = await asyncio.to_thread(CliRunner().invoke, ops.main, list(args), env=env)
    failure = result.exception
    crashed = "" if failure is None or isinstance(failure, SystemExit) else repr(failure)
    return Done(result.exit_code, result.output + crashed)


async def _lag_here(settings: ServiceSettings) -> str:
    result = await fairctl_here(settings, "lag", "hotels")
    assert result.exit_code == 0, result.output
    return result.output


def _allotments(hotel: str, days: range, rate: int = 800) -> list[AllotmentSet]:
    return [
        AllotmentSet(
            hotel_code=hotel, room_type="standard", night=date(2021, 9, d), rooms=5, rate=rate
        )
        for d in days
    ]


async def _nights(runtime: Runtime, hotel: str) -> int:
    assert runtime.pool is not None
    count = await runtime.pool.fetchval(
        "SELECT count(*) FROM proj_occupancy.nights WHERE hotel_code = $1", hotel
    )
    return int(count)


async def test_a_paused_projection_applies_nothing_its_lag_grows_and_after_resume_it_catches_up(
    settings: ServiceSettings,
) -> None:
    worker = Runtime(definition, settings)
    await worker.start(relay=True, projections=True, jobs=False)
    try:
        assert worker.store is not None
        desk = CommandContext(actor="user:hotel-desk-1").for_command("SetAllotment")
        registered = HotelRegistered(
            hotel_code="paused", name_zh="暂停酒店", name_en="Paused", room_types={"standard": 9}
        )
        await worker.store.append(
            "hotel-paused", [registered, *_allotments("paused", range(1, 3))], 0, desk
        )
        await eventually(
            lambda: _nights(worker, "paused"), lambda n: n == 2, within=30, what="applied"
        )

        paused = await fairctl(
            settings, "pause", "hotels", "occupancy", "--reason", "rates to fix", "--by", "alice"
        )
        assert paused.exit_code == 0, paused.output
        assert "paused by ops:alice" in paused.output and "rates to fix" in paused.output
        assert "fairctl resume hotels occupancy" in paused.output  # the next step

        await worker.store.append("hotel-paused", _allotments("paused", range(3, 6)), 3, desk)
        shown = await eventually(
            lambda: _lag_here(settings),
            # The others go on: rooming applies the three events the paused one holds back
            # (each projection applies on its own, so it may take a moment after the relay).
            lambda out: (
                lag_of(out, "relay:relay") == 0
                and lag_of(out, "projection:occupancy") == 3
                and lag_of(out, "projection:rooming") == 0
            ),
            within=30,
            what="the paused projection three events behind, the others caught up",
        )
        [line] = [x for x in shown.splitlines() if "projection:occupancy" in x]
        assert "paused by ops:alice" in line
        await asyncio.sleep(2.5)  # a paused worker looks again every second
        assert await _nights(worker, "paused") == 2
        again = await fairctl_here(settings, "pause", "hotels", "occupancy", "--reason", "x")
        assert again.exit_code == 0 and "already paused by ops:alice" in again.output

        resumed = await fairctl_here(settings, "resume", "hotels", "occupancy", "--by", "bob")
        assert resumed.exit_code == 0, resumed.output
        assert "resumed by ops:bob" in resumed.output and "3 event(s) to catch up" in resumed.output
        await eventually(
            lambda: _nights(worker, "paused"), lambda n: n == 5, within=30, what="caught up"
        )
        caught_up = await _lag_here(settings)
        assert lag_of(caught_up, "projection:occupancy") == 0 and "paused" not in caught_up
        idle = await fairctl_here(settings, "resume", "hotels", "occupancy")
        assert idle.exit_code == 0 and "was not paused" in idle.output
    finally:
        await worker.stop()


async def test_dead_letters_are_redriven_once_after_the_fix_and_refused_ones_never(
    settings: ServiceSettings,
) -> None:
    worker = Runtime(definition, settings)
    await worker.prepare()
    assert worker.pool is not None and worker.store is not None
    # The defect: a read-model constraint that refuses a legitimate row (blocks over 50).
    await worker.pool.execute(
        "ALTER TABLE proj_occupancy.block_nights ADD CONSTRAINT small CHECK (contracted <= 50)"
    )
    await worker.start(relay=True, projections=True, jobs=False)
    try:
        night = {"hotel_code": "redrive", "room_type": "standard", "night": date(2021, 9, 3)}
        delegation = CommandContext(actor="user:hotel-desk-1").for_command("AllocateRooms")
        await worker.store.append(
            "night-redrive",
            [RoomsAllocated(**night, block_id="delegation-a", rooms=r) for r in (10, 60)],
            0,
            delegation,
        )
        await _forge(settings)  # an event the service never wrote, on its topic

        async def contracted() -> int | None:
            assert worker.pool is not None
            value = await worker.pool.fetchval(
                "SELECT contracted FROM proj_occupancy.block_nights WHERE block_id = 'delegation-a'"
            )
            return None if value is None else int(value)

        listed = await eventually(
            lambda: fairctl_here(settings, "dead-letters", "list", "hotels", "occupancy"),
            lambda done: "2 dead letter(s)" in done.output,
            within=30,
            what="the failed and the forged event dead-lettered",
        )
        assert listed.output.count(" waiting ") == 1 and listed.output.count(" refused ") == 1
        assert "dead-letters redrive hotels occupancy" in listed.output  # the next step
        assert await contracted() == 10

        early = await fairctl_here(settings, "dead-letters", "redrive", "hotels", "occupancy")
        assert early.exit_code == 1 and "1 still failing" in early.output, early.output
        assert await contracted() == 10

        await worker.pool.execute("ALTER TABLE proj_occupancy.block_nights DROP CONSTRAINT small")
        fixed = await fairctl(
            settings, "dead-letters", "redrive", "hotels", "occupancy", "--by", "alice"
        )
        assert fixed.exit_code == 0, fixed.output
        assert "1 applied, 0 already redriven, 1 refused (never applied), 0 still failing" in (
            fixed.output
        )
        assert await contracted() == 70

        twice = await fairctl_here(settings, "dead-letters", "redrive", "hotels", "occupancy")
        assert twice.exit_code == 0, twice.output
        assert "0 applied, 1 already redriven, 1 refused" in twice.output
        assert "by ops:alice" in twice.output
        assert await contracted() == 70
        kept = await fairctl_here(settings, "dead-letters", "list", "hotels", "occupancy")
        assert "2 dead letter(s)" in kept.output and kept.output.count(" redriven ") == 1
    finally:
        await worker.stop()


async def _forge(settings: ServiceSettings) -> None:
    forged = Envelope(
        event_id=uuid.uuid4(),
        event_type="hotels.AllotmentSet",
        schema_version=1,
        stream_id="night-forged",
        stream_version=1,
        service="hotels",
        occurred_at=datetime.now(UTC),
        actor="user:intruder",
        correlation_id=uuid.uuid4(),
        data={
            "hotel_code": "redrive",
            "room_type": "standard",
            "night": "2021-09-04",
            "rooms": 1,
            "rate": 1,
        },
    )
    send = producer(settings.kafka)
    await send.start()
    try:
        await send.send_and_wait(
            settings.topic("hotels.events"), forged.to_json(), key=b"night-forged"
        )
    finally:
        await send.stop()
