"""Impressions and clicks from the ad servers, in batches, each counted once by its own id."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Literal

from fairline_events.dependencies import Body, Pool
from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from ..domain.values import Identifier
from .common import AdServer

router = APIRouter(tags=["delivery"])

FAIR_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")
"""Delivery is counted per fair-local day, the day a placement is sold for."""


class DeliveryEvent(Body):
    event_id: uuid.UUID
    kind: Literal["impression", "click"]
    booking_id: Identifier
    at: AwareDatetime


class DeliveryBatch(Body):
    events: list[DeliveryEvent] = Field(min_length=1, max_length=20_000)


class Ingested(BaseModel):
    received: int
    counted: int
    """New events; the rest were seen before (a replayed batch counts nothing twice)."""


# One statement: the new ids are inserted and, from exactly those, the counts grow.
INGEST = """
WITH new AS (
    INSERT INTO delivery_events (event_id, booking_id, kind, day)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::date[])
    ON CONFLICT (event_id) DO NOTHING
    RETURNING booking_id, kind, day
), counted AS (
    INSERT INTO delivery_counts AS c (booking_id, day, impressions, clicks)
    SELECT booking_id, day, count(*) FILTER (WHERE kind = 'impression'),
           count(*) FILTER (WHERE kind = 'click')
    FROM new GROUP BY booking_id, day
    ORDER BY booking_id, day
    ON CONFLICT (booking_id, day) DO UPDATE
      SET impressions = c.impressions + excluded.impressions, clicks = c.clicks + excluded.clicks
)
SELECT count(*) FROM new
"""


def _day(at: datetime) -> object:
    return at.astimezone(FAIR_TIME).date()


@router.post(
    "/delivery/events",
    summary="Post a batch of impressions and clicks (ad servers); each id is counted once",
)
async def ingest(batch: DeliveryBatch, who: AdServer, pool: Pool) -> Ingested:
    unique = {e.event_id: e for e in batch.events}  # an id twice in one batch counts once
    events = list(unique.values())
    counted = await pool.fetchval(
        INGEST,
        [e.event_id for e in events],
        [e.booking_id for e in events],
        [e.kind for e in events],
        [_day(e.at) for e in events],
    )
    return Ingested(received=len(batch.events), counted=int(counted or 0))
