"""The decider shape, and the one command handler every aggregate shares.

An aggregate is `initial`, `decide(command, state) -> events` and
`evolve(state, event) -> state`, all pure. Handling a command is: load, decide, append.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import asyncpg

from .context import CommandContext
from .envelope import Envelope
from .registry import DomainEvent
from .store import EventStore

C = TypeVar("C")
S = TypeVar("S")


@dataclass(frozen=True)
class Decider(Generic[C, S]):
    initial: Callable[[str], S]
    decide: Callable[[C, S], Sequence[DomainEvent]]
    evolve: Callable[[S, DomainEvent], S]

    def fold(self, stream_id: str, events: Sequence[DomainEvent]) -> S:
        state = self.initial(stream_id)
        for event in events:
            state = self.evolve(state, event)
        return state


async def handle(
    store: EventStore,
    decider: Decider[C, S],
    stream_id: str,
    command: C,
    context: CommandContext,
    connection: asyncpg.Connection | None = None,
) -> tuple[S, list[Envelope]]:
    """Load the stream, decide, append with the version read: a concurrent change is a 409.

    With `connection`, both happen in the caller's transaction: a policy reacting to another
    service's event appends its command's events atomically with its own checkpoint.
    """
    initial = decider.initial(stream_id)
    state, version = await store.load(stream_id, decider.evolve, initial, connection=connection)
    events = decider.decide(command, state)
    if context.command is None:
        context = context.for_command(type(command).__name__)
    envelopes = await store.append(stream_id, events, version, context, connection=connection)
    for event in events:
        state = decider.evolve(state, event)
    return state, envelopes
