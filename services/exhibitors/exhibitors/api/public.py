"""The public online fair (云上展馆, "the fair that never closes"): what the website and the
mini-program show to anyone, without a login.

Only reads. Halls and exhibitions of an edition, the exhibitors in each, search, each
exhibitor's page (its approved booth page, its booth from booth sales, its services and
products, its history of participations) and each approved item. Nothing here reads a
contact: the directory holds none, and booth items are the company's public face.
Visitors' own actions (card exchange, meetings, downloads of documents) stay behind a login.

Caching (`fairline_events.reads`): every answer carries an ETag of its bytes and a
Last-Modified from the read models' `stamps` (moved on by each change a visitor could see).
A process reads a stamp once and keeps it until the read models notify that it moved
(LISTEN/NOTIFY at their commit), and an answer is encoded once per stamp, so a read or a
revalidation costs no database round trip while nothing changes; a revalidation of a target
already answered at the kept stamp is answered 304 before routing (`reads.Revalidate`).
`Cache-Control` follows the resource: pages and items `no-cache` (revalidated each time, so
a takedown hides at once, while a 304 costs one lookup), listings and searches 30 s, the
edition's halls 5 min, files a year (named by their content hash).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

import asyncpg
from fairline_events.blobs import BlobRef
from fairline_events.dependencies import Pool
from fairline_events.errors import NotFound
from fairline_events.reads import Stamp, Stamps, answer, stamps_of, wants_fresh
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, StringConstraints

from ..domain.fair import EXHIBITIONS, FESTIVAL, FESTIVAL_ZONES, SECTORS, THEMES, exhibition_of
from ..domain.values import EditionCode, Sector, Theme
from ..projections import booth_sales, directory, forum_activities, showcase
from ..projections.stamps import PUBLIC_CHANNEL
from .activities import ForumActivityOut, by_start, published_activities
from .booth import Blobs

router = APIRouter(prefix="/public", tags=["public online fair"])

T = TypeVar("T")

HALLS_CACHE = "public, max-age=300, stale-while-revalidate=60"
LISTING_CACHE = "public, max-age=30, stale-while-revalidate=30"
PAGE_CACHE = "public, no-cache"
FILE_CACHE = "public, max-age=31536000, immutable"

SearchText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[^\x00]*$"),
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")]
PageNumber = Annotated[int, Query(ge=1, le=10_000)]
PageSize = Annotated[int, Query(ge=1, le=100)]


# --- caching -------------------------------------------------------------------------------


_STAMP_ALL = f"""
    SELECT coalesce(sum(version), 0) AS version, max(changed_at) AS changed_at FROM (
        SELECT version, changed_at FROM {showcase.schema}.stamps WHERE key = 'all'
        UNION ALL SELECT version, changed_at FROM {directory.schema}.stamps WHERE key = 'all'
        UNION ALL SELECT version, changed_at FROM {booth_sales.schema}.stamps WHERE key = 'all'
    ) s"""
_STAMP_COMPANY = f"""
    SELECT coalesce(sum(version), 0) AS version, max(changed_at) AS changed_at FROM (
        SELECT version, changed_at FROM {showcase.schema}.stamps WHERE key = 'company:' || $1
        UNION ALL SELECT version, changed_at FROM {directory.schema}.stamps
            WHERE key = 'company:' || $1
        UNION ALL SELECT s.version, s.changed_at FROM {directory.schema}.exhibitors x
            JOIN {booth_sales.schema}.stamps s ON s.key = 'exhibitor:' || x.application_id
            WHERE x.company_id = $1
        UNION ALL SELECT s.version, s.changed_at FROM {directory.schema}.exhibitors x
            JOIN {forum_activities.schema}.stamps s ON s.key = 'exhibitor:' || x.application_id
            WHERE x.company_id = $1
    ) s"""


async def _read_stamp(pool: asyncpg.Pool, key: str) -> Stamp:
    if key == "all":
        row = await pool.fetchrow(_STAMP_ALL)
    else:
        row = await pool.fetchrow(_STAMP_COMPANY, key.removeprefix("company:"))
    assert row is not None
    return Stamp(int(row["version"]), row["changed_at"])


def _moves(payload: str, key: str) -> bool:
    """An exhibitor's booth moves every company page (its company is not in the payload)."""
    return payload == key or (payload.startswith("exhibitor:") and key.startswith("company:"))


