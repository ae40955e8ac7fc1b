"""How an aggregate's state is rebuilt from its stream: `initial` and `evolve`, both pure.

An aggregate's module keeps its state, its `Fold`, its stream naming and its decisions (pure
functions from named states to events) side by side; handling a command is a plan in the
service's `handlers.py` (`transact.command_handler`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from .registry import DomainEvent

S = TypeVar("S")


@dataclass(frozen=True)
class Fold(Generic[S]):
    """How to rebuild a stream's state from its events: all that loading needs."""

    initial: Callable[[str], S]
    evolve: Callable[[S, DomainEvent], S]

    def fold(self, stream_id: str, events: Sequence[DomainEvent]) -> S:
        state = self.initial(stream_id)
        for event in events:
            state = self.evolve(state, event)
        return state
