"""Construction review of raw space: submit a design, review it, see every version."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fairline_events.context import CommandContext
from fairline_events.dependencies import Body, Pool, Store
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ..domain.commands import ApproveDesign, ReturnDesign, SubmitDesign
from ..domain.construction import DESIGN, Design, design_stream
from ..domain.events import DesignSubmitted
from ..domain.values import Code, Contractor, Drawing, EditionCode, Identifier, Material, Note, Text
from ..handlers import review_design
from ..projections import designs
from .common import (
    Anyone,
    AsReviewer,
    AsSalesOrExhibitor,
    SalesOrOps,
    acting_as,
    current,
)

router = APIRouter(tags=["construction review"])


class DesignRequest(Body):
    exhibitor_id: Identifier
    contractor: Contractor
    drawings: list[Drawing] = Field(min_length=1)
    materials: list[Material] = Field(min_length=1)
    note: Note = ""


class Verdict(Body):
    comments: Note = ""


class Return(Body):
    comments: Text


class DesignView(BaseModel):
    edition_code: str
    booth_code: str
    status: str
    version: int
    last_comments: str
    versions: list[DesignSubmitted]


class QueueEntry(BaseModel):
    edition_code: str
    booth_code: str
    exhibitor_id: str
    version: int
    status: str
    contractor: str
    materials: int
    low_carbon: int
    reusable: int
    submitted_at: datetime
    reviewer: str | None
    comments: str | None


def view(design: Design) -> DesignView:
    return DesignView(
        edition_code=design.edition_code,
        booth_code=design.booth_code,
        status=design.status,
        version=design.version,
        last_comments=design.last_comments,
        versions=list(design.versions),
    )


async def _decide(
    store: Store, command: SubmitDesign | ApproveDesign | ReturnDesign, context: CommandContext
) -> DesignView:
    outcome = await review_design(store, command, context)
    return view(outcome.state(design_stream(command.edition_code, command.booth_code), Design))


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/designs",
    status_code=201,
    summary="submit a construction design for a raw-space booth (a new version)",
)
async def submit(
    edition_code: EditionCode,
    booth_code: Code,
    body: DesignRequest,
    acting: AsSalesOrExhibitor,
) -> DesignView:
    command = SubmitDesign(
        edition_code=edition_code,
        booth_code=booth_code,
        exhibitor_id=body.exhibitor_id,
        contractor=body.contractor,
        drawings=tuple(body.drawings),
        materials=tuple(body.materials),
        note=body.note,
        by=acting_as(acting.who),
    )
    return await _decide(acting.store, command, acting.context)


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/designs/{version}/approve",
    summary="approve a design version (construction reviewer)",
)
async def approve(
    edition_code: EditionCode,
    booth_code: Code,
    version: int,
    body: Verdict,
    acting: AsReviewer,
) -> DesignView:
    command = ApproveDesign(
        edition_code=edition_code,
        booth_code=booth_code,
        version=version,
        reviewer=acting.who.subject,
        comments=body.comments,
    )
    return await _decide(acting.store, command, acting.context.because(body.comments or None))


@router.post(
    "/editions/{edition_code}/booths/{booth_code}/designs/{version}/return",
    summary="return a design version with comments (construction reviewer)",
)
async def return_design(
    edition_code: EditionCode,
    booth_code: Code,
    version: int,
    body: Return,
    acting: AsReviewer,
) -> DesignView:
    command = ReturnDesign(
        edition_code=edition_code,
        booth_code=booth_code,
        version=version,
        reviewer=acting.who.subject,
        comments=body.comments,
    )
    return await _decide(acting.store, command, acting.context.because(body.comments or None))


@router.get(
    "/editions/{edition_code}/booths/{booth_code}/designs",
    summary="every version of the booth's design and the latest verdict",
)
async def versions(
    edition_code: EditionCode, booth_code: Code, who: Anyone, store: Store
) -> DesignView:
    design = await current(store, DESIGN, design_stream(edition_code, booth_code))
    return view(design)


@router.get("/editions/{edition_code}/designs", summary="the construction review queue")
async def queue(
    edition_code: EditionCode,
    who: SalesOrOps,
    pool: Pool,
    status: Literal["submitted", "approved", "returned"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[QueueEntry]:
    rows = await pool.fetch(
        f"""SELECT * FROM {designs.schema}.designs
            WHERE edition_code = $1 AND ($2::text IS NULL OR status = $2)
            ORDER BY submitted_at LIMIT $3""",
        edition_code,
        status,
        limit,
    )
    return [QueueEntry(**{k: r[k] for k in QueueEntry.model_fields}) for r in rows]
