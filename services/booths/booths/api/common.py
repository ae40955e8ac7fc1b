"""What booths routes share beyond `fairline_events.dependencies`: who may call, the views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, TypeVar

from fairline_events.auth import Principal, require
from fairline_events.decider import Fold
from fairline_events.dependencies import Acting, acting
from fairline_events.store import EventStore
from fastapi import Depends
from pydantic import BaseModel

from ..domain.booth import Booth
from ..domain.catalogue import CATALOGUE, edition_stream, require_open
from ..domain.pricing import PRICES, prices_stream
from ..domain.sales import Market
from ..domain.values import BoothSpec, ContractTerms, Quote

Sales = Annotated[Principal, Depends(require("sales"))]
Ops = Annotated[Principal, Depends(require("ops"))]
SalesOrExhibitor = Annotated[Principal, Depends(require("sales", "exhibitor"))]
SalesOrOps = Annotated[Principal, Depends(require("sales", "ops"))]
Anyone = Annotated[Principal, Depends(require())]

# The role checks of commands: each also brings the store and the command's context, one
# dependency per route (fairline_events.dependencies.Acting).
AsSales = Annotated[Acting, Depends(acting("sales"))]
AsReviewer = Annotated[Acting, Depends(acting("ops"))]
AsOps = Annotated[Acting, Depends(acting("ops"))]
AsSalesOrExhibitor = Annotated[Acting, Depends(acting("sales", "exhibitor"))]


S = TypeVar("S")


async def current(store: EventStore, fold: Fold[S], stream_id: str) -> S:
    """A stream's state now, for a view (a read: no command, no lock)."""
    state, _ = await store.load(stream_id, fold.evolve, fold.initial(stream_id))
    return state


async def market_now(store: EventStore, edition_code: str) -> Market:
    """The edition's catalogue and prices, for a view; `edition_not_found` when the edition
    never opened sales."""
    edition, price_lists = edition_stream(edition_code), prices_stream(edition_code)
    [(found, _), (prices, _)] = await store.load_many(
        [
            (edition, CATALOGUE.evolve, CATALOGUE.initial(edition)),
            (price_lists, PRICES.evolve, PRICES.initial(price_lists)),
        ]
    )
    require_open(found)
    return Market(catalogue=found, prices=prices)


def acting_as(who: Principal) -> str | None:
    """The company user a command is checked against; None for the sales desk."""
    return None if who.has_any(("sales",)) else who.subject


class ContractView(BaseModel):
    contract_id: str
    exhibitor_id: str
    price_fen: int
    deposit_fen: int
    paid_fen: int
    outstanding_fen: int
    rule_version: int
    flag: str | None
    terms: ContractTerms


class BoothView(BaseModel):
    edition_code: str
    booth_code: str
    spec: BoothSpec
    status: str
    holder: str | None
    hold_expires_at: datetime | None
    hold_quote: Quote | None
    offer_until: datetime | None
    contract: ContractView | None


def booth_view(booth: Booth) -> BoothView:
    contract = None
    if booth.contract is not None:
        c = booth.contract
        contract = ContractView(
            contract_id=c.contract_id,
            exhibitor_id=c.exhibitor_id,
            price_fen=c.terms.price_fen,
            deposit_fen=c.terms.deposit_fen,
            paid_fen=c.paid_fen,
            outstanding_fen=c.outstanding_fen,
            rule_version=c.terms.quote.rule_version,
            flag=c.flag,
            terms=c.terms,
        )
    return BoothView(
        edition_code=booth.edition_code,
        booth_code=booth.booth_code,
        spec=booth.listed(),
        status=booth.status,
        holder=booth.holder,
        hold_expires_at=booth.hold_expires_at,
        hold_quote=booth.hold_quote,
        offer_until=booth.offer_until,
        contract=contract,
    )


def public_booth_view(booth: Booth) -> BoothView:
    """What anyone signed in may see of a booth: where it is, what it is and its status; who
    holds it and on what money stays with the holder, the sales desk and operations."""
    return BoothView(
        edition_code=booth.edition_code,
        booth_code=booth.booth_code,
        spec=booth.listed(),
        status=booth.status,
        holder=None,
        hold_expires_at=None,
        hold_quote=None,
        offer_until=None,
        contract=None,
    )


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
