"""An edition's settings in this service: the review deadline of its applications."""

from __future__ import annotations

from fairline_events.dependencies import Body, Store
from fastapi import APIRouter
from pydantic import BaseModel, Field

from .. import handlers
from ..domain.edition import EDITION, Edition, SetReviewSla
from ..domain.values import EditionCode
from .common import AsRecruiter, Recruiter, read

router = APIRouter(tags=["editions"])


class ReviewSla(Body):
    hours: int = Field(ge=1, le=24 * 90, description="hours from submission to a decision")


class ReviewSlaView(BaseModel):
    edition_code: str
    hours: int


@router.put("/editions/{edition_code}/review-sla", summary="set how long a review may take")
async def set_review_sla(
    edition_code: EditionCode, body: ReviewSla, acting: AsRecruiter
) -> ReviewSlaView:
    command = SetReviewSla(edition_code=edition_code, hours=body.hours)
    outcome = await handlers.set_review_sla(acting.store, command, acting.context)
    state = outcome.state(EDITION.stream(edition_code), Edition)
    return ReviewSlaView(edition_code=edition_code, hours=state.review_sla_hours)


@router.get("/editions/{edition_code}/review-sla", summary="how long a review may take")
async def get_review_sla(edition_code: EditionCode, who: Recruiter, store: Store) -> ReviewSlaView:
    state, _ = await read(store, EDITION, edition_code)
    return ReviewSlaView(edition_code=edition_code, hours=state.review_sla_hours)
