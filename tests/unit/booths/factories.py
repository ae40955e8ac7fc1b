"""The given events of booths' domain tests: the CIFTIS 2021 catalogue and price list, and
factories for booths and admitted exhibitors (`fairline_events.testing.given` takes them)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from booths.domain.events import (
    BoothAdded,
    EditionOpened,
    ExhibitorAdmitted,
    HallAdded,
    PriceListPublished,
    VenueAdded,
    ZoneAdded,
)
from booths.domain.values import (
    BoothSpec,
    BoothType,
    CancellationTier,
    Geometry,
    OpenSides,
    Rate,
    Surcharges,
)
from fairline_events.registry import DomainEvent

EDITION = "ciftis-2021"
T0 = datetime(2021, 6, 1, 9, 0, tzinfo=UTC)
"""Before the early-bird deadline (2021-06-30) and 93 days before the fair opens."""
OPENS_ON = date(2021, 9, 2)
HOLD_TTL = timedelta(hours=72)
CLAIM_WINDOW = timedelta(hours=48)

CATALOGUE: list[DomainEvent] = [
    EditionOpened(
        edition_code=EDITION,
        name_zh="2021年服贸会",
        name_en="CIFTIS 2021",
        opens_on=OPENS_ON,
        closes_on=date(2021, 9, 7),
        max_concurrent_holds=3,
        construction_deadline=date(2021, 8, 15),
    ),
    VenueAdded(
        edition_code=EDITION,
        venue_code="cncc",
        name_zh="国家会议中心",
        name_en="China National Convention Center",
        kind="convention_center",
    ),
    VenueAdded(
        edition_code=EDITION,
        venue_code="shougang",
        name_zh="首钢园",
        name_en="Shougang Park",
        kind="park",
    ),
    HallAdded(
        edition_code=EDITION,
        venue_code="cncc",
        hall_code="E1",
        name_zh="E1馆",
        name_en="Hall E1",
        structure="permanent",
        certification_required=False,
    ),
    HallAdded(
        edition_code=EDITION,
        venue_code="shougang",
        hall_code="SG1",
        name_zh="1号馆",
        name_en="Hall SG1",
        structure="temporary_steel",
        certification_required=True,
    ),
    ZoneAdded(
        edition_code=EDITION,
        zone_code="digital-trust",
        venue_code="cncc",
        name_zh="数字信任",
        name_en="Digital trust",
        kind="digital",
    ),
    ZoneAdded(
        edition_code=EDITION,
        zone_code="finance",
        venue_code="shougang",
        name_zh="金融服务",
        name_en="Finance",
        kind="themed",
    ),
]

PRICES = PriceListPublished(
    edition_code=EDITION,
    version=1,
    note="2021 rate card, board decision 2021-03",
    rates=(
        Rate(booth_type="shell_scheme", fen_per_m2=150_000),
        Rate(booth_type="raw_space", fen_per_m2=120_000),
        Rate(zone_code="digital-trust", booth_type="raw_space", fen_per_m2=130_000),
        Rate(booth_type="outdoor", fen_per_m2=60_000),
    ),
    surcharges=Surcharges(corner=1_000, peninsula=1_500, island=2_000),
    early_bird_deadline=datetime(2021, 6, 30, 16, 0, tzinfo=UTC),
    early_bird_discount_bp=1_000,
    deposit_bp=3_000,
    cancellation=(
        CancellationTier(days_before_opening=90, fee_bp=1_000),
        CancellationTier(days_before_opening=30, fee_bp=3_000),
        CancellationTier(days_before_opening=0, fee_bp=5_000),
    ),
    online_packages={"A": 3_000_000, "B": 1_500_000, "C": 500_000},
)


def spec(
    hall: str = "E1",
    zone: str = "digital-trust",
    booth_type: BoothType = "shell_scheme",
    area: str = "9",
    sides: OpenSides = "row",
) -> BoothSpec:
    venue = "cncc" if hall.startswith("E") else "shougang"
    return BoothSpec(
        venue_code=venue,
        hall_code=hall,
        zone_code=zone,
        booth_type=booth_type,
        area_m2=Decimal(area),
        open_sides=sides,
        geometry=Geometry(x=Decimal(0), y=Decimal(0), width=Decimal(3), depth=Decimal(3)),
    )


def added(code: str, booth_spec: BoothSpec | None = None) -> BoothAdded:
    return BoothAdded(edition_code=EDITION, booth_code=code, spec=booth_spec or spec())


def admitted(exhibitor: str, edition: str = EDITION) -> ExhibitorAdmitted:
    return ExhibitorAdmitted(
        exhibitor_id=exhibitor,
        edition_code=edition,
        applicant=f"{exhibitor}-staff",
        name_zh="华为",
        name_en="Huawei",
        country_or_region="CN",
        participation_mode="both",
    )


OPENED: list[DomainEvent] = [*CATALOGUE, PRICES]
"""The edition open for sales: its catalogue and its first price list."""
