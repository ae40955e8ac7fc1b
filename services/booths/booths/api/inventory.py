"""The edition's inventory: venues, halls, zones, online packages, booths, CSV import."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fairline_events.context import CommandContext
from fairline_events.dependencies import Body, Store
from fairline_events.errors import DomainError, NotFound
from fairline_events.store import StreamAppend
from fastapi import APIRouter, Response
from fastapi import Body as Payload
from pydantic import BaseModel, Field

from ..domain import catalogue, floor_import
from ..domain.account import ACCOUNT, account_stream
from ..domain.booth import BOOTH, Booth, booth_stream
from ..domain.catalogue import CATALOGUE, Catalogue, edition_stream
from ..domain.commands import (
    AddBooth,
    AddHall,
    AddVenue,
    AddZone,
    CatalogueCommand,
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
from ..handlers import add_booth as add_booth_handler
from ..handlers import change_catalogue
from .common import (
    Anyone,
    AsOps,
    AsSales,
    BoothView,
    acting_as,
    booth_view,
    current,
    public_booth_view,
)

router = APIRouter(tags=["inventory"])


class Terms(Body):
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


class Venue(Body):
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: VenueKind


class Hall(Body):
    venue_code: Code
    hall_code: Code
    name_zh: Name
    name_en: Name
    structure: HallStructure


class Certificate(Body):
    certificate_no: Name


class Zone(Body):
    zone_code: Code
    venue_code: Code
    name_zh: Name
    name_en: Name
    kind: ZoneKind
    parent_code: Code | None = None


class Package(Body):
    tier: Code
    name_zh: Name
    name_en: Name
    features: list[Name] = Field(default_factory=list)


class NewBooth(Body):
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
    store: Store, command: CatalogueCommand, context: CommandContext
) -> CatalogueView:
    outcome = await change_catalogue(store, command, context)
    return catalogue_view(outcome.state(edition_stream(command.edition_code), Catalogue))


@router.post("/editions", status_code=201, summary="open booth sales for an edition")
async def open_edition(body: Edition, acting: AsSales, response: Response) -> CatalogueView:
    view = await _catalogue(acting.store, OpenEdition(**body.model_dump()), acting.context)
    response.headers["Location"] = f"/editions/{body.edition_code}"
    return view


@router.get("/editions/{edition_code}", summary="the edition's venues, halls, zones and terms")
async def get_edition(edition_code: EditionCode, who: Anyone, store: Store) -> CatalogueView:
    cat = await current(store, CATALOGUE, edition_stream(edition_code))
    catalogue.require_open(cat)
    return catalogue_view(cat)


@router.put("/editions/{edition_code}/terms", summary="hold time, hold cap, claim window…")
async def change_terms(
    edition_code: EditionCode,
    body: Terms,
    acting: AsSales,
) -> CatalogueView:
    command = ChangeSalesTerms(edition_code=edition_code, **body.model_dump())
    return await _catalogue(acting.store, command, acting.context)


@router.post("/editions/{edition_code}/venues", status_code=201, summary="add a venue")
async def add_venue(
    edition_code: EditionCode,
    body: Venue,
    acting: AsSales,
) -> CatalogueView:
    command = AddVenue(edition_code=edition_code, **body.model_dump())
    return await _catalogue(acting.store, command, acting.context)


@router.post(
    "/editions/{edition_code}/halls",
    status_code=201,
    summary="add a hall; the park's temporary halls sell only once certified",
)
async def add_hall(edition_code: EditionCode, body: Hall, acting: AsSales) -> CatalogueView:
    command = AddHall(edition_code=edition_code, **body.model_dump())
    return await _catalogue(acting.store, command, acting.context)


@router.post(
    "/editions/{edition_code}/halls/{hall_code}/certify",
    summary="record a temporary hall's safety certificate (ops)",
)
async def certify_hall(
    edition_code: EditionCode,
    hall_code: Code,
    body: Certificate,
    acting: AsOps,
) -> CatalogueView:
    command = CertifyHall(edition_code=edition_code, hall_code=hall_code, **body.model_dump())
    return await _catalogue(acting.store, command, acting.context)


@router.post("/editions/{edition_code}/zones", status_code=201, summary="add a zone")
async def add_zone(edition_code: EditionCode, body: Zone, acting: AsSales) -> CatalogueView:
    command = AddZone(edition_code=edition_code, **body.model_dump())
    return await _catalogue(acting.store, command, acting.context)


@router.post(
    "/editions/{edition_code}/online-packages",
    status_code=201,
    summary="define an online booth package (tier)",
)
async def add_package(
    edition_code: EditionCode,
    body: Package,
    acting: AsSales,
) -> CatalogueView:
    command = DefineOnlinePackage(
        edition_code=edition_code,
        tier=body.tier,
        name_zh=body.name_zh,
        name_en=body.name_en,
        features=tuple(body.features),
    )
    return await _catalogue(acting.store, command, acting.context)


@router.post("/editions/{edition_code}/booths", status_code=201, summary="add one booth")
async def add_booth(
    edition_code: EditionCode,
    body: NewBooth,
    acting: AsSales,
    response: Response,
) -> BoothView:
    command = AddBooth(edition_code=edition_code, booth_code=body.booth_code, spec=body.spec)
    outcome = await add_booth_handler(acting.store, command, acting.context)
    response.headers["Location"] = f"/editions/{edition_code}/booths/{body.booth_code}"
    return booth_view(outcome.state(booth_stream(edition_code, body.booth_code), Booth))


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
    acting: AsSales,
    csv_text: Annotated[str, Payload(media_type="text/csv", examples=[CSV_EXAMPLE])],
) -> Imported:
    cat = await current(acting.store, CATALOGUE, edition_stream(edition_code))
    catalogue.require_open(cat)
    hall = cat.hall(hall_code)
    taken = await acting.store.pool.fetch(
        "SELECT stream_id FROM streams WHERE starts_with(stream_id, $1)",
        booth_stream(edition_code, ""),
    )
    existing = {booth_stream.parts(r["stream_id"])[1] for r in taken}
    rows, problems = floor_import.parse(csv_text, hall, cat, existing)
    if problems:
        raise DomainError(
            f"{len(problems)} problem(s) in the file; nothing was imported",
            code="csv_invalid",
            problems=[vars(p) for p in problems],
        )
    appends = [
        StreamAppend(
            booth_stream(edition_code, row.code),
            [BoothAdded(edition_code=edition_code, booth_code=row.code, spec=row.spec)],
            0,
        )
        for row in rows
    ]
    # every booth new (expected version 0), all in one statement: a booth added meanwhile
    # fails the whole import
    reason = f"CSV import into hall {hall_code}"
    await acting.store.append_streams(appends, acting.context.for_command("ImportBooths", reason))
    return Imported(hall_code=hall_code, imported=len(rows), booth_codes=[r.code for r in rows])


@router.get("/editions/{edition_code}/booths/{booth_code}", summary="a booth's current state")
async def get_booth(
    edition_code: EditionCode, booth_code: Code, who: Anyone, store: Store
) -> BoothView:
    state = await current(store, BOOTH, booth_stream(edition_code, booth_code))
    if state.spec is None:
        raise NotFound(f"booth {booth_code} not found", code="booth_not_found")
    if who.has_any(("sales", "ops")):
        return booth_view(state)
    if state.holder is not None:
        account = await current(store, ACCOUNT, account_stream(state.holder))
        if acting_as(who) == account.applicant:
            return booth_view(state)
    return public_booth_view(state)
