"""The decider shape, and the one command handler every aggregate shares.

An aggregate is `initial`, `decide(command, state) -> events` and
`evolve(state, event) -> state`, all pure. Handling a command is: load, decide, append.
Commands over several streams go through `transact`, which builds on the same pieces.
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
class Fold(Generic[S]):
    """How to rebuild a stream's state from its events: all that loading needs.

    A stream that a command only reads, or whose events another decision makes, needs no
    `decide`; every `Decider` is a `Fold` too.
    """

    initial: Callable[[str], S]
    evolve: Callable[[S, DomainEvent], S]

    def fold(self, stream_id: str, events: Sequence[DomainEvent]) -> S:
        state = self.initial(stream_id)
        for event in events:
            state = self.evolve(state, event)
        return state


@dataclass(frozen=True)
class Decider(Fold[S], Generic[C, S]):
    decide: Callable[[C, S], Sequence[DomainEvent]]

    def run(self, state: S, *commands: C) -> tuple[S, list[DomainEvent]]:
        """Decide `commands` in turn, each on the state the previous one's events left."""
        events: list[DomainEvent] = []
        for command in commands:
            new = list(self.decide(command, state))
            for event in new:
                state = self.evolve(state, event)
            events += new
        return state, events


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
