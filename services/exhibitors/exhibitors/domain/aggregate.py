"""How an aggregate's streams are named and rebuilt, said once for every aggregate.

`MEETING = Aggregate("meeting-", initial_meeting, evolve)` names its streams
(`MEETING.stream(meeting_id)` is `meeting-<id>`) and is the `Fold` that rebuilds one: the
initial state is made from the stream's key (its id without the prefix), then evolved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from fairline_events.decider import Fold
from fairline_events.registry import DomainEvent

S = TypeVar("S")

Decision = dict[str, list[DomainEvent]]
"""What a decision over several streams appends: the events for each stream, in order."""


@dataclass(frozen=True, init=False)
class Aggregate(Fold[S]):
    prefix: str

    def __init__(
        self,
        prefix: str,
        initial: Callable[[str], S],
        evolve: Callable[[S, DomainEvent], S],
    ) -> None:
        super().__init__(
            initial=lambda stream_id: initial(stream_id.removeprefix(prefix)), evolve=evolve
        )
        object.__setattr__(self, "prefix", prefix)

    def stream(self, key: str) -> str:
        """The id of the stream for `key` (a meeting id, a person, a company id…)."""
        return f"{self.prefix}{key}"

    def after(self, state: S, events: Sequence[DomainEvent]) -> S:
        """The state once `events` are applied: for a rule that reads what it just decided."""
        for event in events:
            state = self.evolve(state, event)
        return state
