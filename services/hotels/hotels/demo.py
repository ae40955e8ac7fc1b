"""The demo edition (deploy/demo/edition-2021.yaml): the group's four hotels at the 2021 fair.

Loaded as it would have been planned, on 1 August 2021 (the deciders take `now` as input):
allotments for the fair week, blocks for staff, media, delegations (with two delegations'
sub-blocks and their planners), sponsors and exhibitors, and a few bookings of fictional
guests. Their cut-offs lie in August 2021, so a running service releases the demo blocks'
unbooked rooms on its first tick, as it would have then.

Idempotent: every demo item has a fixed id, and one that exists is left alone.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from fairline_events.context import CommandContext
from fairline_events.service import Runtime
from fairline_events.store import EventStore

from .api.common import GuestDetails, seal_guest
from .domain.blocks import block_stream
from .domain.bookings import booking_stream
from .domain.commands import CreateBlock, MakeBooking, RegisterHotel, SetAllotment
from .domain.hotel import hotel_stream
from .domain.values import HOTEL_TIME
from .handlers import create_block, make_booking, register_hotel, set_allotment

PLANNED_AT = datetime(2021, 8, 1, 9, 0, tzinfo=HOTEL_TIME)
FIRST_NIGHT, LAST_NIGHT = date(2021, 8, 31), date(2021, 9, 7)
RATES = {"standard": 680, "deluxe": 980, "suite": 2280}
SHARE = 0.6  # of each room type the hotels give the fair


def _cut_off(day: int) -> datetime:
    return datetime(2021, 8, day, 23, 59, 59, tzinfo=HOTEL_TIME)


BLOCKS: list[dict[str, Any]] = [
    {
        "block_id": "demo-staff",
        "hotel_code": "cncc-grand",
        "group": "staff",
        "name": "Organiser staff",
        "rooms": {"standard": 60},
        "first_night": FIRST_NIGHT,
        "cut_off_at": _cut_off(24),
    },
    {
        "block_id": "demo-media",
        "hotel_code": "cncc-grand",
        "group": "media",
        "name": "Press centre media",
        "rooms": {"standard": 40, "deluxe": 10},
        "first_night": date(2021, 9, 1),
        "cut_off_at": _cut_off(20),
    },
    {
        "block_id": "demo-delegations",
        "hotel_code": "continental",
        "group": "delegation",
        "name": "Country delegations",
        "rooms": {"standard": 100, "deluxe": 40},
        "first_night": date(2021, 9, 1),
        "cut_off_at": _cut_off(20),
    },
    {
        "block_id": "demo-delegation-sg",
        "parent_block_id": "demo-delegations",
        "hotel_code": "continental",
        "group": "delegation",
        "name": "Singapore delegation",
        "planner": "demo-planner-sg",
        "rooms": {"deluxe": 8},
        "first_night": date(2021, 9, 1),
        "last_night": date(2021, 9, 5),
        "cut_off_at": _cut_off(16),
    },
    {
        "block_id": "demo-delegation-gb",
        "parent_block_id": "demo-delegations",
        "hotel_code": "continental",
        "group": "delegation",
        "name": "United Kingdom delegation",
        "planner": "demo-planner-gb",
        "rooms": {"standard": 12},
        "first_night": date(2021, 9, 1),
        "last_night": date(2021, 9, 6),
        "cut_off_at": _cut_off(16),
    },
    {
        "block_id": "demo-sponsors",
        "hotel_code": "vip-building",
        "group": "sponsor",
        "name": "Strategic partners",
        "rooms": {"suite": 20},
        "first_night": date(2021, 9, 1),
        "cut_off_at": _cut_off(18),
    },
    {
        "block_id": "demo-exhibitors",
        "hotel_code": "asian-games-village",
        "group": "exhibitor",
        "name": "Exhibitors",
        "rooms": {"standard": 80},
        "first_night": date(2021, 9, 1),
        "cut_off_at": _cut_off(18),
    },
]

# Fictional guests: (booking, block, room type, arrival day, departure day, board, name, phone)
BOOKINGS: list[tuple[str, str, str, int, int, str, str, str]] = [
    ("demo-bk-01", "demo-staff", "standard", 31, 38, "full_board", "Liu Yang", "+86 139 0000 0101"),
    ("demo-bk-02", "demo-staff", "standard", 31, 38, "full_board", "Zhao Min", "+86 139 0000 0102"),
    ("demo-bk-03", "demo-media", "standard", 32, 36, "breakfast", "Sun Li", "+86 139 0000 0103"),
    ("demo-bk-04", "demo-media", "deluxe", 32, 35, "breakfast", "Emma Clarke", "+44 20 7946 0104"),
    (
        "demo-bk-05",
        "demo-delegation-sg",
        "deluxe",
        32,
        36,
        "breakfast",
        "Tan Wei Ming",
        "+65 6123 0105",
    ),
    (
        "demo-bk-06",
        "demo-delegation-sg",
        "deluxe",
        32,
        36,
        "breakfast",
        "Lim Hui Ling",
        "+65 6123 0106",
    ),
    (
        "demo-bk-07",
        "demo-delegation-gb",
        "standard",
        32,
        37,
        "room_only",
        "Oliver Hughes",
        "+44 20 7946 0107",
    ),
    ("demo-bk-08", "demo-sponsors", "suite", 32, 35, "full_board", "Zhou Jie", "+86 139 0000 0108"),
    (
        "demo-bk-09",
        "demo-exhibitors",
        "standard",
        32,
        38,
        "breakfast",
        "Huang Fang",
        "+86 139 0000 0109",
    ),
]


def demo_file() -> Path:
    configured = os.environ.get("FAIRLINE_DEMO_FILE")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "demo" / "edition-2021.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("deploy/demo/edition-2021.yaml not found; set FAIRLINE_DEMO_FILE")


def _night(day: int) -> date:
    """August days past 31 run on into September."""
    return date(2021, 8, 31) if day == 31 else date(2021, 9, day - 31)


async def load_demo(runtime: Runtime) -> int:
    assert runtime.store is not None
    store = runtime.store
    data: dict[str, Any] = yaml.safe_load(demo_file().read_text(encoding="utf-8"))
    # Planned as of PLANNED_AT: the rules see that day, so the blocks' cut-offs lie ahead.
    loader = replace(
        CommandContext.system("demo-loader", reason="demo edition"), clock=lambda: PLANNED_AT
    )
    written = 0
    for entry in data["hotels"]:
        written += await _hotel(store, entry, loader)
    for spec in BLOCKS:
        if await store.stream_version(block_stream(spec["block_id"])):
            continue
        command = CreateBlock.model_validate({"last_night": LAST_NIGHT, **spec})
        written += len((await create_block(store, command, loader)).events)
    for booking_id, block_id, room_type, arrival, departure, board, name, phone in BOOKINGS:
        if await store.stream_version(booking_stream(booking_id)):
            continue
        spec = next(b for b in BLOCKS if b["block_id"] == block_id)
        booking = MakeBooking.model_validate(
            {
                "booking_id": booking_id,
                "hotel_code": spec["hotel_code"],
                "block_id": block_id,
                "room_type": room_type,
                "arrival": _night(arrival),
                "departure": _night(departure),
                "board": board,
                "guest_id": booking_id.replace("demo-bk", "demo-guest"),
                "new_guest": seal_guest(GuestDetails(name=name, phone=phone)),
            }
        )
        written += len((await make_booking(store, booking, loader)).events)
    return written


async def _hotel(store: EventStore, entry: dict[str, Any], loader: CommandContext) -> int:
    code = entry["code"]
    rooms: dict[str, int] = entry["rooms"]["demo"]
    written = 0
    if not await store.stream_version(hotel_stream(code)):
        command = RegisterHotel(
            hotel_code=code,
            name_zh=entry["name"]["zh"],
            name_en=entry["name"]["en"],
            room_types=rooms,
        )
        await register_hotel(store, command, loader)
        written += 1
    for room_type, physical in rooms.items():
        allot = SetAllotment(
            hotel_code=code,
            room_type=room_type,
            first_night=FIRST_NIGHT,
            last_night=LAST_NIGHT,
            rooms=max(1, int(physical * SHARE)),
            rate=RATES.get(room_type, 800),
        )
        written += len((await set_allotment(store, allot, loader)).events)
    return written