def public_stamps(request: Request) -> Stamps:
    """The stamps behind the public answers: read once, then kept until the read models say
    they moved (a notification on `PUBLIC_CHANNEL`)."""
    return stamps_of(
        request, "exhibitors_public", lambda: Stamps(PUBLIC_CHANNEL, _read_stamp, _moves)
    )


async def stamp_of(request: Request, pool: asyncpg.Pool, company_id: str | None = None) -> Stamp:
    """The stamp behind an answer (a request with a consistency token reads it afresh)."""
    return await public_stamps(request).get(pool, _key(company_id), fresh=wants_fresh(request))


def _key(company_id: str | None) -> str:
    return "all" if company_id is None else f"company:{company_id}"


def _variant(request: Request) -> str:
    query = sorted(request.query_params.multi_items())
    return f"{request.url.path}?{query}"


async def cached(
    request: Request,
    pool: asyncpg.Pool,
    cache_control: str,
    build: Callable[[], Awaitable[BaseModel]],
    *,
    company_id: str | None = None,
) -> Response:
    """A conditional answer: 304 when the client's copy is current, else the JSON `build()`
    makes (an awaitable returning a pydantic model), encoded once per stamp (the edition's,
    or `company_id`'s). Every public answer is the same for any caller and depends only on
    its path and query, so a revalidation is answered before routing while its stamp is
    kept (`fairline_events.reads.Revalidate`)."""
    stamp = await stamp_of(request, pool, company_id)

    async def render() -> bytes:
        return (await build()).model_dump_json().encode()

    return await answer(
        request,
        stamp,
        render,
        variant=_variant(request),
        cache_control=cache_control,
        kept=(public_stamps(request), _key(company_id)),
    )


# --- what the public sees ------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    items: list[T]
    page: int
    page_size: int
    total: int


class NamedOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    exhibitors: int = 0


class ExhibitionOut(NamedOut):
    venue: str
    kind: str
    sector: str | None
    parts: list[NamedOut]
    """The Digital Services Zone's themes, or the festival's zones."""


class HallOut(NamedOut):
    venue_code: str


class EditionOut(BaseModel):
    edition_code: str
    exhibitions: list[ExhibitionOut]
    halls: list[HallOut]
    """The physical halls that booth sales has opened, with their exhibitors."""
    sectors: list[NamedOut]


class BoothOut(BaseModel):
    venue_code: str
    venue_zh: str | None
    venue_en: str | None
    hall_code: str
    hall_zh: str | None
    hall_en: str | None
    booth_code: str
    confirmed: bool


class PackageOut(BaseModel):
    tier: str
    name_zh: str | None
    name_en: str | None


class ExhibitorOut(BaseModel):
    """An exhibitor of an edition, as a listing shows it."""

    company_id: str | None
    edition_code: str
    name_zh: str
    name_en: str
    country_or_region: str
    exhibition: str | None
    theme: str | None
    participation_mode: str
    online: bool
    offline: bool
    booth: BoothOut | None
    online_package: PackageOut | None
    has_page: bool


class FileOut(BaseModel):
    url: str
    content_type: str
    size: int


class ItemOut(BaseModel):
    item_id: str
    kind: str
    content: dict[str, Any]
    """The approved revision; a document's file is announced, downloaded after signing in."""
    file: FileOut | None
    approved_at: datetime | None


class ServiceOut(BaseModel):
    item_id: str
    company_id: str
    name_zh: str | None
    name_en: str | None
    title: str
    title_en: str
    sector: str
    sector_zh: str
    sector_en: str
    description: str
    description_en: str


class CompanyPage(BaseModel):
    company_id: str
    name_zh: str
    name_en: str
    country_or_region: str
    current: ExhibitorOut | None
    """The participation of the edition asked for (else the latest)."""
    participations: list[ExhibitorOut]
    """Every edition the company exhibited at, latest first (the page outlives each)."""
    profile: ItemOut | None
    news: list[ItemOut]
    images: list[ItemOut]
    documents: list[ItemOut]
    activities: list[ItemOut | ForumActivityOut]
    """The booth's own activities and, from the forums programme, the company's published
    launches and forums (`source: forums`), by start."""
    posters: list[ItemOut]
    services: list[ItemOut]


