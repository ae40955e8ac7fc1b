"""Business-card exchange: who sees what, who may ask again, and how often one may ask."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import reduce

import pytest
from exhibitors.domain.cards import (
    AcceptCards,
    CardDetails,
    CardRequestDeclined,
    CardsExchanged,
    CardsRequested,
    CountRequest,
    DeclineCards,
    Exchange,
    RateLimit,
    RateLimited,
    RequestCards,
    RequestWindow,
    card_seen_by,
    decide_exchange,
    decide_window,
    evolve_exchange,
    evolve_window,
    exchange_id,
    initial_exchange,
    initial_window,
)
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent

XID = exchange_id("visitor", "staff")
ASK = RequestCards(exchange_id=XID, requester="visitor", recipient="staff", company_id="co-1")
ASKED = CardsRequested(**ASK.model_dump())
CARD = CardDetails(
    name="Li Lei",
    title="buyer",
    organisation="Bank",
    email="li@example.com",
    phone="+86 10 1111 2222",
)
T0 = datetime(2021, 9, 2, 9, 0, tzinfo=UTC)


def exchange(*events: DomainEvent) -> Exchange:
    return reduce(evolve_exchange, events, initial_exchange(XID))


def window(*ats: datetime) -> RequestWindow:
    state = initial_window("visitor")
    for at in ats:
        [event] = decide_window(
            CountRequest(requester="visitor", exchange_id=XID, at=at),
            state,
            RateLimit(limit=1000, window=timedelta(hours=1)),
        )
        state = evolve_window(state, event)
    return state


def test_the_exchange_between_two_people_is_one_whoever_asks() -> None:
    assert exchange_id("a", "b") == exchange_id("b", "a") != exchange_id("a", "c")


def test_asking_then_accepting_exchanges_cards() -> None:
    assert decide_exchange(ASK, exchange()) == [ASKED]
    accepted = decide_exchange(AcceptCards(exchange_id=XID, by="staff"), exchange(ASKED))
    assert accepted == [
        CardsExchanged(exchange_id=XID, requester="visitor", recipient="staff", company_id="co-1")
    ]
    assert exchange(ASKED, *accepted).status == "accepted"
    with pytest.raises(Conflict) as exc:
        decide_exchange(ASK, exchange(ASKED, *accepted))
    assert exc.value.code == "already_exchanged"


def test_only_the_recipient_answers() -> None:
    with pytest.raises(DomainError) as exc:
        decide_exchange(AcceptCards(exchange_id=XID, by="visitor"), exchange(ASKED))
    assert exc.value.code == "not_awaiting_you"
    with pytest.raises(Forbidden):
        decide_exchange(AcceptCards(exchange_id=XID, by="someone"), exchange(ASKED))
    with pytest.raises(NotFound):
        decide_exchange(DeclineCards(exchange_id=XID, by="staff"), exchange())


def test_asking_twice_or_crosswise_is_a_conflict() -> None:
    with pytest.raises(Conflict) as exc:
        decide_exchange(ASK, exchange(ASKED))
    assert exc.value.code == "already_requested"
    crosswise = RequestCards(
        exchange_id=XID, requester="staff", recipient="visitor", company_id="co-1"
    )
    with pytest.raises(Conflict) as exc:
        decide_exchange(crosswise, exchange(ASKED))
    assert exc.value.code == "awaiting_your_answer"


def test_a_declined_requester_may_not_ask_again_but_the_decliner_may() -> None:
    declined = decide_exchange(DeclineCards(exchange_id=XID, by="staff"), exchange(ASKED))
    assert declined == [
        CardRequestDeclined(exchange_id=XID, requester="visitor", recipient="staff")
    ]
    state = exchange(ASKED, *declined)
    with pytest.raises(Forbidden) as exc:
        decide_exchange(ASK, state)
    assert exc.value.code == "request_declined"
    later = RequestCards(exchange_id=XID, requester="staff", recipient="visitor", company_id="co-1")
    assert decide_exchange(later, state)


def test_nobody_asks_themselves_or_through_the_wrong_exchange() -> None:
    with pytest.raises(DomainError, match="themselves"):
        decide_exchange(
            RequestCards(
                exchange_id=exchange_id("a", "a"), requester="a", recipient="a", company_id="c"
            ),
            initial_exchange(exchange_id("a", "a")),
        )
    with pytest.raises(DomainError) as exc:
        decide_exchange(ASK.model_copy(update={"recipient": "other"}), exchange())
    assert exc.value.code == "wrong_exchange"


def test_who_sees_what_of_a_card() -> None:
    pending = exchange(ASKED)
    accepted = exchange(
        ASKED,
        CardsExchanged(exchange_id=XID, requester="visitor", recipient="staff", company_id="co-1"),
    )
    declined = exchange(
        ASKED, CardRequestDeclined(exchange_id=XID, requester="visitor", recipient="staff")
    )
    intro = {"name": "Li Lei", "title": "buyer", "organisation": "Bank"}
    # The recipient sees who asks, never their contact details before accepting.
    assert card_seen_by("staff", pending, CARD) == intro
    assert card_seen_by("staff", declined, CARD) == intro
    # The requester sees nothing of the recipient until accepted.
    assert card_seen_by("visitor", pending, CARD) is None
    assert card_seen_by("visitor", declined, CARD) is None
    # Accepted: both see everything; outsiders never see anything.
    assert card_seen_by("visitor", accepted, CARD) == CARD.model_dump()
    assert card_seen_by("staff", accepted, CARD) == CARD.model_dump()
    assert card_seen_by("outsider", accepted, CARD) is None
    assert card_seen_by("staff", pending, None) is None


def test_requests_are_limited_in_any_rolling_window() -> None:
    limit = RateLimit(limit=3, window=timedelta(hours=1))
    state = window(T0, T0 + timedelta(minutes=10), T0 + timedelta(minutes=20))
    ask = CountRequest(requester="visitor", exchange_id=XID, at=T0 + timedelta(minutes=30))
    with pytest.raises(RateLimited) as exc:
        decide_window(ask, state, limit)
    assert exc.value.status == 429 and exc.value.code == "rate_limited"
    # The oldest of the three leaves the window at 10:00, 30 minutes later.
    assert exc.value.details["retry_after_seconds"] == 30 * 60 + 1
    later = ask.model_copy(update={"at": T0 + timedelta(hours=1, seconds=1)})
    assert decide_window(later, state, limit)


def test_the_window_keeps_only_what_a_limit_needs() -> None:
    state = window(*(T0 + timedelta(seconds=i) for i in range(150)))
    assert len(state.recent) == 100 and state.recent[-1] == T0 + timedelta(seconds=149)
