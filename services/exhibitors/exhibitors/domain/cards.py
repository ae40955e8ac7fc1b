"""Business-card exchange (线上名片交换) between visitors and exhibitors' staff.

Three deciders:
- a person's card (`card-<person>`): what they are willing to give;
- an exchange between two people (`card-exchange-<pair>`, one stream per pair whoever asks):
  requested, then accepted or declined by the recipient. Only once accepted does each see
  the other's contact details; before that the recipient sees who asks (name, title,
  organisation) and the requester sees nothing of the recipient. A declined requester may
  not ask again; the one who declined may ask later;
- a requester's rate window (`card-requests-<person>`): at most `limit` requests in any
  rolling `window`. It is appended in the same transaction as the exchange, so the limit
  holds across replicas and under concurrent requests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal, assert_never

from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from pydantic import AwareDatetime, BaseModel, ConfigDict

from .aggregate import Aggregate, Decision
from .company import Company
from .events import registry
from .values import CountryOrRegion, Email, Identifier, Name, Note, Phone


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


@dataclass(frozen=True)
class RateLimit:
    limit: int
    window: timedelta


CARD_REQUESTS = RateLimit(limit=20, window=timedelta(hours=1))
"""At most 20 card requests per requester in any hour."""


class CardDetails(BaseModel):
    """A business card; email and phone are what an accepted exchange gives away."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Name
    title: Note = ""
    organisation: Note = ""
    country_or_region: CountryOrRegion | None = None
    email: Email | None = None
    phone: Phone | None = None

    def introduction(self) -> dict[str, Any]:
        """What a recipient sees of someone asking for their card: no contact details."""
        return {"name": self.name, "title": self.title, "organisation": self.organisation}


def exchange_id(a: str, b: str) -> str:
    """The one exchange between two people, whoever asks first."""
    low, high = sorted((a, b))
    return "cx-" + hashlib.sha256(f"{low}\n{high}".encode()).hexdigest()[:24]


# --- commands ------------------------------------------------------------------------------


class SaveCard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    person: Identifier
    card: CardDetails


