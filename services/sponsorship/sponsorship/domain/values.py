"""Value objects of the sponsorship desk (品牌赞助、广告招商): validated, immutable, no I/O."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fairline_events.values import code
from pydantic import AfterValidator, Field, StringConstraints

Channel = Literal["website", "mini-program", "on-site"]
"""Where an ad runs: the fair's website, its WeChat mini-program, the screens at the venues."""

Exclusivity = Literal["tier", "edition"]
"""A tier's category exclusivity: one sponsor per industry category in the tier, or in the
whole edition (no other tier may sell the category either)."""

PlacementKind = Literal["exclusive", "shared"]
"""An exclusive placement runs one sponsor a day; a shared one rotates up to its share count."""

BenefitKind = Literal[
    "logo", "launch_slot", "booth_discount", "hotel_rooms", "speaking_slot", "tickets"
]

DELIVERED_BY: dict[str, str] = {
    "hotel_rooms": "hotels",
    "launch_slot": "forums",
    "booth_discount": "booths",
}
"""Benefits another service owns: delivered only when that service's event confirms them."""

Verdict = Literal["approve", "return"]

PRINTABLE = r"^[^\x00-\x1f]*$"
"""What a path or query parameter may hold: no NUL or control characters."""

MAX_FEN = 10**13
"""A hundred billion yuan: past anything the desk sells, and inside a bigint."""

MAX_DAYS = 120
"""The longest run one booking may cover: an edition's year-round website season."""


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL bytes are not allowed in text")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=1000),
    AfterValidator(_no_nul),
]
Identifier = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64, pattern=PRINTABLE),
    AfterValidator(_no_nul),
]
Url = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=2000, pattern=r"^https://\S+$"
    ),
]


EditionCode = Annotated[str, code("edition", "ciftis-2021")]
TierCode = Annotated[str, code("tier", "strategic-partner")]
PlacementCode = Annotated[str, code("placement", "home-banner")]
Category = Annotated[str, code("industry category", "banking")]

Fen = Annotated[int, Field(ge=0, le=MAX_FEN)]
"""Money in fen (分), never floats."""
Quantity = Annotated[int, Field(ge=1, le=10_000)]
Shares = Annotated[int, Field(ge=1, le=50)]
Percent = Annotated[int, Field(ge=0, le=100)]
HoldMinutes = Annotated[int, Field(ge=1, le=14 * 24 * 60)]
OfferDays = Annotated[int, Field(ge=1, le=90)]


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]
