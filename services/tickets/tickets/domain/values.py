"""Value objects of the ticket shop and its gates: validated, immutable, no I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from fairline_events.values import code
from pydantic import AfterValidator, Field, StringConstraints

FAIR_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The fair's local time (UTC+8 all year): a day pass is for a local calendar day."""

PassKind = Literal["day", "multi_day"]
"""A day pass admits on the one day chosen when ordering (any of the product's days); a
multi-day pass admits on every day of the product."""

Venue = Literal["cncc", "shougang"]
"""国家会议中心 (CNCC, main venue, press centre) and 首钢园 (Shougang Park)."""
VENUES: tuple[Venue, ...] = ("cncc", "shougang")

VisitorClass = Literal["trade", "public", "media", "guest", "staff"]
"""专业观众 (trade, approved by the organiser), 公众 (public), 媒体记者 (media, accredited by
the press centre), 嘉宾 (guest/VIP, invited), 工作人员 (staff, accredited by the organiser)."""
CLASSES: tuple[VisitorClass, ...] = ("trade", "public", "media", "guest", "staff")

SELF_REGISTERED: frozenset[VisitorClass] = frozenset({"trade", "public", "media"})
"""Classes anyone may register for; guests and staff are registered by the organiser."""
NEEDS_REVIEW: frozenset[VisitorClass] = frozenset({"trade", "media"})
"""Classes whose registration waits for a review: trade by the organiser, media by the press
centre. Public visitors are admitted to the shop at once; guests and staff were invited."""

DocumentType = Literal["resident_id", "passport", "hk_macao_permit", "taiwan_permit", "other"]
"""居民身份证, 护照, 港澳居民来往内地通行证, 台湾居民来往大陆通行证, other."""

Fen = Annotated[int, Field(ge=0, le=100_000_000, description="an amount in fen (CNY/100)")]
"""Prices and amounts are integers in fen, bounded far below what a bigint column holds."""

MAX_POSITIONS = 10
"""Tickets in one order: a family or a small delegation, never a reseller's stock."""

HOLD_MINUTES = 15
"""How long an unpaid order holds its quota (pretix's default reservation period)."""

_NUL = "\x00"


def _no_nul(value: str) -> str:
    if _NUL in value:
        raise ValueError("NUL bytes are not allowed")
    return value


EditionCode = Annotated[str, code("edition", "ciftis-2021")]
ProductCode = Annotated[str, code("product", "cncc-day")]
EntranceCode = Annotated[str, code("entrance", "east-1")]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[\w.:-]+$"),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]


def fair_day(moment: datetime) -> date:
    """The fair's calendar day at `moment`."""
    return moment.astimezone(FAIR_TIME).date()


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
