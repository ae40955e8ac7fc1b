"""A hall's booths from a CSV file: every bad row reported, nothing half-imported.

Columns: code, zone, type, area_m2 (required); open_sides (row when empty); x, y, width,
depth (metres on the hall plan, all four or none). Row numbers count the header as row 1,
as a spreadsheet shows them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from .catalogue import Catalogue, Hall
from .values import BoothSpec, Code, Geometry, Value

REQUIRED = ("code", "zone", "type", "area_m2")
OPTIONAL = ("open_sides", "x", "y", "width", "depth")
GEOMETRY = ("x", "y", "width", "depth")
MAX_ROWS = 5000


@dataclass(frozen=True)
class RowProblem:
    row: int
    column: str | None
    problem: str


class _CodeField(Value):
    code: Code


@dataclass(frozen=True)
class ImportedBooth:
    row: int
    code: str
    spec: BoothSpec


def parse(
    text: str, hall: Hall, catalogue: Catalogue, existing: set[str]
) -> tuple[list[ImportedBooth], list[RowProblem]]:
    """The booths of `text` for `hall`, or every problem found; `existing` are codes taken."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in reader.fieldnames or []]
    problems: list[RowProblem] = []
    missing = [c for c in REQUIRED if c not in header]
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
    if missing:
        problems.append(RowProblem(1, None, f"missing columns: {', '.join(missing)}"))
    if unknown:
        problems.append(RowProblem(1, None, f"unknown columns: {', '.join(unknown)}"))
    if problems:
        return [], problems
    booths: list[ImportedBooth] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(reader, start=2):
        if number - 1 > MAX_ROWS:
            problems.append(RowProblem(number, None, f"more than {MAX_ROWS} rows"))
            break
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(row.values()):
            continue
        found = _row(number, row, hall, catalogue)
        if isinstance(found, list):
            problems += found
            continue
        if found.code in seen:
            problems.append(
                RowProblem(number, "code", f"{found.code} is also on row {seen[found.code]}")
            )
            continue
        seen[found.code] = number
        if found.code in existing:
            problems.append(RowProblem(number, "code", f"booth {found.code} already exists"))
            continue
        overlap = _overlapping(found, booths)
        if overlap is not None:
            problems.append(
                RowProblem(
                    number,
                    "x",
                    f"overlaps booth {overlap.code} (row {overlap.row}) on the floor plan",
                )
            )
            continue
        booths.append(found)
    if not booths and not problems:
        problems.append(RowProblem(2, None, "the file has no booths"))
    return (booths if not problems else []), problems


def _row(
    number: int, row: dict[str, str], hall: Hall, catalogue: Catalogue
) -> ImportedBooth | list[RowProblem]:
    problems: list[RowProblem] = []
    try:
        code = _CodeField(code=row["code"]).code
    except ValidationError:
        problems.append(RowProblem(number, "code", f"{row['code']!r} is not a booth code"))
        code = row["code"]
    zone = catalogue.zones.get(row["zone"])
    if zone is None:
        problems.append(RowProblem(number, "zone", f"no zone {row['zone']!r} in this edition"))
    elif zone.venue_code != hall.venue_code:
        problems.append(
            RowProblem(number, "zone", f"zone {zone.code} is not at venue {hall.venue_code}")
        )
    given = [c for c in GEOMETRY if row.get(c)]
    if given and len(given) != len(GEOMETRY):
        problems.append(RowProblem(number, "x", "give x, y, width and depth, or none of them"))
    fields: dict[str, Any] = {
        "venue_code": hall.venue_code,
        "hall_code": hall.code,
        "zone_code": row["zone"] or "-",
        "booth_type": row["type"],
        "area_m2": row["area_m2"],
        "open_sides": row.get("open_sides") or "row",
        "geometry": {c: row[c] for c in GEOMETRY} if len(given) == len(GEOMETRY) else None,
    }
    columns = {"booth_type": "type", "geometry": "x"}
    try:
        spec = BoothSpec.model_validate(fields)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else None
            column = columns.get(field or "", field)
            if column == "zone_code":
                continue  # reported above
            problems.append(RowProblem(number, column, error["msg"]))
        return problems
    return problems or ImportedBooth(number, code, spec)


def _overlapping(booth: ImportedBooth, others: list[ImportedBooth]) -> ImportedBooth | None:
    shape: Geometry | None = booth.spec.geometry
    if shape is None:
        return None
    for other in others:
        if other.spec.geometry is not None and shape.overlaps(other.spec.geometry):
            return other
    return None
