"""The edition's inventory: venues, halls, zones, online packages, booths, CSV import."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fairline_events.decider import handle
from fairline_events.errors import DomainError, NotFound
from fairline_events.store import StreamAppend
from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from ..domain import booth as booth_rules
from ..domain import catalogue, floor_import, streams
from ..domain.catalogue import Catalogue
from ..domain.commands import (
    AddBooth,
    AddHall,
    AddVenue,
    AddZone,
    CertifyHall,
    ChangeSalesTerms,
    DefineOnlinePackage,
    OpenEdition,
)
from ..domain.events import BoothAdded
from ..domain.values import (
    BoothSpec,
    Code,
    EditionCode,
    HallStructure,
    Name,
    Seconds,
    VenueKind,
    ZoneKind,
)
from ..handling import BOOTH, booths, catalogues, load
from ..handling import CATALOGUE as BOOTH_CATALOGUE
from .common import (
    Anyone,
    BoothView,
    Correlation,
    Ops,
    Sales,
    Store,
    booth_view,
    context,
)
from .common import Body as Input

router = APIRouter(tags=["inventory"])


class Terms(Input):
    hold_ttl_seconds: Seconds = 72 * 3600
    max_concurrent_holds: Annotated[int, Field(ge=1, le=1000)] = 3
    claim_window_seconds: Seconds = 48 * 3600
    construction_deadline: date | None = None


class Edition(Terms):
    edition_code: EditionCode
    name_zh: Name
    name_en: Name
    opens_on: date
    closes_on: date


class Venue(Input):
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: VenueKind


class Hall(Input):
    venue_code: Code
    hall_code: Code
    name_zh: Name
    name_en: Name
    structure: HallStructure


class Certificate(Input):
    certificate_no: Name


class Zone(Input):
    zone_code: Code
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: ZoneKind
    parent_code: Code | None = None


class Package(Input):
    tier: Code
    name_zh: Name
    name_en: Name
    features: list[Name] = Field(default_factory=list)


class NewBooth(Input):
    booth_code: Code
    spec: BoothSpec


class CatalogueView(BaseModel):
    edition_code: str
    name_zh: str
    name_en: str
    opens_on: date
    closes_on: date
    hold_ttl_seconds: int
    max_concurrent_holds: int
    claim_window_seconds: int
    construction_deadline: date | None
    venues: list[dict[str, Any]]
    halls: list[dict[str, Any]]
    zones: list[dict[str, Any]]
    online_packages: list[dict[str, Any]]


class Imported(BaseModel):
    hall_code: str
    imported: int
    booth_codes: list[str]


def catalogue_view(cat: Catalogue) -> CatalogueView:
    return CatalogueView(
        edition_code=cat.edition_code,
        name_zh=cat.name_zh,
        name_en=cat.name_en,
        opens_on=cat.opens_on,
        closes_on=cat.closes_on,
        hold_ttl_seconds=int(cat.terms.hold_ttl.total_seconds()),
        max_concurrent_holds=cat.terms.max_concurrent_holds,
        claim_window_seconds=int(cat.terms.claim_window.total_seconds()),
        construction_deadline=cat.terms.construction_deadline,
        venues=[vars(v) for v in cat.venues.values()],
        halls=[{**vars(h), "sellable": h.sellable} for h in cat.halls.values()],
        zones=[vars(z) for z in cat.zones.values()],
        online_packages=[
            {"tier": p.tier, "name_zh": p.name_zh, "name_en": p.name_en, "features": p.features}
            for p in cat.packages.values()
        ],
    )


async def _catalogue(
    store: Store, command: Any, who: Any, correlation: str | None
) -> CatalogueView:
    stream = streams.edition_stream(command.edition_code)
    state, _ = await handle(store, catalogues, stream, command, context(who, correlation))
    return catalogue_view(state)


@router.post("/editions", status_code=201, summary="open booth sales for an edition")
async def open_edition(
    body: Edition, who: Sales, store: Store, response: Response, correlation: Correlation = None
) -> CatalogueView:
    view = await _catalogue(store, OpenEdition(**body.model_dump()), who, correlation)
    response.headers["Location"] = f"/editions/{body.edition_code}"
    return view


@router.get("/editions/{edition_code}", summary="the edition's venues, halls, zones and terms")
async def get_edition(edition_code: EditionCode, who: Anyone, store: Store) -> CatalogueView:
    cat: Catalogue = await load(store, BOOTH_CATALOGUE, streams.edition_stream(edition_code))
    catalogue.require_open(cat)
    return catalogue_view(cat)


@router.put("/editions/{edition_code}/terms", summary="hold time, hold cap, claim window…")
async def change_terms(
    edition_code: EditionCode,
    body: Terms,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> CatalogueView:
    command = ChangeSalesTerms(edition_code=edition_code, **body.model_dump())
    return await _catalogue(store, command, who, correlation)


@router.post("/editions/{edition_code}/venues", status_code=201, summary="add a venue")
async def add_venue(
    edition_code: EditionCode,
    body: Venue,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> CatalogueView:
    command = AddVenue(edition_code=edition_code, **body.model_dump())
    return await _catalogue(store, command, who, correlation)


@router.post(
    "/editions/{edition_code}/halls",
    status_code=201,
    summary="add a hall; the park's temporary halls sell only once certified",
)
async def add_hall(
    edition_code: EditionCode, body: Hall, who: Sales, store: Store, correlation: Correlation = None
) -> CatalogueView:
    command = AddHall(edition_code=edition_code, **body.model_dump())
    return await _catalogue(store, command, who, correlation)


@router.post(
    "/editions/{edition_code}/halls/{hall_code}/certify",
    summary="record a temporary hall's safety certificate (ops)",
)
async def certify_hall(
    edition_code: EditionCode,
    hall_code: Code,
    body: Certificate,
    who: Ops,
    store: Store,
    correlation: Correlation = None,
) -> CatalogueView:
    command = CertifyHall(edition_code=edition_code, hall_code=hall_code, **body.model_dump())
    return await _catalogue(store, command, who, correlation)


@router.post("/editions/{edition_code}/zones", status_code=201, summary="add a zone")
async def add_zone(
    edition_code: EditionCode, body: Zone, who: Sales, store: Store, correlation: Correlation = None
) -> CatalogueView:
    command = AddZone(edition_code=edition_code, **body.model_dump())
    return await _catalogue(store, command, who, correlation)


@router.post(
    "/editions/{edition_code}/online-packages",
    status_code=201,
    summary="define an online booth package (tier)",
)
async def add_package(
    edition_code: EditionCode,
    body: Package,
    who: Sales,
    store: Store,
    correlation: Correlation = None,
) -> CatalogueView:
    command = DefineOnlinePackage(
        edition_code=edition_code,
        tier=body.tier,
        name_zh=body.name_zh,
        name_en=body.name_en,
        features=tuple(body.features),
    )
    return await _catalogue(store, command, who, correlation)


async def _check_location(store: Store, edition_code: str, spec: BoothSpec) -> Catalogue:
    cat: Catalogue = await load(store, BOOTH_CATALOGUE, streams.edition_stream(edition_code))
    catalogue.require_open(cat)
    hall = cat.hall(spec.hall_code)
    zone = cat.zone(spec.zone_code)
    if spec.venue_code != hall.venue_code or zone.venue_code != hall.venue_code:
        raise DomainError(
            f"hall {hall.code} and zone {zone.code} are not both at venue {spec.venue_code}",
            code="wrong_venue",
        )
    return cat


@router.post("/editions/{edition_code}/booths", status_code=201, summary="add one booth")
async def add_booth(
    edition_code: EditionCode,
    body: NewBooth,
    who: Sales,
    store: Store,
    response: Response,
    correlation: Correlation = None,
) -> BoothView:
    await _check_location(store, edition_code, body.spec)
    command = AddBooth(edition_code=edition_code, booth_code=body.booth_code, spec=body.spec)
    stream = streams.booth_stream(edition_code, body.booth_code)
    state, _ = await handle(store, booths, stream, command, context(who, correlation))
    response.headers["Location"] = f"/editions/{edition_code}/booths/{body.booth_code}"
    return booth_view(state)


CSV_EXAMPLE = (
    "code,zone,type,area_m2,open_sides,x,y,width,depth\n"
    "E1-101,digital-trust,shell_scheme,9,row,0,0,3,3\n"
)


@router.post(
    "/editions/{edition_code}/halls/{hall_code}/booths/import",
    status_code=201,
    summary="import a hall's booths from CSV: all rows, or none and every problem",
    description=(
        "Body: text/csv with columns code, zone, type, area_m2 and optionally open_sides, "
        "x, y, width, depth. A file with any bad row imports nothing and answers 422 "
        "`csv_invalid` with one problem per bad row."
    ),
)
async def import_booths(
    edition_code: EditionCode,
    hall_code: Code,
    who: Sales,
    store: Store,
    csv_text: Annotated[str, Body(media_type="text/csv", examples=[CSV_EXAMPLE])],
    correlation: Correlation = None,
) -> Imported:
    cat: Catalogue = await load(store, BOOTH_CATALOGUE, streams.edition_stream(edition_code))
    catalogue.require_open(cat)
    hall = cat.hall(hall_code)
    taken = await store.pool.fetch(
        "SELECT stream_id FROM streams WHERE starts_with(stream_id, $1)",
        streams.booth_stream(edition_code, ""),
    )
    existing = {streams.parts(r["stream_id"], "booth-")[1] for r in taken}
    rows, problems = floor_import.parse(csv_text, hall, cat, existing)
    if problems:
        raise DomainError(
            f"{len(problems)} problem(s) in the file; nothing was imported",
            code="csv_invalid",
            problems=[vars(p) for p in problems],
        )
    appends = [
        StreamAppend(
            streams.booth_stream(edition_code, row.code),
            [BoothAdded(edition_code=edition_code, booth_code=row.code, spec=row.spec)],
            0,
        )
        for row in rows
    ]
    ctx = context(who, correlation, reason=f"CSV import into hall {hall_code}")
    await store.append_streams(appends, ctx.for_command("ImportBooths"))
    return Imported(hall_code=hall_code, imported=len(rows), booth_codes=[r.code for r in rows])


@router.get("/editions/{edition_code}/booths/{booth_code}", summary="a booth's current state")
async def get_booth(
    edition_code: EditionCode, booth_code: Code, who: Anyone, store: Store
) -> BoothView:
    state: booth_rules.Booth = await load(
        store, BOOTH, streams.booth_stream(edition_code, booth_code)
    )
    if state.spec is None:
        raise NotFound(f"booth {booth_code} not found", code="booth_not_found")
    return booth_view(state)
