"""Value objects of booth sales (展位销售): validated, immutable, no I/O.

Money is always integer fen (CNY minor units); rates are fen per m²; percentages are basis
points (1 bp = 0.01 %), so every price is computed in integers and rounded once, half up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Literal

from fairline_events.names import Readable
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

BoothType = Literal["shell_scheme", "raw_space", "outdoor"]
"""Physical booths: shell-scheme standard (标准展位), raw space (光地), outdoor (室外)."""
BOOTH_TYPES: tuple[BoothType, ...] = ("shell_scheme", "raw_space", "outdoor")

OpenSides = Literal["row", "corner", "peninsula", "island"]
"""Open sides: a row booth has one, a corner two, a peninsula three, an island four."""
OPEN_SIDES: tuple[OpenSides, ...] = ("row", "corner", "peninsula", "island")

VenueKind = Literal["convention_center", "park", "online"]
HallStructure = Literal["permanent", "temporary_steel", "tensile_membrane", "online"]
ZoneKind = Literal["exhibition", "themed", "digital", "festival", "online"]

Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Readable
]
"""A name shown to people: never empty on screen, never reordering the text around it."""
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Identifier = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
"""An opaque id: an exhibitor (application) id, a contract id, a staff id."""

_EDITION = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")


def _edition_code(value: str) -> str:
    value = value.strip().lower()
    if len(value) > 32 or not _EDITION.match(value):
        raise ValueError("expected an edition code such as ciftis-2021")
    return value


def _code(value: str) -> str:
    value = value.strip()
    if not _CODE.match(value):
        raise ValueError("expected a code of letters, digits, '.', '_' or '-' (at most 32)")
    return value


EditionCode = Annotated[str, AfterValidator(_edition_code)]
Code = Annotated[str, AfterValidator(_code)]
"""A venue, hall, zone, booth or package code, e.g. `E1`, `E1-101`, `digital-trust`."""

Fen = Annotated[int, Field(ge=0, le=10**13)]
"""An amount of money in fen (分), the CNY minor unit."""
PositiveFen = Annotated[int, Field(gt=0, le=10**13)]
BasisPoints = Annotated[int, Field(ge=0, le=10_000)]
Area = Annotated[Decimal, Field(gt=0, le=100_000, max_digits=9, decimal_places=2)]
"""Square metres, to the hundredth."""
Metres = Annotated[Decimal, Field(ge=0, le=10_000, max_digits=9, decimal_places=2)]
Seconds = Annotated[int, Field(gt=0, le=365 * 24 * 3600)]


@dataclass(frozen=True)
class EditionStreams:
    """How the streams of one kind per edition are named: `booth-ciftis-2021:E1-101` is
    `EditionStreams("booth")("ciftis-2021", "E1-101")`, and `parts` reads the two back."""

    kind: str

    def __call__(self, edition_code: str, code: str) -> str:
        return f"{self.kind}-{edition_code}:{code}"

    def parts(self, stream_id: str) -> tuple[str, str]:
        edition, _, code = stream_id.removeprefix(f"{self.kind}-").partition(":")
        return edition, code


def round_fen(amount: Decimal) -> int:
    """Round a fen amount to a whole fen, half up (the way an invoice rounds)."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def share(amount: int, bp: int) -> int:
    """`bp` basis points of `amount` fen, rounded half up."""
    return round_fen(Decimal(amount) * bp / 10_000)


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Geometry(Value):
    """A booth's rectangle on the hall's floor plan, in metres from the hall's origin."""

    x: Metres
    y: Metres
    width: Annotated[Decimal, Field(gt=0, le=1000, max_digits=7, decimal_places=2)]
    depth: Annotated[Decimal, Field(gt=0, le=1000, max_digits=7, decimal_places=2)]

    def overlaps(self, other: Geometry) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.depth
            and other.y < self.y + self.depth
        )


class BoothSpec(Value):
    """What a booth is: where it stands, its type, size, open sides and shape."""

    venue_code: Code
    hall_code: Code
    zone_code: Code
    booth_type: BoothType
    area_m2: Area
    open_sides: OpenSides = "row"
    geometry: Geometry | None = None


class Rate(Value):
    """A rate per m² for a booth type, in one zone or (zone_code None) in every zone."""

    zone_code: Code | None = None
    booth_type: BoothType
    fen_per_m2: PositiveFen


class Surcharges(Value):
    """Open-side surcharges on the base price, in basis points."""

    corner: BasisPoints = 0
    peninsula: BasisPoints = 0
    island: BasisPoints = 0

    def of(self, sides: OpenSides) -> int:
        return 0 if sides == "row" else int(getattr(self, sides))


class CancellationTier(Value):
    """Cancelled at least `days_before_opening` days before the fair opens: `fee_bp` of price."""

    days_before_opening: Annotated[int, Field(ge=0, le=3650)]
    fee_bp: BasisPoints


class Quote(Value):
    """A priced booth: every line of the computation and the rule version that priced it."""

    rule_version: Annotated[int, Field(ge=1)]
    booth_type: BoothType
    zone_code: Code
    area_m2: Area
    rate_fen_per_m2: PositiveFen
    base_fen: Fen
    open_sides: OpenSides
    surcharge_bp: BasisPoints
    surcharge_fen: Fen
    early_bird: bool
    early_bird_discount_bp: BasisPoints
    discount_fen: Fen
    total_fen: PositiveFen
    deposit_fen: Fen
    quoted_on: date
    """The day the price was fixed (decides the early-bird discount)."""


class PriceAdjustment(Value):
    """A discount granted on a contract after it was priced: a share of the quoted price,
    so it follows the contract when it moves and is re-priced (a sponsor's booth discount)."""

    granted_for: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    """What it is for, e.g. `sponsorship:<package>:<benefit>` (once per contract)."""
    discount_bp: Annotated[int, Field(ge=1, le=10_000)]
    reason: Text


class ContractTerms(Value):
    """What a contract fixes at reservation: price, deposit, and the cancellation fees; and
    the discounts granted on it since."""

    contract_id: Identifier
    exhibitor_id: Identifier
    quote: Quote
    opens_on: date
    cancellation: tuple[CancellationTier, ...]
    adjustments: tuple[PriceAdjustment, ...] = ()

    @property
    def discount_bp(self) -> int:
        return min(10_000, sum(a.discount_bp for a in self.adjustments))

    @property
    def price_fen(self) -> int:
        """The quoted total less the discounts granted (rounded once, half up)."""
        return self.quote.total_fen - share(self.quote.total_fen, self.discount_bp)

    @property
    def deposit_fen(self) -> int:
        return min(self.quote.deposit_fen, self.price_fen)

    def granted(self, granted_for: str) -> bool:
        return any(a.granted_for == granted_for for a in self.adjustments)

    def fee_bp(self, on: date) -> int:
        """The fee rate for a cancellation on `on`: the tier for that many days before opening.

        Closer to opening than every tier (or after it opened), the whole price is due.
        """
        days = (self.opens_on - on).days
        for tier in sorted(self.cancellation, key=lambda t: -t.days_before_opening):
            if days >= tier.days_before_opening:
                return tier.fee_bp
        return 10_000


class Contractor(Value):
    name: Name
    licence_no: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] = ""
    contact: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class Drawing(Value):
    title: Name
    url: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Material(Value):
    name: Name
    low_carbon: bool = False
    reusable: bool = False
