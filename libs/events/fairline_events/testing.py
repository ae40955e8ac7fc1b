"""Given / when / then for command handlers, in memory: the domain tests of every service.

    floor = given(BoothAdded(...), ExhibitorAdmitted(...))       # history, by stream
    events = floor.when(hold_booth, HoldBooth(...), at=T0)       # the real handler's plan
    assert floor.state(BOOTH, booth_stream(...)).status == "held"  # then

`when` runs the very plan the service runs in PostgreSQL (the same streams read, the same
pure decision) against streams held in memory, and appends what it decides, so the next
`when` sees it. A refused command raises the rule's own error and appends nothing. Events
that name their stream (`event.stream_id()`) go to it; others are given as
`(stream_id, [events])`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Coroutine, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from .decider import Fold
from .registry import DomainEvent
from .transact import CommandHandler, Streams, by_stream

C = TypeVar("C")
S = TypeVar("S")
T = TypeVar("T")

History = DomainEvent | tuple[str, Sequence[DomainEvent]]


class _InMemory(Streams):
    """The `Streams` a plan sees, over a dict of event lists instead of a transaction."""

    def __init__(self, world: Scenario, now: datetime) -> None:
        super().__init__(cast(Any, None), cast(Any, None), ordered=False, now=now)
        self.world = world

    async def lock(self, *stream_ids: str) -> None:
        self.locked |= set(stream_ids)

    async def peek_all(self, *wanted: tuple[Fold[Any], str]) -> list[Any]:
        return [fold.fold(s, self.world.events_of(s)) for fold, s in wanted]

    def contended(self, stream_ids: Iterable[str]) -> bool:
        return False  # one plan at a time: nobody races

    def known(self, fold: Fold[S], stream_id: str) -> S | None:
        return fold.fold(stream_id, self.world.events_of(stream_id))

    async def all(
        self, *wanted: tuple[Fold[Any], str], also: Sequence[tuple[Fold[Any], str]] = ()
    ) -> list[Any]:
        await self.lock(*(stream_id for _, stream_id in wanted))
        return await self.peek_all(*wanted, *also)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine that never waits on anything (all its reads are in memory)."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return cast(T, done.value)
    coroutine.close()
    raise RuntimeError("the plan waited on real I/O; in-memory streams never do")


class Scenario:
    """Streams of events in memory, keyed by stream id."""

    def __init__(self) -> None:
        self.streams: dict[str, list[DomainEvent]] = defaultdict(list)

    def given(self, *history: History) -> Scenario:
        for item in history:
            if isinstance(item, tuple):
                stream_id, events = item
                self.streams[stream_id].extend(events)
            else:
                for stream_id, events in by_stream([item]).items():
                    self.streams[stream_id].extend(events)
        return self

    def when(
        self, handler: CommandHandler[C], command: C, *, at: datetime | None = None
    ) -> list[DomainEvent]:
        """Decide `command` with the handler's own plan; append and return its events (in the
        order decided, for a plan that returns a list)."""
        streams = _InMemory(self, at or datetime.now(UTC))
        decision = _run(handler.plan(command, streams))
        grouped = decision if not isinstance(decision, Sequence) else by_stream(decision)
        written = [s for s in grouped if grouped[s] and s not in streams.locked]
        if written:
            raise AssertionError(f"{handler.__name__} writes streams it did not lock: {written}")
        events: list[DomainEvent] = []
        for stream_id, new in grouped.items():
            self.streams[stream_id].extend(new)
            events.extend(new)
        # a plan that returned a list is answered in its own order (a release's events, then
        # the waitlist's offer), not regrouped by stream
        return events if not isinstance(decision, Sequence) else list(decision)

    def events_of(self, stream_id: str) -> list[DomainEvent]:
        return list(self.streams.get(stream_id, ()))

    def state(self, fold: Fold[S], stream_id: str) -> S:
        return fold.fold(stream_id, self.events_of(stream_id))


def given(*history: History) -> Scenario:
    """A scenario that starts from `history`."""
    return Scenario().given(*history)
