"""The demo edition (deploy/demo/edition-2021.yaml): venues, halls, zones, prices, booths.

Idempotent: every step first looks at what exists and only adds what is missing, so
`make run` may load it on every start. Exhibitors are not created here: they arrive from
the exhibitors service's approvals once the service runs.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from fairline_events.context import CommandContext
from fairline_events.service import Runtime
from fairline_events.store import EventStore
from fairline_events.values import slug

from .domain.booth import booth_stream
from .domain.catalogue import CATALOGUE, Catalogue, edition_stream
from .domain.commands import (
    AddBooth,
    AddHall,
    AddVenue,
    AddZone,
    CertifyHall,
    DefineOnlinePackage,
    OpenEdition,
    PublishPriceList,
)
from .domain.pricing import prices_stream
from .domain.values import (
    BoothSpec,
    BoothType,
    CancellationTier,
    Geometry,
    OpenSides,
    Rate,
    Surcharges,
)
from .handlers import add_booth, change_catalogue, publish_price_list

DIGITAL_THEMES = ["governance", "experience", "transformation", "trust"]


def demo_file() -> Path:
    configured = os.environ.get("FAIRLINE_DEMO_FILE")
    if configured:
        return Path(configured)
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "demo" / "edition-2021.yaml"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("deploy/demo/edition-2021.yaml not found; set FAIRLINE_DEMO_FILE")


def catalogue_commands(data: dict[str, Any]) -> list[Any]:
    """Everything the catalogue needs, in order, from the demo file."""
    edition = data["edition"]
    code = edition["code"]
    commands: list[Any] = [
        OpenEdition(
            edition_code=code,
            name_zh=edition["name"]["zh"],
            name_en=edition["name"]["en"],
            opens_on=edition["dates"]["opens"],
            closes_on=edition["dates"]["closes"],
            construction_deadline=date(2021, 8, 15),
        )
    ]
    kinds = {"cncc": "convention_center", "shougang": "park"}
    for venue in data["venues"]:
        v = venue["code"]
        commands.append(
            AddVenue(
                edition_code=code,
                venue_code=v,
                name_zh=venue["name"]["zh"],
                name_en=venue["name"]["en"],
                kind=kinds.get(v, "park"),
            )
        )
        for hall in venue["halls"]["demo"]:
            structure = (
                "permanent"
                if v == "cncc"
                else ("tensile_membrane" if hall.startswith("M") else "temporary_steel")
            )
            commands.append(
                AddHall(
                    edition_code=code,
                    venue_code=v,
                    hall_code=hall,
                    name_zh=f"{hall}馆",
                    name_en=f"Hall {hall}",
                    structure=structure,
                )
            )
        for exhibition in venue.get("exhibitions", []):
            zone = slug(exhibition["en"])
            commands.append(
                AddZone(
                    edition_code=code,
                    zone_code=zone[:32].strip("-"),
                    venue_code=v,
                    name_zh=exhibition["zh"],
                    name_en=exhibition["en"],
                    kind="digital" if "Digital" in exhibition["en"] else "exhibition",
                )
            )
        for name in venue.get("themed_exhibitions", {}).get("demo_names", []):
            commands.append(
                AddZone(
                    edition_code=code,
                    zone_code=slug(name)[:32].strip("-"),
                    venue_code=v,
                    name_zh=name,
                    name_en=name.title(),
                    kind="themed",
                )
            )
        for special in venue.get("special", []):
            commands.append(
                AddZone(
                    edition_code=code,
                    zone_code=special["code"],
                    venue_code=v,
                    name_zh=special["name"]["zh"],
                    name_en=special["name"]["en"],
                    kind="festival",
                )
            )
            for zone in special["zones"]:
                commands.append(
                    AddZone(
                        edition_code=code,
                        zone_code=f"{special['code']}-{slug(zone['en'])}"[:32].strip("-"),
                        venue_code=v,
                        name_zh=zone["zh"],
                        name_en=zone["en"],
                        kind="festival",
                        parent_code=special["code"],
                    )
                )
    for theme in data["digital_services_zone_themes"]:
        commands.append(
            AddZone(
                edition_code=code,
                zone_code=f"digital-{theme['code']}",
                venue_code="cncc",
                name_zh=theme["zh"],
                name_en=theme["en"],
                kind="digital",
                parent_code="digital-services-zone",
            )
        )
    commands += [
        AddVenue(
            edition_code=code,
            venue_code="online",
            name_zh=data["edition"]["online"]["name"]["zh"],
            name_en=data["edition"]["online"]["name"]["en"],
            kind="online",
        ),
        *(
            DefineOnlinePackage(
                edition_code=code,
                tier=tier,
                name_zh=f"线上展台{tier}类",
                name_en=f"Online booth, tier {tier}",
                features=features,
            )
            for tier, features in [
                ("A", ("booth page", "image gallery", "documents", "activities", "posters")),
                ("B", ("booth page", "image gallery", "documents")),
                ("C", ("booth page",)),
            ]
        ),
        *(
            CertifyHall(edition_code=code, hall_code=hall, certificate_no=f"BJ-2021-{hall}")
            for hall in ["SG1", "SG2", "SG3", "SG4", "M1"]
        ),
    ]
    return commands


def price_list(edition_code: str) -> PublishPriceList:
    return PublishPriceList(
        edition_code=edition_code,
        note="demo rate card (invented figures), organising committee, 2021-03",
        rates=(
            Rate(booth_type="shell_scheme", fen_per_m2=150_000),
            Rate(booth_type="raw_space", fen_per_m2=120_000),
            Rate(
                zone_code="china-services-trade-achievement",
                booth_type="raw_space",
                fen_per_m2=140_000,
            ),
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


def demo_booths(edition_code: str) -> list[AddBooth]:
    """A believable floor: the Digital Services Zone in E1, provinces in W1, two themed
    halls at the park, and the time-honoured brands festival outdoors in M1."""
    layout: list[tuple[str, str, str, BoothType, int, str]] = [
        *(
            ("cncc", "E1", f"digital-{theme}", "shell_scheme", 4, f"E1-{i + 1}")
            for i, theme in enumerate(DIGITAL_THEMES)
        ),
        ("cncc", "E2", "china-services-trade-achievement", "raw_space", 4, "E2-"),
        ("cncc", "W1", "provinces-and-regions", "shell_scheme", 6, "W1-"),
        ("shougang", "SG1", "telecom-and-computing-services", "raw_space", 4, "SG1-"),
        ("shougang", "SG2", "finance", "shell_scheme", 6, "SG2-"),
        ("shougang", "SG5", "culture-and-tourism", "shell_scheme", 4, "SG5-"),
        ("shougang", "M1", "laozihao-showcase", "outdoor", 4, "M1-"),
    ]
    sides: list[OpenSides] = ["corner", "row", "row", "peninsula", "row", "island"]
    commands = []
    for venue, hall, zone, booth_type, count, prefix in layout:
        area = {"shell_scheme": 9, "raw_space": 54, "outdoor": 18}[booth_type]
        width = Decimal(3 if area == 9 else (9 if area == 54 else 6))
        depth = Decimal(area) / width
        for n in range(count):
            code = f"{prefix}{n + 1:02d}"
            commands.append(
                AddBooth(
                    edition_code=edition_code,
                    booth_code=code,
                    spec=BoothSpec(
                        venue_code=venue,
                        hall_code=hall,
                        zone_code=zone,
                        booth_type=booth_type,
                        area_m2=Decimal(area),
                        open_sides=sides[n % len(sides)],
                        geometry=Geometry(
                            x=Decimal(n) * (width + 1),
                            y=Decimal(0),
                            width=width,
                            depth=depth,
                        ),
                    ),
                )
            )
    return commands


def _present(state: Catalogue, command: Any) -> bool:
    match command:
        case OpenEdition():
            return state.opened
        case AddVenue():
            return command.venue_code in state.venues
        case AddHall():
            return command.hall_code in state.halls
        case AddZone():
            return command.zone_code in state.zones
        case DefineOnlinePackage():
            return command.tier in state.packages
        case CertifyHall():
            return state.halls[command.hall_code].certificate_no is not None
    return False


async def load_demo(runtime: Runtime) -> int:
    assert runtime.store is not None
    store: EventStore = runtime.store
    data: dict[str, Any] = yaml.safe_load(demo_file().read_text(encoding="utf-8"))
    edition = data["edition"]["code"]
    loader = CommandContext.system("demo-loader", reason="demo edition")
    written = 0
    stream = edition_stream(edition)
    for command in catalogue_commands(data):
        state, _ = await store.load(stream, CATALOGUE.evolve, CATALOGUE.initial(stream))
        if not _present(state, command):
            written += len((await change_catalogue(store, command, loader)).envelopes)
    if not await store.stream_version(prices_stream(edition)):
        written += len((await publish_price_list(store, price_list(edition), loader)).envelopes)
    for add in demo_booths(edition):
        if not await store.stream_version(booth_stream(edition, add.booth_code)):
            written += len((await add_booth(store, add, loader)).envelopes)
    return written
