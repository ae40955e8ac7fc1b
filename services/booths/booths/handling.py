"""Commands that span streams: load each stream, decide once, append all in one transaction.

The single-stream commands go through `fairline_events.decider.handle`. A sale touches the
booth and the exhibitor's account (and, when a booth comes free, the zone's waitlist): each
event names its stream, and `decide_across` appends every stream with the version it loaded,
all or nothing. A concurrent writer makes the append fail; the command is then decided again
on fresh state (so the loser of a race for a booth gets the domain's answer, "booth held",
rather than a bare version conflict). Streams are locked in name order, so two commands
never wait on each other in a cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
from fairline_events.context import CommandContext
from fairline_events.decider import Decider
from fairline_events.envelope import Envelope
from fairline_events.errors import ConcurrencyConflict, Conflict
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore, StreamAppend

from .domain import account, booth, catalogue, construction, online, pricing, streams, waitlist
from .domain.events import BoothsEvent
from .domain.sales import Market


@dataclass(frozen=True)
class Fold:
    """How to rebuild one aggregate's state from its stream."""

    initial: Callable[[str], Any]
    evolve: Callable[[Any, DomainEvent], Any]


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

ATTEMPTS = 4


async def load(
    store: EventStore, fold: Fold, stream_id: str, connection: asyncpg.Connection | None = None
) -> Any:
    state, _ = await store.load(stream_id, fold.evolve, fold.initial(stream_id), connection)
    return state


async def load_market(
    store: EventStore, edition_code: str, connection: asyncpg.Connection | None = None
) -> Market:
    """The edition's catalogue and prices; fails with edition_not_found when sales never opened."""
    cat: catalogue.Catalogue = await load(
        store, CATALOGUE, streams.edition_stream(edition_code), connection
    )
    catalogue.require_open(cat)
    prices: pricing.PriceList = await load(
        store,
        Fold(pricing.initial, pricing.evolve),
        streams.prices_stream(edition_code),
        connection,
    )
    return Market(catalogue=cat, prices=prices)


async def decide_across(
    store: EventStore,
    sources: Sequence[tuple[str, Fold]],
    decide: Callable[..., Sequence[DomainEvent]],
    context: CommandContext,
    *,
    command: str,
    connection: asyncpg.Connection | None = None,
) -> tuple[list[Any], list[Envelope]]:
    """Load `sources`, call `decide(*states)`, append each event to its stream, atomically.

    Returns the states after the events and the envelopes written. Inside a caller's
    transaction (`connection`, a policy) a conflict is raised for the caller to retry.
    """
    context = context if context.command else context.for_command(command)
    for attempt in range(1, ATTEMPTS + 1):
        states: list[Any] = []
        versions: dict[str, int] = {}
        for stream_id, fold in sources:
            state, version = await store.load(
                stream_id, fold.evolve, fold.initial(stream_id), connection
            )
            states.append(state)
            versions[stream_id] = version
        events = decide(*states)
        by_stream: dict[str, list[DomainEvent]] = defaultdict(list)
        for event in events:
            assert isinstance(event, BoothsEvent), event
            stream_id = event.stream_id()
            if stream_id not in versions:
                raise RuntimeError(f"{type(event).__name__} for {stream_id}, which was not loaded")
            by_stream[stream_id].append(event)
        appends = [StreamAppend(s, by_stream[s], versions[s]) for s in sorted(by_stream)]
        try:
            envelopes = await store.append_streams(appends, context, connection=connection)
        except ConcurrencyConflict:
            if connection is not None or attempt == ATTEMPTS:
                raise
            continue
        after = []
        for (stream_id, fold), state in zip(sources, states, strict=True):
            for event in by_stream.get(stream_id, []):
                state = fold.evolve(state, event)
            after.append(state)
        return after, envelopes
    raise AssertionError("unreachable")


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
) -> booth.Booth:
    """Decide over a booth, its occupant's account and its zone's waitlist (which is offered
    the booth when the decision frees it): release, expiry, cancellation, declined offers."""
    market = await load_market(store, edition_code)
    occupant, zone = await occupant_of(store, edition_code, booth_code)

    def decision(state: booth.Booth, acc: Any, line: Any) -> Sequence[DomainEvent]:
        same_occupant(state, occupant)
        return decide(state, acc, line, market, clock())

    [after, _, _], _ = await decide_across(
        store,
        [
            (streams.booth_stream(edition_code, booth_code), BOOTH),
            (streams.account_stream(occupant), ACCOUNT),
            (streams.waitlist_stream(edition_code, zone), WAITLIST),
        ],
        decision,
        context,
        command=command,
    )
    assert isinstance(after, booth.Booth)
    return after
