"""Business cards: my card, asking for someone's, answering, and who I have exchanged with.

Contact details travel only along accepted exchanges (domain/cards.py, `card_seen_by`).
Requests are rate-limited per requester (429 `rate_limited`, with `retry_after_seconds`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fairline_events.api import ErrorBody
from fairline_events.dependencies import Body, Pool, Store
from fairline_events.errors import Forbidden, NotFound
from fairline_events.store import EventStore
from fairline_events.transact import Outcome
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from .. import handlers
from ..domain.cards import (
    CARD,
    EXCHANGE,
    AcceptCards,
    Card,
    CardDetails,
    DeclineCards,
    Exchange,
    RequestCards,
    SaveCard,
    card_seen_by,
    exchange_id,
)
from ..domain.values import Identifier, Note
from ..projections import cards as cards_projection
from .common import AsParticipant, Participant, read

router = APIRouter(tags=["business cards"])


class CardRequest(Body):
    recipient: Identifier
    company_id: Identifier
    """The exhibitor at whose booth the exchange happens: one side must be its staff."""
    message: Note = ""


class CardView(BaseModel):
    person: str
    card: CardDetails
    version: int


class SeenCard(BaseModel):
    """The other party's card as you may see it: contact details only once accepted."""

    name: str
    title: str
    organisation: str
    country_or_region: str | None = None
    email: str | None = None
    phone: str | None = None


class ExchangeView(BaseModel):
    exchange_id: str
    status: str
    requester: str | None
    recipient: str | None
    company_id: str | None
    message: str
    counterpart: str | None
    counterpart_card: SeenCard | None
    version: int


async def _exchange_view(
    store: EventStore, state: Exchange, viewer: str, version: int
) -> ExchangeView:
    other = next((p for p in state.parties() if p != viewer), None)
    card = None
    if other is not None:
        card = (await read(store, CARD, other))[0].card
    seen = card_seen_by(viewer, state, card)
    return ExchangeView(
        exchange_id=state.exchange_id,
        status=state.status,
        requester=state.requester,
        recipient=state.recipient,
        company_id=state.company_id,
        message=state.message,
        counterpart=other,
        counterpart_card=SeenCard(**seen) if seen else None,
        version=version,
    )


@router.put("/me/card", summary="save the business card I give away in exchanges")
async def save_card(body: CardDetails, acting: AsParticipant) -> CardView:
    command = SaveCard(person=acting.who.subject, card=body)
    outcome = await handlers.save_card(acting.store, command, acting.context)
    stream = CARD.stream(acting.who.subject)
    state = outcome.state(stream, Card)
    assert state.card is not None
    return CardView(person=acting.who.subject, card=state.card, version=outcome.versions[stream])


@router.get("/me/card", summary="my business card")
async def my_card(who: Participant, store: Store) -> CardView:
    state, version = await read(store, CARD, who.subject)
    if state.card is None:
        raise NotFound("you have no business card yet; PUT /me/card", code="card_not_found")
    return CardView(person=who.subject, card=state.card, version=version)


@router.post(
    "/card-exchanges",
    status_code=201,
    summary="ask someone for their business card (429 when asking too often)",
    responses={429: {"model": ErrorBody, "description": "too many requests; see retry_after"}},
)
async def request_cards(
    body: CardRequest, acting: AsParticipant, response: Response
) -> ExchangeView:
    xid = exchange_id(acting.who.subject, body.recipient)
    command = RequestCards(
        exchange_id=xid,
        requester=acting.who.subject,
        recipient=body.recipient,
        company_id=body.company_id,
        message=body.message,
    )
    outcome = await handlers.request_cards(acting.store, command, acting.context)
    response.headers["Location"] = f"/card-exchanges/{xid}"
    return await _changed(acting.store, outcome, xid, acting.who.subject)


async def _changed(store: EventStore, outcome: Outcome, xid: str, viewer: str) -> ExchangeView:
    stream = EXCHANGE.stream(xid)
    return await _exchange_view(
        store, outcome.state(stream, Exchange), viewer, outcome.versions[stream]
    )


@router.post("/card-exchanges/{exchange_id}/accept", summary="accept: each sees the other's card")
async def accept(exchange_id: str, acting: AsParticipant) -> ExchangeView:
    command = AcceptCards(exchange_id=exchange_id, by=acting.who.subject)
    outcome = await handlers.answer_cards(acting.store, command, acting.context)
    return await _changed(acting.store, outcome, exchange_id, acting.who.subject)


@router.post("/card-exchanges/{exchange_id}/decline", summary="decline; they may not ask again")
async def decline(exchange_id: str, acting: AsParticipant) -> ExchangeView:
    command = DeclineCards(exchange_id=exchange_id, by=acting.who.subject)
    outcome = await handlers.answer_cards(acting.store, command, acting.context)
    return await _changed(acting.store, outcome, exchange_id, acting.who.subject)


@router.get("/card-exchanges/{exchange_id}", summary="an exchange, as one of its parties sees it")
async def get_exchange(exchange_id: str, who: Participant, store: Store) -> ExchangeView:
    state, version = await read(store, EXCHANGE, exchange_id)
    if state.status == "new":
        raise NotFound(f"card exchange {exchange_id} not found", code="exchange_not_found")
    if who.subject not in state.parties():
        raise Forbidden("this exchange is between other people", code="not_a_party")
    return await _exchange_view(store, state, who.subject, version)


class ExchangeEntry(BaseModel):
    exchange_id: str
    status: str
    requester: str
    recipient: str
    company_id: str
    counterpart: str
    counterpart_card: SeenCard | None


_MINE = f"""
SELECT x.exchange_id, x.status, x.requester, x.recipient, x.company_id, x.requested_at,
       o.person AS counterpart,
       c.name, c.title, c.organisation,
       -- contact details only along an accepted exchange; the requester sees nothing before
       CASE WHEN x.status = 'accepted' THEN c.country_or_region END AS country_or_region,
       CASE WHEN x.status = 'accepted' THEN c.email END AS email,
       CASE WHEN x.status = 'accepted' THEN c.phone END AS phone,
       (x.status = 'accepted' OR x.recipient = $1) AND c.person IS NOT NULL AS visible
FROM {cards_projection.schema}.exchanges x
CROSS JOIN LATERAL (
    SELECT CASE WHEN x.requester = $1 THEN x.recipient ELSE x.requester END AS person
) o
LEFT JOIN {cards_projection.schema}.cards c ON c.person = o.person
WHERE (x.requester = $1 OR x.recipient = $1)
  AND ($2::text[] IS NULL OR x.status = ANY($2))
ORDER BY x.requested_at DESC
LIMIT $3
"""


@router.get("/me/card-exchanges", summary="my card requests, sent and received, newest first")
async def my_exchanges(
    who: Participant,
    pool: Pool,
    status: Annotated[list[Literal["pending", "accepted", "declined"]] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ExchangeEntry]:
    rows = await pool.fetch(_MINE, who.subject, status, limit)
    return [
        ExchangeEntry(
            **{k: r[k] for k in ("exchange_id", "status", "requester", "recipient", "company_id")},
            counterpart=r["counterpart"],
            counterpart_card=SeenCard(**{k: r[k] for k in SeenCard.model_fields})
            if r["visible"]
            else None,
        )
        for r in rows
    ]


@router.get("/me/contacts", summary="everyone I have exchanged cards with, with their cards")
async def my_contacts(
    who: Participant, pool: Pool, limit: Annotated[int, Query(ge=1, le=500)] = 200
) -> list[ExchangeEntry]:
    return await my_exchanges(who, pool, ["accepted"], limit)
