"""An edition's settings in this service: the review deadline of its applications."""

from __future__ import annotations

from fairline_events.decider import handle
from fastapi import APIRouter
from pydantic import BaseModel, Field

from ..domain.edition import SetReviewSla
from ..domain.values import EditionCode
from ..streams import edition_stream, editions
from .common import Body, CommandRoute, Correlation, Recruiter, Store, context

router = APIRouter(tags=["editions"], route_class=CommandRoute)


class ReviewSla(Body):
    hours: int = Field(ge=1, le=24 * 90, description="hours from submission to a decision")


class ReviewSlaView(BaseModel):
    edition_code: str
    hours: int


@router.put("/editions/{edition_code}/review-sla", summary="set how long a review may take")
async def set_review_sla(
    edition_code: EditionCode,
    body: ReviewSla,
    who: Recruiter,
    store: Store,
    correlation: Correlation = None,
) -> ReviewSlaView:
    command = SetReviewSla(edition_code=edition_code, hours=body.hours)
    state, _ = await handle(
        store, editions, edition_stream(edition_code), command, context(who, correlation)
    )
    return ReviewSlaView(edition_code=edition_code, hours=state.review_sla_hours)


@router.get("/editions/{edition_code}/review-sla", summary="how long a review may take")
async def get_review_sla(edition_code: EditionCode, who: Recruiter, store: Store) -> ReviewSlaView:
    stream = edition_stream(edition_code)
    state, _ = await store.load(stream, editions.evolve, editions.initial(stream))
    return ReviewSlaView(edition_code=edition_code, hours=state.review_sla_hours)