# --- queries -------------------------------------------------------------------------------

_EXHIBITORS = f"""
    SELECT x.application_id, x.company_id, x.edition_code, x.name_zh, x.name_en,
           x.country_or_region, x.participation_mode, x.theme, x.approved_at,
           coalesce(x.zone, b.zone_code) AS zone,
           c.booth_code, c.status AS booth_status, b.venue_code, b.hall_code,
           v.name_zh AS venue_zh, v.name_en AS venue_en,
           h.name_zh AS hall_zh, h.name_en AS hall_en,
           o.tier, p.name_zh AS package_zh, p.name_en AS package_en,
           EXISTS (SELECT 1 FROM {showcase.schema}.items i
                   WHERE i.item_id = 'profile-' || x.company_id AND i.status = 'published'
                     AND i.public_content IS NOT NULL) AS has_page
    FROM {directory.schema}.exhibitors x
    LEFT JOIN LATERAL (
        SELECT booth_code, status, edition_code FROM {booth_sales.schema}.contracts k
        WHERE k.exhibitor_id = x.application_id AND k.status <> 'cancelled'
        ORDER BY k.changed_at DESC LIMIT 1) c ON true
    LEFT JOIN {booth_sales.schema}.booths b
        ON b.edition_code = c.edition_code AND b.booth_code = c.booth_code
    LEFT JOIN {booth_sales.schema}.venues v
        ON v.edition_code = b.edition_code AND v.venue_code = b.venue_code
    LEFT JOIN {booth_sales.schema}.halls h
        ON h.edition_code = b.edition_code AND h.hall_code = b.hall_code
    LEFT JOIN LATERAL (
        SELECT tier FROM {booth_sales.schema}.online_orders q
        WHERE q.exhibitor_id = x.application_id ORDER BY q.ordered_at DESC LIMIT 1) o ON true
    LEFT JOIN {booth_sales.schema}.packages p
        ON p.edition_code = x.edition_code AND p.tier = o.tier
    WHERE x.listed"""


def _exhibitor(r: asyncpg.Record) -> ExhibitorOut:
    exhibition = exhibition_of(r["zone"])
    booth = None
    if r["booth_code"] is not None and r["hall_code"] is not None:
        booth = BoothOut(
            venue_code=r["venue_code"],
            venue_zh=r["venue_zh"],
            venue_en=r["venue_en"],
            hall_code=r["hall_code"],
            hall_zh=r["hall_zh"],
            hall_en=r["hall_en"],
            booth_code=r["booth_code"],
            confirmed=r["booth_status"] == "confirmed",
        )
    package = None
    if r["tier"] is not None:
        package = PackageOut(tier=r["tier"], name_zh=r["package_zh"], name_en=r["package_en"])
    mode = r["participation_mode"]
    return ExhibitorOut(
        company_id=r["company_id"],
        edition_code=r["edition_code"],
        name_zh=r["name_zh"],
        name_en=r["name_en"],
        country_or_region=r["country_or_region"],
        exhibition=exhibition,
        theme=r["theme"],
        participation_mode=mode,
        online=mode in ("online", "both") or package is not None,
        offline=mode in ("offline", "both") or booth is not None,
        booth=booth,
        online_package=package,
        has_page=r["has_page"],
    )


