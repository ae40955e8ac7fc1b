"""Value objects of the forum programme (会议论坛活动): validated, immutable, no I/O."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from fairline_events.values import code
from pydantic import AfterValidator, Field, StringConstraints

FAIR_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The fair's local time: a forum's day, the room-day and the speaker-day are local dates."""

Venue = Literal["cncc", "shougang"]
"""The two physical venues: 国家会议中心 (CNCC) and 首钢园 (Shougang Park)."""

Place = Literal["cncc", "shougang", "online"]
"""Where a speaker is during a forum: at a venue, or online from anywhere."""

Format = Literal["in_person", "online", "hybrid"]
"""In a room at a venue, online only, or both (a room and a stream)."""

Access = Literal["public", "registration", "invitation"]
"""Who may take a seat: anyone, anyone who registers, only invitees (闭门会议)."""

OrganiserKind = Literal["government", "institution", "association", "company"]

TRAVEL: dict[tuple[Place, Place], timedelta] = {
    ("cncc", "shougang"): timedelta(minutes=60),
    ("shougang", "cncc"): timedelta(minutes=60),
}
"""Time a speaker needs between two places: the shuttle (摆渡车) from CNCC in the north to
Shougang Park in the west takes about an hour door to door. Online needs no travel."""


def travel(a: Place, b: Place) -> timedelta:
    return TRAVEL.get((a, b), timedelta(0))


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL bytes are not allowed in text")
    return value


PRINTABLE = r"^[^\x00-\x1f]*$"
"""What a path or query parameter may hold: no NUL or control characters (PostgreSQL text
refuses NUL; a 422 is the answer, never a 500)."""

Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Text = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_no_nul)]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    AfterValidator(_no_nul),
]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(_no_nul),
]

EditionCode = Annotated[str, code("edition", "ciftis-2021")]
RoomCode = Annotated[str, code("room", "cncc-room-301")]
KindCode = Annotated[str, code("kind", "summit")]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Language = Annotated[str, code("language", "zh")]
Equipment = Annotated[str, code("equipment", "simultaneous-interpretation")]
_ROLE = re.compile(r"^[a-z][a-z_]{0,39}$")


def _role(value: str) -> str:
    if not _ROLE.match(value):
        raise ValueError("expected a role such as forums_team")
    return value


Role = Annotated[str, AfterValidator(_role)]

Seats = Annotated[int, Field(ge=1, le=100_000)]
Minutes = Annotated[int, Field(ge=0, le=24 * 60)]
Duration = Annotated[int, Field(ge=5, le=12 * 60)]

MAX_FORUM = timedelta(hours=12)


def both_venues() -> list[Venue]:
    return ["cncc", "shougang"]


def every_format() -> list[Format]:
    return ["in_person", "online", "hybrid"]


def fair_day(moment: datetime) -> date:
    """The fair's calendar date at `moment`."""
    return moment.astimezone(FAIR_TIME).date()


def overlaps(
    a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime, gap: timedelta
) -> bool:
    """Two spans closer than `gap` (a set-up buffer, a journey) cannot both happen."""
    return a_start < b_end + gap and b_start < a_end + gap
