"""Price lists with provenance, and quotes that name the rule version that priced them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fairline_events.dependencies import Body, Now, Store
from fairline_events.errors import NotFound
from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, Field

from ..domain import pricing
from ..domain.booth import BOOTH, booth_stream
from ..domain.commands import PublishPriceList
from ..domain.events import PriceListPublished
from ..domain.pricing import prices_stream
from ..domain.values import (
    BasisPoints,
    CancellationTier,
    Code,
    EditionCode,
    Note,
    PositiveFen,
    Quote,
    Rate,
    Surcharges,
)
from ..handlers import publish_price_list
from .common import Anyone, AsSales, current, market_now

router = APIRouter(tags=["prices"])


class PriceRules(Body):
    note: Note
    rates: list[Rate] = Field(min_length=1)
    surcharges: Surcharges = Surcharges()
    early_bird_deadline: AwareDatetime | None = None
    early_bird_discount_bp: Annotated[int, Field(ge=0, le=9_000)] = 0
    deposit_bp: BasisPoints = 3_000
    cancellation: list[CancellationTier] = Field(default_factory=list)
    online_packages: dict[str, PositiveFen] = Field(default_factory=dict)


class PriceListView(BaseModel):
    version: int
    published_at: datetime
    published_by: str
    rules: PriceListPublished


@router.post(
    "/editions/{edition_code}/price-lists",
    status_code=201,
    summary="publish a new version of the price rules",
)
async def publish(
    edition_code: EditionCode,
    body: PriceRules,
    acting: AsSales,
    response: Response,
) -> PriceListView:
    command = PublishPriceList(
        edition_code=edition_code,
        note=body.note,
        rates=tuple(body.rates),
        surcharges=body.surcharges,
        early_bird_deadline=body.early_bird_deadline,
        early_bird_discount_bp=body.early_bird_discount_bp,
        deposit_bp=body.deposit_bp,
        cancellation=tuple(body.cancellation),
        online_packages=body.online_packages,
    )
    outcome = await publish_price_list(
        acting.store, command, acting.context.because(body.note or None)
    )
    [envelope] = outcome.envelopes
    rules = envelope.event(acting.store.registry)
    assert isinstance(rules, PriceListPublished)
    response.headers["Location"] = f"/editions/{edition_code}/price-lists/{rules.version}"
    return PriceListView(
        version=rules.version,
        published_at=envelope.occurred_at,
        published_by=envelope.actor,
        rules=rules,
    )


@router.get(
    "/editions/{edition_code}/price-lists",
    summary="every version of the price rules, with who published it and when",
)
async def history(edition_code: EditionCode, who: Anyone, store: Store) -> list[PriceListView]:
    envelopes = await store.read_stream(prices_stream(edition_code))
    views = []
    for envelope in envelopes:
        rules = envelope.event(store.registry)
        assert isinstance(rules, PriceListPublished)
        views.append(
            PriceListView(
                version=rules.version,
                published_at=envelope.occurred_at,
                published_by=envelope.actor,
                rules=rules,
            )
        )
    return views


@router.get(
    "/editions/{edition_code}/booths/{booth_code}/quote",
    summary="today's price of a booth under the current rules",
)
async def quote(
    edition_code: EditionCode, booth_code: Code, who: Anyone, store: Store, clock: Now
) -> Quote:
    market = await market_now(store, edition_code)
    state = await current(store, BOOTH, booth_stream(edition_code, booth_code))
    if state.spec is None:
        raise NotFound(f"booth {booth_code} not found", code="booth_not_found")
    return pricing.quote(state.spec, market.prices.current, clock())