def _like(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


# --- routes --------------------------------------------------------------------------------


@router.get(
    "/editions/{edition_code}",
    summary="the edition's online halls: exhibitions, themes, zones, physical halls, sectors",
    response_model=EditionOut,
)
async def edition(edition_code: EditionCode, request: Request, pool: Pool) -> Response:
    async def build() -> EditionOut:
        rows = await pool.fetch(
            f"""SELECT e.zone, e.theme, e.hall_code, e.venue_code, count(*) AS n,
                       grouping(e.hall_code) = 0 AS by_hall, grouping(e.theme) = 0 AS by_theme
                FROM ({_EXHIBITORS} AND x.edition_code = $1) e
                GROUP BY GROUPING SETS ((e.zone), (e.theme), (e.hall_code, e.venue_code))
            """,
            edition_code,
        )
        by_zone: dict[str, int] = {}
        by_theme: dict[str, int] = {}
        by_hall: dict[tuple[str, str], int] = {}
        for r in rows:
            if r["by_hall"]:
                if r["hall_code"] is not None:
                    by_hall[(r["venue_code"], r["hall_code"])] = r["n"]
            elif r["by_theme"]:
                if r["theme"] is not None:
                    by_theme[r["theme"]] = r["n"]
            elif r["zone"] is not None:
                by_zone[r["zone"]] = r["n"]
        halls = await pool.fetch(
            f"""SELECT hall_code, venue_code, name_zh, name_en FROM {booth_sales.schema}.halls
                WHERE edition_code = $1 ORDER BY venue_code, hall_code""",
            edition_code,
        )

        def parts(codes: Sequence[Any], counts: dict[str, int]) -> list[NamedOut]:
            return [NamedOut(**vars(p), exhibitors=counts.get(p.code, 0)) for p in codes]

        exhibitions = []
        for e in EXHIBITIONS:
            inner = parts(e.parts, by_theme if e.parts is THEMES else by_zone)
            total = by_zone.get(e.code, 0) + (
                sum(p.exhibitors for p in inner) if e.code == FESTIVAL else 0
            )
            exhibitions.append(
                ExhibitionOut(
                    code=e.code,
                    name_zh=e.name_zh,
                    name_en=e.name_en,
                    venue=e.venue,
                    kind=e.kind,
                    sector=e.sector,
                    parts=inner,
                    exhibitors=total,
                )
            )
        return EditionOut(
            edition_code=edition_code,
            exhibitions=exhibitions,
            halls=[
                HallOut(
                    code=h["hall_code"],
                    venue_code=h["venue_code"],
                    name_zh=h["name_zh"],
                    name_en=h["name_en"],
                    exhibitors=by_hall.get((h["venue_code"], h["hall_code"]), 0),
                )
                for h in halls
            ],
            sectors=[NamedOut(**vars(s)) for s in SECTORS.values()],
        )

    return await cached(request, pool, HALLS_CACHE, build)


@router.get(
    "/editions/{edition_code}/exhibitors",
    summary="browse and search the edition's exhibitors (paged)",
    description=(
        "`q` matches part of the Chinese name, the English name (any case) or the Chinese "
        "name's pinyin (`huawei`, initials `hw`). `exhibition` is an exhibition's or zone's "
        "code (see the edition's halls); `hall` a physical hall; `sector` one of the eight "
        "services-trade sectors (an exhibitor in that themed exhibition or with a service "
        "listed in it); `mode` online or offline."
    ),
    response_model=Page[ExhibitorOut],
)
async def exhibitors(
    edition_code: EditionCode,
    request: Request,
    pool: Pool,
    q: SearchText | None = None,
    country_or_region: Annotated[str | None, Query(pattern=r"^[A-Za-z]{2}$")] = None,
    exhibition: Code | None = None,
    hall: Code | None = None,
    theme: Theme | None = None,
    sector: Sector | None = None,
    mode: Literal["online", "offline"] | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Response:
    zones: list[str] | None = None
    if exhibition is not None:
        zones = [exhibition]
        if exhibition == FESTIVAL:
            zones += [z.code for z in FESTIVAL_ZONES]

    async def build() -> Page[ExhibitorOut]:
        rows = await pool.fetch(
            f"""SELECT e.*, count(*) OVER () AS total FROM ({_EXHIBITORS}
                    AND x.edition_code = $1
                    AND ($2::text IS NULL OR x.search_text LIKE $2)
                    AND ($3::text IS NULL OR x.country_or_region = upper($3))
                    AND ($7::text IS NULL OR x.theme = $7)
                    AND ($8::text IS NULL
                         OR x.zone = 'themed-' || $8
                         OR EXISTS (SELECT 1 FROM {showcase.schema}.items i
                                    WHERE i.company_id = x.company_id AND i.kind = 'service'
                                      AND i.status = 'published'
                                      AND i.public_content IS NOT NULL AND i.sector = $8))
                ) e
                WHERE ($4::text[] IS NULL OR e.zone = ANY($4))
                  AND ($5::text IS NULL OR e.hall_code = $5)
                  AND ($6::text IS NULL
                       OR ($6 = 'online' AND (e.participation_mode IN ('online', 'both')
                                              OR e.tier IS NOT NULL))
                       OR ($6 = 'offline' AND (e.participation_mode IN ('offline', 'both')
                                               OR e.booth_code IS NOT NULL)))
                ORDER BY e.name_en, e.application_id
                LIMIT $9 OFFSET $10""",
            edition_code,
            _like(q) if q is not None else None,
            country_or_region,
            zones,
            hall,
            mode,
            theme,
            sector,
            page_size,
            (page - 1) * page_size,
        )
        total = rows[0]["total"] if rows else 0
        return Page[ExhibitorOut](
            items=[_exhibitor(r) for r in rows], page=page, page_size=page_size, total=total
        )

    return await cached(request, pool, LISTING_CACHE, build)


@router.get(
    "/services",
    summary="services and products exhibitors promote (产品和服务推广), by sector (paged)",
    response_model=Page[ServiceOut],
)
async def services(
    request: Request,
    pool: Pool,
    sector: Sector | None = None,
    q: SearchText | None = None,
    page: PageNumber = 1,
    page_size: PageSize = 20,
) -> Response:
    async def build() -> Page[ServiceOut]:
        rows = await pool.fetch(
            f"""SELECT i.item_id, i.company_id, i.public_content::text AS content,
                       n.name_zh, n.name_en, count(*) OVER () AS total
                FROM {showcase.schema}.items i
                LEFT JOIN LATERAL (
                    SELECT name_zh, name_en FROM {directory.schema}.exhibitors x
                    WHERE x.company_id = i.company_id AND x.listed
                    ORDER BY x.approved_at DESC NULLS LAST LIMIT 1) n ON true
                WHERE i.kind = 'service' AND i.status = 'published'
                  AND i.public_content IS NOT NULL
                  AND ($1::text IS NULL OR i.sector = $1)
                  AND ($2::text IS NULL OR lower(i.public_content->>'title') LIKE $2
                       OR lower(i.public_content->>'title_en') LIKE $2)
                ORDER BY i.approved_at DESC, i.item_id
                LIMIT $3 OFFSET $4""",
            sector,
            _like(q) if q is not None else None,
            page_size,
            (page - 1) * page_size,
        )
        out = []
        for r in rows:
            c = json.loads(r["content"])
            named = SECTORS[c["sector"]]
            out.append(
                ServiceOut(
                    item_id=r["item_id"],
                    company_id=r["company_id"],
                    name_zh=r["name_zh"],
                    name_en=r["name_en"],
                    title=c["title"],
                    title_en=c.get("title_en", ""),
                    sector=c["sector"],
                    sector_zh=named.name_zh,
                    sector_en=named.name_en,
                    description=c.get("description", ""),
                    description_en=c.get("description_en", ""),
                )
            )
        total = rows[0]["total"] if rows else 0
        return Page[ServiceOut](items=out, page=page, page_size=page_size, total=total)

    return await cached(request, pool, LISTING_CACHE, build)


def _file_of(item_id: str, kind: str, content: dict[str, Any]) -> FileOut | None:
    field = {"profile": "logo", "service": "image"}.get(kind, "file")
    ref = content.get(field)
    if not isinstance(ref, dict):
        return None
    url = (
        f"/booth-items/{item_id}/file"  # a document is downloaded signed in (a lead source)
        if kind == "document"
        else f"/public/booth-items/{item_id}/file"
    )
    return FileOut(url=url, content_type=ref["content_type"], size=ref["size"])


def _item_out(r: asyncpg.Record) -> ItemOut:
    content = json.loads(r["content"])
    return ItemOut(
        item_id=r["item_id"],
        kind=r["kind"],
        content=content,
        file=_file_of(r["item_id"], r["kind"], content),
        approved_at=r["approved_at"],
    )


@router.get(
    "/companies/{company_id}",
    summary="an exhibitor's page: its approved booth page, booth, services, participations",
    response_model=CompanyPage,
)
async def company_page(
    company_id: Code, request: Request, pool: Pool, edition_code: EditionCode | None = None
) -> Response:
    async def build() -> CompanyPage:
        items = await pool.fetch(
            f"""SELECT item_id, kind, public_content::text AS content, approved_at
                FROM {showcase.schema}.items
                WHERE company_id = $1 AND status = 'published' AND public_content IS NOT NULL
                ORDER BY starts_at NULLS LAST, approved_at DESC""",
            company_id,
        )
        entries = [_item_out(r) for r in items]
        profile = [e for e in entries if e.kind == "profile"]
        rows = await pool.fetch(
            f"""SELECT * FROM ({_EXHIBITORS} AND x.company_id = $1) e
                ORDER BY e.edition_code DESC""",
            company_id,
        )
        if not profile or not rows:  # the page goes public with its approved profile
            raise NotFound(f"company {company_id} has no public page", code="page_not_found")
        participations = [_exhibitor(r) for r in rows]
        current = next(
            (p for p in participations if p.edition_code == edition_code),
            participations[0] if edition_code is None else None,
        )
        latest = participations[0]

        def of(kind: str) -> list[ItemOut]:
            return [e for e in entries if e.kind == kind]

        activities: list[ItemOut | ForumActivityOut] = [*of("activity")]
        activities += await published_activities(pool, company_id)
        return CompanyPage(
            company_id=company_id,
            name_zh=latest.name_zh,
            name_en=latest.name_en,
            country_or_region=latest.country_or_region,
            current=current,
            participations=participations,
            profile=profile[0],
            news=of("news"),
            images=of("image"),
            documents=of("document"),
            activities=by_start(activities),
            posters=of("poster"),
            services=of("service"),
        )

    return await cached(request, pool, PAGE_CACHE, build, company_id=company_id)


async def _public_item(pool: asyncpg.Pool, item_id: str) -> asyncpg.Record:
    row = await pool.fetchrow(
        f"""SELECT i.item_id, i.company_id, i.kind, i.public_content::text AS content,
                   i.approved_at,
                   EXISTS (SELECT 1 FROM {showcase.schema}.items p
                           WHERE p.item_id = 'profile-' || i.company_id
                             AND p.status = 'published' AND p.public_content IS NOT NULL)
                   AS page_public
            FROM {showcase.schema}.items i
            WHERE i.item_id = $1 AND i.status = 'published' AND i.public_content IS NOT NULL""",
        item_id,
    )
    if row is None or not row["page_public"]:
        raise NotFound(f"booth item {item_id} not found", code="item_not_found")
    return row


@router.get(
    "/booth-items/{item_id}",
    summary="an approved, published item of a public booth page",
    response_model=ItemOut,
)
async def public_item(item_id: Code, request: Request, pool: Pool) -> Response:
    row = await _public_item(pool, item_id)

    async def build() -> ItemOut:
        return _item_out(row)

    return await cached(request, pool, PAGE_CACHE, build, company_id=row["company_id"])


@router.get(
    "/booth-items/{item_id}/file",
    summary="an image, poster, logo or service picture of a public item (documents: sign in)",
    response_class=Response,
)
async def public_file(item_id: Code, request: Request, pool: Pool, blobs: Blobs) -> Response:
    row = await _public_item(pool, item_id)
    content = json.loads(row["content"])
    field = {"profile": "logo", "service": "image"}.get(row["kind"], "file")
    if row["kind"] == "document" or not isinstance(content.get(field), dict):
        raise NotFound(f"booth item {item_id} has no public file", code="file_not_found")
    ref = BlobRef.model_validate(content[field])
    etag = f'"{ref.sha256}"'
    headers = {"ETag": etag, "Cache-Control": FILE_CACHE, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") in (etag, f"W/{etag}"):
        return Response(status_code=304, headers=headers)
    data = await blobs.read(ref.sha256)
    return Response(data, media_type=ref.content_type, headers=headers)
