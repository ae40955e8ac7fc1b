"""Commands that span streams: a booth, the exhibitor's account, the zone's waitlist.

The single-stream commands go through `fairline_events.decider.handle`, the others through
`fairline_events.transact` (locks, one transaction, retries on fresh state). What is
booths' own is the shape of a decision: it takes the states of the streams it names, in
order, and returns events that each name their stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.decider import Decider, Fold
from fairline_events.envelope import Envelope
from fairline_events.errors import Conflict
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore
from fairline_events.transact import Decision, Streams, by_stream, transact

from .domain import account, booth, catalogue, construction, online, pricing, streams, waitlist
from .domain.events import BoothsEvent
from .domain.sales import Market

catalogues = Decider(initial=catalogue.initial, decide=catalogue.decide, evolve=catalogue.evolve)
price_lists = Decider(initial=pricing.initial, decide=pricing.decide, evolve=pricing.evolve)
booths = Decider(initial=booth.initial, decide=booth.decide, evolve=booth.evolve)
accounts = Decider(initial=account.initial, decide=account.decide, evolve=account.evolve)
BOOTH = Fold(booth.initial, booth.evolve)
ACCOUNT = Fold(account.initial, account.evolve)
WAITLIST = Fold(waitlist.initial, waitlist.evolve)
DESIGN = Fold(construction.initial, construction.evolve)
ONLINE = Fold(online.initial, online.evolve)
CATALOGUE = Fold(catalogue.initial, catalogue.evolve)


async def load(
    store: EventStore, fold: Fold[Any], stream_id: str, connection: asyncpg.Connection | None = None
) -> Any:
    state, _ = await store.load(stream_id, fold.evolve, fold.initial(stream_id), connection)
    return state


async def load_market(
    store: EventStore, edition_code: str, connection: asyncpg.Connection | None = None
) -> Market:
    """The edition's catalogue and prices; fails with edition_not_found when sales never opened."""
    wanted = [(s, fold.evolve, fold.initial(s)) for fold, s in _market_streams(edition_code)]
    [(cat, _), (prices, _)] = await store.load_many(wanted, connection)
    catalogue.require_open(cat)
    return Market(catalogue=cat, prices=prices)


async def decide_across(
    store: EventStore,
    sources: Sequence[tuple[str, Fold[Any]]],
    decide: Callable[..., Sequence[DomainEvent]],
    context: CommandContext,
    *,
    command: str,
    connection: asyncpg.Connection | None = None,
    market: str | None = None,
) -> tuple[list[Any], list[Envelope]]:
    """Lock and load `sources`, call `decide(*states)`, append each event to its stream.

    With `market` (an edition code), the edition's catalogue and prices are read in the
    same query and passed last, as a Market. Returns the states after the events and the
    envelopes written. Inside a caller's transaction (`connection`, a policy) a conflict is
    raised for the caller to retry.
    """
    reads = _market_streams(market) if market is not None else []

    async def decision(load: Streams) -> Decision:
        states = await load.all(*((fold, stream_id) for stream_id, fold in sources), also=reads)
        if market is not None:
            cat, prices = states[len(sources) :]
            catalogue.require_open(cat)
            states = [*states[: len(sources)], Market(catalogue=cat, prices=prices)]
        return dict(sorted(by_stream(decide(*states), _stream_of).items()))

    outcome = await transact(store, decision, context, command=command, connection=connection)
    return [outcome.states[stream_id] for stream_id, _ in sources], outcome.envelopes


def _market_streams(edition_code: str) -> list[tuple[Fold[Any], str]]:
    return [
        (CATALOGUE, streams.edition_stream(edition_code)),
        (price_lists, streams.prices_stream(edition_code)),
    ]


def _stream_of(event: DomainEvent) -> str:
    assert isinstance(event, BoothsEvent), event
    return event.stream_id()


NOBODY = "-"
"""The account loaded for a booth nobody holds: the decision refuses before it matters."""


async def occupant_of(store: EventStore, edition_code: str, booth_code: str) -> tuple[str, str]:
    """Who holds, is offered or has the booth under contract, and the booth's zone."""
    state: booth.Booth = await load(store, BOOTH, streams.booth_stream(edition_code, booth_code))
    spec = state.listed()
    return state.holder or NOBODY, spec.zone_code


def same_occupant(state: booth.Booth, occupant: str) -> None:
    if (state.holder or NOBODY) != occupant:
        raise Conflict(
            f"booth {state.booth_code} changed while this request was decided; retry",
            code="concurrent_change",
        )


async def on_occupied(
    store: EventStore,
    edition_code: str,
    booth_code: str,
    decide: Callable[..., Sequence[DomainEvent]],
    context: CommandContext,
    command: str,
    clock: Callable[[], datetime],
    *,
    waitlist: bool = True,
) -> booth.Booth:
    """Decide over a booth, its occupant's account and, with `waitlist`, its zone's waitlist
    (offered the booth when the decision frees it): release, expiry, cancellation, declined
    offers; without it: reserving and claiming, which keep the booth taken.

    `decide` gets the booth, the account, the waitlist when asked for, the market and now.
    """
    occupant, zone = await occupant_of(store, edition_code, booth_code)
    wanted: list[tuple[str, Fold[Any]]] = [
        (streams.booth_stream(edition_code, booth_code), BOOTH),
        (streams.account_stream(occupant), ACCOUNT),
    ]
    if waitlist:
        wanted.append((streams.waitlist_stream(edition_code, zone), WAITLIST))

    def decision(state: booth.Booth, acc: Any, *rest: Any) -> Sequence[DomainEvent]:
        same_occupant(state, occupant)
        *line, market = rest
        return decide(state, acc, *line, market, clock())

    [after, *_], _ = await decide_across(
        store, wanted, decision, context, command=command, market=edition_code
    )
    assert isinstance(after, booth.Booth)
    return after
