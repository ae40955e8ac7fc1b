"""The edition's catalogue as a decider: venues, halls, zones, online packages, sales terms.

A hall of the park's temporary structures (钢结构临时展馆, 张拉膜结构室外展馆) needs a
certificate before its booths can be sold; permanent halls sell at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import assert_never

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from .commands import (
    AddHall,
    AddVenue,
    AddZone,
    CatalogueCommand,
    CertifyHall,
    ChangeSalesTerms,
    DefineOnlinePackage,
    OpenEdition,
)
from .events import (
    EditionOpened,
    HallAdded,
    HallCertified,
    OnlinePackageDefined,
    SalesTermsChanged,
    VenueAdded,
    ZoneAdded,
)
from .values import HallStructure, VenueKind, ZoneKind

TEMPORARY: frozenset[HallStructure] = frozenset({"temporary_steel", "tensile_membrane"})


@dataclass(frozen=True)
class Terms:
    hold_ttl: timedelta = timedelta(hours=72)
    max_concurrent_holds: int = 3
    claim_window: timedelta = timedelta(hours=48)
    construction_deadline: date | None = None


@dataclass(frozen=True)
class Venue:
    code: str
    name_zh: str
    name_en: str
    kind: VenueKind


@dataclass(frozen=True)
class Hall:
    code: str
    venue_code: str
    name_zh: str
    name_en: str
    structure: HallStructure
    certification_required: bool
    certificate_no: str | None = None

    @property
    def sellable(self) -> bool:
        return not self.certification_required or self.certificate_no is not None


@dataclass(frozen=True)
class Zone:
    code: str
    venue_code: str
    name_zh: str
    name_en: str
    kind: ZoneKind
    parent_code: str | None


@dataclass(frozen=True)
class Catalogue:
    edition_code: str
    opened: bool = False
    name_zh: str = ""
    name_en: str = ""
    opens_on: date = date.min
    closes_on: date = date.min
    terms: Terms = Terms()
    venues: dict[str, Venue] = field(default_factory=dict)
    halls: dict[str, Hall] = field(default_factory=dict)
    zones: dict[str, Zone] = field(default_factory=dict)
    packages: dict[str, OnlinePackageDefined] = field(default_factory=dict)

    def hall(self, code: str) -> Hall:
        try:
            return self.halls[code]
        except KeyError:
            raise NotFound(
                f"hall {code} is not in edition {self.edition_code}", code="hall_not_found"
            ) from None

    def zone(self, code: str) -> Zone:
        try:
            return self.zones[code]
        except KeyError:
            raise NotFound(
                f"zone {code} is not in edition {self.edition_code}", code="zone_not_found"
            ) from None


def edition_stream(edition_code: str) -> str:
    return f"edition-{edition_code}"


def initial(stream_id: str) -> Catalogue:
    return Catalogue(edition_code=stream_id.removeprefix("edition-"))


def require_open(catalogue: Catalogue) -> None:
    if not catalogue.opened:
        raise NotFound(
            f"edition {catalogue.edition_code} has no booth sales",
            code="edition_not_found",
        )


def decide(command: CatalogueCommand, state: Catalogue) -> list[DomainEvent]:
    edition = state.edition_code
    if isinstance(command, OpenEdition):
        if state.opened:
            raise Conflict(f"edition {edition} is already open", code="edition_exists")
        if command.closes_on < command.opens_on:
            raise DomainError("the fair cannot close before it opens", code="invalid_dates")
        return [EditionOpened(**command.model_dump())]
    require_open(state)
    match command:
        case ChangeSalesTerms():
            return [SalesTermsChanged(**command.model_dump())]
        case AddVenue(venue_code=code):
            if code in state.venues:
                raise Conflict(f"venue {code} exists", code="venue_exists")
            return [VenueAdded(**command.model_dump())]
        case AddHall(venue_code=venue, hall_code=code, structure=structure):
            if venue not in state.venues:
                raise NotFound(f"venue {venue} is not in edition {edition}", code="venue_not_found")
            if code in state.halls:
                raise Conflict(f"hall {code} exists", code="hall_exists")
            return [
                HallAdded(**command.model_dump(), certification_required=structure in TEMPORARY)
            ]
        case CertifyHall(hall_code=code):
            hall = state.hall(code)
            if not hall.certification_required:
                raise DomainError(
                    f"hall {code} is permanent and needs no certificate",
                    code="certificate_not_required",
                )
            if hall.certificate_no == command.certificate_no:
                return []
            return [HallCertified(**command.model_dump())]
        case AddZone(zone_code=code, venue_code=venue, parent_code=parent):
            if venue not in state.venues:
                raise NotFound(f"venue {venue} is not in edition {edition}", code="venue_not_found")
            if code in state.zones:
                raise Conflict(f"zone {code} exists", code="zone_exists")
            if parent is not None:
                state.zone(parent)
            return [ZoneAdded(**command.model_dump())]
        case DefineOnlinePackage(tier=tier):
            if tier in state.packages:
                raise Conflict(f"online package {tier} exists", code="package_exists")
            return [OnlinePackageDefined(**command.model_dump())]
        case _:
            assert_never(command)


def _terms(event: EditionOpened | SalesTermsChanged) -> Terms:
    return Terms(
        hold_ttl=timedelta(seconds=event.hold_ttl_seconds),
        max_concurrent_holds=event.max_concurrent_holds,
        claim_window=timedelta(seconds=event.claim_window_seconds),
        construction_deadline=event.construction_deadline,
    )


def evolve(state: Catalogue, event: DomainEvent) -> Catalogue:
    match event:
        case EditionOpened():
            return replace(
                state,
                opened=True,
                name_zh=event.name_zh,
                name_en=event.name_en,
                opens_on=event.opens_on,
                closes_on=event.closes_on,
                terms=_terms(event),
            )
        case SalesTermsChanged():
            return replace(state, terms=_terms(event))
        case VenueAdded():
            venue = Venue(event.venue_code, event.name_zh, event.name_en, event.kind)
            return replace(state, venues={**state.venues, venue.code: venue})
        case HallAdded():
            hall = Hall(
                event.hall_code,
                event.venue_code,
                event.name_zh,
                event.name_en,
                event.structure,
                event.certification_required,
            )
            return replace(state, halls={**state.halls, hall.code: hall})
        case HallCertified():
            hall = replace(state.halls[event.hall_code], certificate_no=event.certificate_no)
            return replace(state, halls={**state.halls, hall.code: hall})
        case ZoneAdded():
            zone = Zone(
                event.zone_code,
                event.venue_code,
                event.name_zh,
                event.name_en,
                event.kind,
                event.parent_code,
            )
            return replace(state, zones={**state.zones, zone.code: zone})
        case OnlinePackageDefined():
            return replace(state, packages={**state.packages, event.tier: event})
        case _:
            return state


CATALOGUE = Fold(initial, evolve)
