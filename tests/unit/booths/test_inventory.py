"""The catalogue and the CSV import of a hall's booths."""

from __future__ import annotations

import pytest
from booths.domain import catalogue, floor_import
from booths.domain.catalogue import CATALOGUE, edition_stream
from booths.domain.commands import AddHall, AddZone, CertifyHall, OpenEdition
from booths.domain.events import HallAdded, HallCertified
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.testing import given
from unit.booths.factories import EDITION, OPENED, OPENS_ON


def test_the_parks_temporary_halls_need_a_certificate_and_permanent_ones_do_not() -> None:
    cat = given(*OPENED).state(CATALOGUE, edition_stream(EDITION))
    add = AddHall(
        edition_code=EDITION,
        venue_code="shougang",
        hall_code="M1",
        name_zh="膜结构馆",
        name_en="Membrane hall",
        structure="tensile_membrane",
    )
    [added] = catalogue.decide(add, cat)
    assert isinstance(added, HallAdded) and added.certification_required
    assert not cat.hall("SG1").sellable and cat.hall("E1").sellable
    certify = CertifyHall(edition_code=EDITION, hall_code="SG1", certificate_no="BJ-7")
    [certified] = catalogue.decide(certify, cat)
    assert isinstance(certified, HallCertified)
    assert catalogue.evolve(cat, certified).hall("SG1").sellable
    with pytest.raises(DomainError) as exc:
        catalogue.decide(certify.model_copy(update={"hall_code": "E1"}), cat)
    assert exc.value.code == "certificate_not_required"


def test_catalogue_entries_are_unique_and_need_their_venue() -> None:
    cat = given(*OPENED).state(CATALOGUE, edition_stream(EDITION))
    with pytest.raises(Conflict) as exc:
        catalogue.decide(
            OpenEdition(
                edition_code=EDITION,
                name_zh="x",
                name_en="x",
                opens_on=OPENS_ON,
                closes_on=OPENS_ON,
            ),
            cat,
        )
    assert exc.value.code == "edition_exists"
    zone = AddZone(
        edition_code=EDITION,
        zone_code="finance",
        venue_code="shougang",
        name_zh="x",
        name_en="x",
        kind="themed",
    )
    with pytest.raises(Conflict):
        catalogue.decide(zone, cat)
    with pytest.raises(NotFound) as missing:
        catalogue.decide(zone.model_copy(update={"zone_code": "new", "venue_code": "nope"}), cat)
    assert missing.value.code == "venue_not_found"
    unopened = catalogue.initial("edition-ciftis-2030")
    with pytest.raises(NotFound) as never:
        catalogue.decide(zone, unopened)
    assert never.value.code == "edition_not_found"


HEADER = "code,zone,type,area_m2,open_sides,x,y,width,depth\n"


def parse(
    text: str, existing: frozenset[str] = frozenset()
) -> tuple[list[str], list[tuple[int, str | None]]]:
    cat = given(*OPENED).state(CATALOGUE, edition_stream(EDITION))
    booths, problems = floor_import.parse(text, cat.hall("E1"), cat, set(existing))
    return [b.code for b in booths], [(p.row, p.column) for p in problems]


def test_a_clean_file_imports_every_row() -> None:
    text = HEADER + (
        "E1-101,digital-trust,shell_scheme,9,row,0,0,3,3\n"
        "E1-102,digital-trust,raw_space,36.5,island,4,0,6,6\n"
        "\n"
        "E1-103,digital-trust,outdoor,18,,,,,\n"
    )
    assert parse(text) == (["E1-101", "E1-102", "E1-103"], [])


def test_every_bad_row_is_reported_and_nothing_is_imported() -> None:
    text = HEADER + (
        "E1-101,digital-trust,shell_scheme,9,row,0,0,3,3\n"  # good
        "E1-102,finance,shell_scheme,9,row,10,0,3,3\n"  # zone at the other venue
        "E1-103,digital-trust,tent,9,row,20,0,3,3\n"  # no such type
        "E1-104,digital-trust,shell_scheme,-9,row,30,0,3,3\n"  # negative area
        "E1-101,digital-trust,shell_scheme,9,row,40,0,3,3\n"  # duplicate code
        "E1-106,digital-trust,shell_scheme,9,row,1,1,3,3\n"  # overlaps E1-101
        "E1 107,digital-trust,shell_scheme,9,row,50,0,3,3\n"  # bad code
        "E1-108,digital-trust,shell_scheme,9,row,60,0,,\n"  # half a geometry
        "E1-109,nowhere,shell_scheme,9,corner,70,0,3,3\n"  # unknown zone
        "E1-110,digital-trust,shell_scheme,9,row,80,0,3,3\n"  # exists already
    )
    booths, problems = parse(text, frozenset({"E1-110"}))
    assert booths == []
    assert problems == [
        (3, "zone"),
        (4, "type"),
        (5, "area_m2"),
        (6, "code"),
        (7, "x"),
        (8, "code"),
        (9, "x"),
        (10, "zone"),
        (11, "code"),
    ]


def test_a_file_without_the_required_columns_is_refused_at_the_header() -> None:
    assert parse("code,zone,kind\nE1-1,digital-trust,x\n") == (
        [],
        [(1, None), (1, None)],
    )
    assert parse(HEADER) == ([], [(2, None)])
