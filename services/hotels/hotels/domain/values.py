"""Value objects of the group's hotels (北辰旗下酒店): validated, immutable, no I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from fairline_events.names import Readable
from fairline_events.values import code
from pydantic import Field, StringConstraints

HOTEL_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The hotels' local time (China keeps UTC+8 all year): nights and arrivals are local dates."""

MAX_STAY_NIGHTS = 31
MAX_RANGE_NIGHTS = 62

GroupKind = Literal["staff", "delegation", "media", "exhibitor", "sponsor"]
"""Who a block houses: 工作人员, 代表团, 媒体记者, exhibitors, sponsors."""

Board = Literal["room_only", "breakfast", "full_board"]
"""What the hotel serves with the room: room only, breakfast, full board."""

RequestCode = Literal[
    "non_smoking",
    "twin_beds",
    "king_bed",
    "high_floor",
    "quiet_room",
    "accessible_room",
    "extra_bed",
    "early_check_in",
    "late_arrival",
    "airport_transfer",
]
"""Requests as codes a hotel system understands; free text could carry personal data."""

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Readable
]
"""A name shown to people: never empty on screen, never reordering the text around it."""
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]

HotelCode = Annotated[str, code("hotel", "cncc-grand", longest=32)]
RoomType = Annotated[str, code("room type", "standard", longest=32)]


def local_date(moment: datetime) -> date:
    """The hotels' calendar date at `moment`."""
    return moment.astimezone(HOTEL_TIME).date()


def nights(first: date, last: date) -> list[date]:
    """Every night from `first` to `last`, both included."""
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def stay_nights(arrival: date, departure: date) -> list[date]:
    """The nights of a stay: arrival included, departure not."""
    return nights(arrival, departure - timedelta(days=1))


MOST_ROOMS = 100_000
"""More rooms of one type than any hotel has: a larger count is a typo, refused with a 422."""
HIGHEST_RATE = 1_000_000
"""CNY per room and night. Bounded so that a stay's total fits the read models' integer
columns (a rate past them once halted the occupancy projection: issue 11, finding 4)."""

Rooms = Annotated[int, Field(ge=0, le=MOST_ROOMS)]
SomeRooms = Annotated[int, Field(ge=1, le=MOST_ROOMS)]
Rate = Annotated[int, Field(ge=0, le=HIGHEST_RATE)]