class RequestCards(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_id: Identifier
    requester: Identifier
    recipient: Identifier
    company_id: Identifier
    """The exhibitor at whose booth the exchange happens (one side is its staff)."""
    message: Note = ""


class AcceptCards(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_id: Identifier
    by: Identifier


class DeclineCards(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    exchange_id: Identifier
    by: Identifier


ExchangeCommand = RequestCards | AcceptCards | DeclineCards


class CountRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    requester: Identifier
    exchange_id: Identifier
    at: AwareDatetime


# --- events --------------------------------------------------------------------------------


@registry.event("exhibitors.CardSaved", version=1)
class CardSaved(DomainEvent):
    person: Identifier
    card: CardDetails


@registry.event("exhibitors.CardsRequested", version=1)
class CardsRequested(DomainEvent):
    exchange_id: Identifier
    requester: Identifier
    recipient: Identifier
    company_id: Identifier
    message: Note = ""


@registry.event("exhibitors.CardsExchanged", version=1)
class CardsExchanged(DomainEvent):
    """The recipient accepted: from now on each sees the other's card."""

    exchange_id: Identifier
    requester: Identifier
    recipient: Identifier
    company_id: Identifier


@registry.event("exhibitors.CardRequestDeclined", version=1)
class CardRequestDeclined(DomainEvent):
    exchange_id: Identifier
    requester: Identifier
    recipient: Identifier


@registry.event("exhibitors.CardRequestCounted", version=1)
class CardRequestCounted(DomainEvent):
    requester: Identifier
    exchange_id: Identifier
    at: AwareDatetime


# --- a card --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    person: str
    card: CardDetails | None = None


def initial_card(person: str) -> Card:
    return Card(person=person)


def decide_card(command: SaveCard, state: Card) -> list[DomainEvent]:
    if command.card == state.card:
        return []
    return [CardSaved(person=state.person, card=command.card)]


def evolve_card(state: Card, event: DomainEvent) -> Card:
    if isinstance(event, CardSaved):
        return replace(state, card=event.card)
    return state


# --- an exchange ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    exchange_id: str
    status: Literal["new", "pending", "accepted", "declined"] = "new"
    requester: str | None = None
    recipient: str | None = None
    company_id: str | None = None
    message: str = ""
    declined_requester: str | None = None
    """Who was turned down: they may not ask again."""

    def parties(self) -> tuple[str, ...]:
        return tuple(p for p in (self.requester, self.recipient) if p is not None)

    def sees_contact_details_of(self, viewer: str, owner: str) -> bool:
        return self.status == "accepted" and {viewer, owner} == set(self.parties())


def initial_exchange(exchange_id: str) -> Exchange:
    return Exchange(exchange_id=exchange_id)


def decide_exchange(command: ExchangeCommand, state: Exchange) -> list[DomainEvent]:
    xid = state.exchange_id
    match command:
        case RequestCards(requester=requester, recipient=recipient):
            if requester == recipient:
                raise DomainError("nobody exchanges cards with themselves", code="own_card")
            if exchange_id(requester, recipient) != xid:
                raise DomainError(f"exchange {xid} is between other people", code="wrong_exchange")
            if state.status == "accepted":
                raise Conflict("you have exchanged cards already", code="already_exchanged")
            if state.status == "pending":
                if state.requester == requester:
                    raise Conflict(
                        "you asked already; wait for the answer", code="already_requested"
                    )
                raise Conflict(
                    f"{state.requester} asked you already; accept or decline",
                    code="awaiting_your_answer",
                )
            if state.declined_requester == requester:
                raise Forbidden(f"{recipient} declined your request", code="request_declined")
            return [CardsRequested(**command.model_dump())]
        case AcceptCards(by=by) | DeclineCards(by=by):
            if state.status == "new":
                raise NotFound(f"card exchange {xid} not found", code="exchange_not_found")
            if by not in state.parties():
                raise Forbidden("this exchange is between other people", code="not_a_party")
            if state.status != "pending":
                raise DomainError(
                    f"card exchange {xid} is {state.status}",
                    code="illegal_transition",
                    **{"from": state.status, "command": type(command).__name__},
                )
            if by != state.recipient:
                raise DomainError("the recipient answers a request", code="not_awaiting_you")
            assert state.requester is not None and state.company_id is not None
            if isinstance(command, AcceptCards):
                return [
                    CardsExchanged(
                        exchange_id=xid,
                        requester=state.requester,
                        recipient=by,
                        company_id=state.company_id,
                    )
                ]
            return [CardRequestDeclined(exchange_id=xid, requester=state.requester, recipient=by)]
        case _:
            assert_never(command)


def evolve_exchange(state: Exchange, event: DomainEvent) -> Exchange:
    match event:
        case CardsRequested():
            return replace(
                state,
                status="pending",
                requester=event.requester,
                recipient=event.recipient,
                company_id=event.company_id,
                message=event.message,
            )
        case CardsExchanged():
            return replace(state, status="accepted")
        case CardRequestDeclined():
            return replace(state, status="declined", declined_requester=event.requester)
        case _:
            return state


# --- a requester's rate window -------------------------------------------------------------


@dataclass(frozen=True)
class RequestWindow:
    requester: str
    recent: tuple[datetime, ...] = ()
    """The times of the latest requests (as many as any limit needs), oldest first."""


KEPT = 100


def initial_window(requester: str) -> RequestWindow:
    return RequestWindow(requester=requester)


def decide_window(
    command: CountRequest, state: RequestWindow, limit: RateLimit = CARD_REQUESTS
) -> list[DomainEvent]:
    since = command.at - limit.window
    in_window = [t for t in state.recent if t > since]
    if len(in_window) >= limit.limit:
        retry_at = in_window[-limit.limit] + limit.window
        raise RateLimited(
            f"at most {limit.limit} card requests per {limit.window}; try again later",
            limit=limit.limit,
            window_seconds=int(limit.window.total_seconds()),
            retry_after_seconds=max(1, int((retry_at - command.at).total_seconds()) + 1),
        )
    return [CardRequestCounted(**command.model_dump())]


def evolve_window(state: RequestWindow, event: DomainEvent) -> RequestWindow:
    if isinstance(event, CardRequestCounted):
        return replace(state, recent=(*state.recent, event.at)[-KEPT:])
    return state


CARD: Aggregate[Card] = Aggregate("business-card-", initial_card, evolve_card)
EXCHANGE: Aggregate[Exchange] = Aggregate("card-exchange-", initial_exchange, evolve_exchange)
WINDOW: Aggregate[RequestWindow] = Aggregate("card-requests-", initial_window, evolve_window)


def request(
    command: RequestCards,
    *,
    company: Company,
    requester_card: Card,
    exchange: Exchange,
    window: RequestWindow,
    now: datetime,
    limit: RateLimit = CARD_REQUESTS,
) -> Decision:
    """Ask for someone's card: with a card of one's own, across the company's staff, counted
    in the requester's window in the same transaction (so the limit holds under races)."""
    if not company.registered:
        raise NotFound(f"company {company.company_id} not found", code="company_not_found")
    if not (company.is_staff(command.requester) or company.is_staff(command.recipient)):
        raise Forbidden(
            f"cards are exchanged with the staff of {company.company_id}",
            code="no_company_staff",
        )
    _require_card(requester_card)
    count = CountRequest(requester=command.requester, exchange_id=command.exchange_id, at=now)
    return {
        EXCHANGE.stream(command.exchange_id): decide_exchange(command, exchange),
        WINDOW.stream(command.requester): decide_window(count, window, limit),
    }


def answer(
    command: AcceptCards | DeclineCards, *, exchange: Exchange, own_card: Card
) -> list[DomainEvent]:
    """Accept (with a card of one's own to give) or decline a request."""
    if isinstance(command, AcceptCards):
        _require_card(own_card)
    return decide_exchange(command, exchange)


def _require_card(card: Card) -> None:
    if card.card is None:
        raise NotFound("you have no business card yet (PUT /me/card)", code="card_required")


def card_seen_by(
    viewer: str, exchange: Exchange, card: CardDetails | None
) -> dict[str, Any] | None:
    """What `viewer` sees of the other party's card in `exchange`: the privacy rule, once.

    Accepted: the whole card. Asked but not (yet) accepted: the recipient sees who asks,
    without contact details; the requester sees nothing. Anyone else: nothing.
    """
    if card is None or viewer not in exchange.parties():
        return None
    if exchange.status == "accepted":
        return card.model_dump()
    if viewer == exchange.recipient and exchange.status in ("pending", "declined"):
        return card.introduction()
    return None
