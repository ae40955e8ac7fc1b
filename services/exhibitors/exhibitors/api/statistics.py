"""Statistics of an edition: countries and regions, exhibitors offline, online and online-only,
with growth against the previous edition. Counted over the directory: approved exhibitors
that have not withdrawn, in the mode they take part in now."""

from __future__ import annotations

from typing import Annotated

import asyncpg
from fairline_events.dependencies import Pool
from fastapi import APIRouter, Query
from pydantic import BaseModel

from ..domain.edition import previous_edition
from ..domain.values import EditionCode
from ..projections import directory
from .common import Anyone

router = APIRouter(tags=["statistics"])


class Counts(BaseModel):
    edition_code: str
    exhibitors: int
    countries_and_regions: int
    offline: int
    """Taking part at the venues: offline or both."""
    online: int
    """Taking part in the online showcase: online or both."""
    online_only: int
    by_country_or_region: dict[str, int]


class Growth(BaseModel):
    """Change against the previous edition: the difference, and it in percent (None from 0)."""

    exhibitors: int
    exhibitors_percent: float | None
    countries_and_regions: int
    countries_and_regions_percent: float | None
    offline: int
    offline_percent: float | None
    online: int
    online_percent: float | None
    online_only: int
    online_only_percent: float | None


class EditionStatistics(BaseModel):
    current: Counts
    previous: Counts | None
    growth: Growth | None


async def counts(pool: asyncpg.Pool, edition_code: str) -> Counts:
    rows = await pool.fetch(
        f"""SELECT country_or_region,
                   count(*) AS exhibitors,
                   count(*) FILTER (WHERE participation_mode IN ('offline', 'both')) AS offline,
                   count(*) FILTER (WHERE participation_mode IN ('online', 'both')) AS online,
                   count(*) FILTER (WHERE participation_mode = 'online') AS online_only
            FROM {directory.schema}.exhibitors
            WHERE listed AND edition_code = $1
            GROUP BY country_or_region
            ORDER BY country_or_region""",
        edition_code,
    )
    return Counts(
        edition_code=edition_code,
        exhibitors=sum(r["exhibitors"] for r in rows),
        countries_and_regions=len(rows),
        offline=sum(r["offline"] for r in rows),
        online=sum(r["online"] for r in rows),
        online_only=sum(r["online_only"] for r in rows),
        by_country_or_region={r["country_or_region"]: r["exhibitors"] for r in rows},
    )


def _percent(now: int, before: int) -> float | None:
    return round((now - before) * 100 / before, 1) if before else None


def growth(now: Counts, before: Counts) -> Growth:
    fields = ("exhibitors", "countries_and_regions", "offline", "online", "online_only")
    values: dict[str, int | float | None] = {}
    for f in fields:
        a, b = getattr(now, f), getattr(before, f)
        values[f] = a - b
        values[f"{f}_percent"] = _percent(a, b)
    return Growth.model_validate(values)


async def edition_statistics(
    pool: asyncpg.Pool, edition_code: str, compared_to: str | None = None
) -> EditionStatistics:
    current = await counts(pool, edition_code)
    before_code = compared_to or previous_edition(edition_code)
    if before_code is None:
        return EditionStatistics(current=current, previous=None, growth=None)
    before = await counts(pool, before_code)
    return EditionStatistics(current=current, previous=before, growth=growth(current, before))


@router.get("/editions/{edition_code}/statistics", summary="an edition in numbers, with growth")
async def statistics(
    edition_code: EditionCode,
    who: Anyone,
    pool: Pool,
    compared_to: Annotated[
        EditionCode | None, Query(description="default: the edition a year before")
    ] = None,
) -> EditionStatistics:
    return await edition_statistics(pool, edition_code, compared_to)
