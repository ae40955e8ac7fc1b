"""`fairctl` against the real stack: a stream's history, lag, dead letters."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fairline_events.context import CommandContext
from fairline_events.service import Runtime
from fairline_events.settings import ServiceSettings
from hotels.domain.events import AllotmentSet, HotelRegistered
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
