"""Queries on the read models: the review queue and the exhibitor directory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fairline_events.dependencies import Pool
from fastapi import APIRouter, Query
from pydantic import BaseModel

from ..domain.edition import DEFAULT_REVIEW_SLA_HOURS
from ..domain.values import Slug, Theme, Venue
from ..projections import directory, review_audit, review_queue
from .common import Anyone, Recruiter

HOURS_OF_TEN_YEARS = 10 * 366 * 24
"""The longest wait the review queue filters on: beyond it, a 422, not an overflow."""

router = APIRouter(tags=["read models"])


Status = Literal[
    "draft", "submitted", "under_review", "approved", "rejected", "returned", "withdrawn"
]


class QueueEntry(BaseModel):
    application_id: str
    edition_code: str
    name_zh: str
    name_en: str
    country_or_region: str
    sector: str
    participation_mode: str
    contact_name: str
    contact_email: str
    status: str
    reviewer: str | None
    submissions: int
    waiting_since: datetime | None
    waiting_hours: float | None
    due_at: datetime | None = None
    """When a decision is due: (re)submitted + the edition's review SLA."""
    overdue: bool = False
    last_reason: str | None
    company_id: str | None = None
    venue: str | None = None
    zone: str | None = None
    theme: str | None = None


class AuditEntry(BaseModel):
    application_id: str
    version: int
    edition_code: str
    action: str
    actor: str
    reviewer: str | None
    reason: str | None
    at: datetime


class DirectoryEntry(BaseModel):
    application_id: str
    edition_code: str
    name_zh: str
    name_en: str
    country_or_region: str
    sector: str
    participation_mode: str
    approved_at: datetime | None
    company_id: str | None = None
    venue: str | None = None
    zone: str | None = None
    theme: str | None = None


@router.get("/review-queue", summary="applications for the recruitment team, most urgent first")
async def queue(
    who: Recruiter,
    pool: Pool,
    edition_code: str | None = None,
    status: Annotated[list[Status] | None, Query()] = None,
    country_or_region: str | None = None,
    sector: str | None = None,
    reviewer: str | None = None,
    overdue: bool | None = None,
    waiting_longer_than_hours: Annotated[float | None, Query(ge=0, le=HOURS_OF_TEN_YEARS)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QueueEntry]:
    now = datetime.now(UTC)
    waiting_before = (
        now - timedelta(hours=waiting_longer_than_hours)
        if waiting_longer_than_hours is not None
        else None
    )
    rows = await pool.fetch(
        f"""
        SELECT * FROM (
            SELECT a.*,
                   a.waiting_since + make_interval(hours => coalesce(s.hours, $9)) AS due_at
            FROM {review_queue.schema}.applications a
            LEFT JOIN {review_queue.schema}.review_slas s USING (edition_code)
        ) q
        WHERE ($1::text IS NULL OR edition_code = $1)
          AND ($2::text[] IS NULL OR status = ANY($2))
          AND ($3::text IS NULL OR country_or_region = upper($3))
          AND ($4::text IS NULL OR sector = $4)
          AND ($5::timestamptz IS NULL OR waiting_since <= $5)
          AND ($7::text IS NULL OR reviewer = $7)
          AND ($8::boolean IS NULL OR (due_at IS NOT NULL AND due_at < $10) = $8)
        ORDER BY due_at NULLS LAST, registered_at
        LIMIT $6
        """,
        edition_code,
        status,
        country_or_region,
        sector,
        waiting_before,
        limit,
        reviewer,
        overdue,
        DEFAULT_REVIEW_SLA_HOURS,
        now,
    )
    return [
        QueueEntry(
            **{k: r[k] for k in QueueEntry.model_fields if k not in ("waiting_hours", "overdue")},
            waiting_hours=(
                round((now - r["waiting_since"]).total_seconds() / 3600, 2)
                if r["waiting_since"]
                else None
            ),
            overdue=r["due_at"] is not None and r["due_at"] < now,
        )
        for r in rows
    ]


@router.get("/review-audit", summary="who submitted, assigned, reviewed and decided what, when")
async def audit(
    who: Recruiter,
    pool: Pool,
    edition_code: str | None = None,
    application_id: str | None = None,
    actor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEntry]:
    rows = await pool.fetch(
        f"""
        SELECT * FROM {review_audit.schema}.review_log
        WHERE ($1::text IS NULL OR edition_code = $1)
          AND ($2::text IS NULL OR application_id = $2)
          AND ($3::text IS NULL OR actor = $3 OR actor = 'user:' || $3)
        ORDER BY at, application_id, version
        LIMIT $4
        """,
        edition_code,
        application_id,
        actor,
        limit,
    )
    return [AuditEntry(**dict(r)) for r in rows]


@router.get("/directory", summary="approved exhibitors, searchable")
async def list_directory(
    who: Anyone,
    pool: Pool,
    edition_code: str | None = None,
    country_or_region: str | None = None,
    sector: str | None = None,
    participation_mode: Literal["offline", "online", "both"] | None = None,
    zone: Slug | None = None,
    theme: Theme | None = None,
    venue: Venue | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of a name")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DirectoryEntry]:
    rows = await pool.fetch(
        f"""
        SELECT * FROM {directory.schema}.exhibitors
        WHERE listed
          AND ($1::text IS NULL OR edition_code = $1)
          AND ($2::text IS NULL OR country_or_region = upper($2))
          AND ($3::text IS NULL OR sector = $3)
          AND ($4::text IS NULL OR participation_mode = $4)
          AND ($5::text IS NULL OR name_en ILIKE '%' || $5 || '%' OR name_zh LIKE '%' || $5 || '%')
          AND ($7::text IS NULL OR zone = $7)
          AND ($8::text IS NULL OR theme = $8)
          AND ($9::text IS NULL OR venue = $9)
        ORDER BY name_en
        LIMIT $6
        """,
        edition_code,
        country_or_region,
        sector,
        participation_mode,
        q,
        limit,
        zone,
        theme,
        venue,
    )
    return [DirectoryEntry(**{k: r[k] for k in DirectoryEntry.model_fields}) for r in rows]
