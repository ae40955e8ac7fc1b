"""What every booths route shares: who may call, the store, the clock, the views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
from fairline_events.auth import Principal, require
from fairline_events.context import CommandContext, request_context
from fairline_events.service import pool_of, store_of
from fairline_events.store import EventStore
from fastapi import Depends, Header
from pydantic import BaseModel, ConfigDict

from ..domain.booth import Booth
from ..domain.values import BoothSpec, ContractTerms, Quote

Store = Annotated[EventStore, Depends(store_of)]
Pool = Annotated[asyncpg.Pool, Depends(pool_of)]
Correlation = Annotated[str | None, Header(alias="X-Correlation-ID")]
Sales = Annotated[Principal, Depends(require("sales"))]
Reviewer = Annotated[Principal, Depends(require("ops"))]
Ops = Annotated[Principal, Depends(require("ops"))]
SalesOrExhibitor = Annotated[Principal, Depends(require("sales", "exhibitor"))]
SalesOrOps = Annotated[Principal, Depends(require("sales", "ops"))]
Anyone = Annotated[Principal, Depends(require())]


def now() -> datetime:
    return datetime.now(UTC)


def acting_as(who: Principal) -> str | None:
    """The company user a command is checked against; None for the sales desk."""
    return None if who.has_any(("sales",)) else who.subject


def context(who: Principal, correlation: str | None, reason: str | None = None) -> CommandContext:
    return request_context(who.actor, correlation_id=correlation, reason=reason)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


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


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
