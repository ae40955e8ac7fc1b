"""How one process spreads its orders in flight over a quota's shards (`ShardRotation`): a
hint for `handlers.place_order`, never a rule: whatever it picks, the append's version check
and the quota's capacity decide, so no choice here can oversell."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar

from fairline_events.store import EventStore

from .desks import ALONE, Desk, SalesDesks
from .domain import quota as quotas

SHARD_WAIT = 1.0
"""Seconds an order waits at most for a shard no order of this process is writing."""

OWN_WAIT = 0.25
"""Seconds of those an order waits for one of its desk's own shards while another desk's is
free: a few orders' time on a busy box (a race with that desk costs the loser the locked
path, and that shard the optimistic one for a second), not more: a desk that died holds its
slot for `desks.ALIVE` seconds, and its shards are then only taken after this wait."""


class ShardRotation:
    """Which quota shards this process's orders are writing now (`placing`), and when it
    gave an order each shard last (a count, not a time): a hint for spreading the orders in
    flight over the shards. Bounded like the store's cache."""

    def __init__(
        self, size: int = 20_000, *, desk: Desk = ALONE, desks: SalesDesks | None = None
    ) -> None:
        self.desk = desk
        """Which shards of each quota this process prefers (all, alone)."""
        self.desks = desks
        """Where `desk` is kept current from, if it is (the API's rotation)."""
        self._given: OrderedDict[str, int] = OrderedDict()
        self._count = 0
        self._size = size
        self._busy: Counter[str] = Counter()
        self._placing: ContextVar[list[str] | None] = ContextVar("shards_placing", default=None)
        self._last: ContextVar[list[str] | None] = ContextVar("shards_last_given", default=None)
        """The shard given last to the order being placed (its stream on each day and venue)."""
        self._waiting: deque[tuple[frozenset[str], asyncio.Future[None]]] = deque()
        """Orders waiting for a shard: the streams of the shards they may take, and how to
        wake them."""

    def keep_desk(self, store: EventStore) -> None:
        """This process's desk, renewed now and then in the background (a hint only)."""
        if self.desks is not None:
            self.desks.keep(store.pool)
            self.desk = self.desks.desk

    def owns(self, stream_ids: Sequence[str]) -> bool:
        """Whether the shard (its stream on each day and venue) is this desk's own."""
        return all(self.desk.owns(quotas.shard_of(s)) for s in stream_ids)

    def last(self, stream_ids: Sequence[str]) -> int:
        """-1 for a shard never given: it comes first."""
        return max((self._given.get(s, -1) for s in stream_ids), default=-1)

    def busy(self, stream_ids: Sequence[str]) -> int:
        return max((self._busy[s] for s in stream_ids), default=0)

    def give(self, stream_ids: Sequence[str]) -> None:
        self._count += 1
        for stream_id in stream_ids:
            self._given[stream_id] = self._count
            self._given.move_to_end(stream_id)
        while len(self._given) > self._size:
            self._given.popitem(last=False)
        placing = self._placing.get()
        if placing is not None:
            self._last.set(list(stream_ids))
            fresh = [s for s in stream_ids if s not in placing]
            placing.extend(fresh)
            self._busy.update(fresh)

    def given_here(self, stream_ids: Sequence[str]) -> bool:
        """Whether the order being placed was given these already (`free_shard`)."""
        placing = self._placing.get()
        return placing is not None and all(s in placing for s in stream_ids)

    def given_last(self) -> list[str] | None:
        """The shard given last to the order being placed, if any (by `free_shard`, or by the
        handler on an earlier attempt)."""
        return self._last.get() if self._placing.get() is not None else None

    @contextlib.contextmanager
    def choosing(self) -> Iterator[None]:
        """`place_order` chooses shards with this rotation in the block: another process's,
        in a test that plays two (the handler otherwise uses the process's)."""
        token = _choosing.set(self)
        try:
            yield
        finally:
            _choosing.reset(token)

    @contextlib.contextmanager
    def placing(self) -> Iterator[None]:
        """While one order is placed: the shards it was given are busy until it is done."""
        given: list[str] = []
        token = self._placing.set(given)
        last = self._last.set(None)
        try:
            yield
        finally:
            self._last.reset(last)
            self._placing.reset(token)
            self._busy -= Counter(given)  # keeps only the shards still being written
            if given:
                self._wake_one(given)

    async def free_shard(
        self,
        choices: Sequence[Sequence[str]],
        *,
        within: float,
        contended: Callable[[Sequence[str]], bool] = lambda _: False,
    ) -> None:
        """Wait, at most `within` seconds, while every shard of `choices` is being written by
        an order of this process, and first (`OWN_WAIT` at most) while every one this desk
        owns is, then give the order being placed the best of them at once: it queues here,
        holding no connection and no lock, instead of racing one in flight (and then
        queueing on the shard's lock), or another desk on that desk's own shards. Given
        here, before the order's first await, so orders arriving meanwhile see it busy."""
        if not choices:  # none known to have room: nothing to wait for
            return
        loop = asyncio.get_running_loop()
        start = loop.time()
        own = [c for c in choices if self.owns(c)]
        phases = [(choices, start + within)]
        if own and len(own) < len(choices):  # a moment's wait for its own, then any
            phases.insert(0, (own, start + min(OWN_WAIT, within)))
        for wanted, until in phases:
            if await self._one_free(wanted, until):
                break
        # its own even if contended (another desk wrote it, racing): locked, the order
        # queues behind that desk's at most, where another's would spread the race
        self.give(
            min(
                choices,
                key=lambda c: (self.busy(c), not self.owns(c), contended(c), self.last(c)),
            )
        )

    async def _one_free(self, choices: Sequence[Sequence[str]], until: float) -> bool:
        """Whether one of `choices` is free (no order of this process writes it) by `until`
        (the loop's clock): waits for the orders writing them to be done."""
        loop = asyncio.get_running_loop()
        wanted = frozenset(s for c in choices for s in c)
        while all(self.busy(c) for c in choices):
            left = until - loop.time()
            if left <= 0:
                return False
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiting.append((wanted, waiter))
            try:
                await asyncio.wait_for(waiter, left)
            except TimeoutError:
                return False
        return True

    def _wake_one(self, freed: Sequence[str]) -> None:
        """The first order waiting for one of the shards `freed`: another quota's stay."""
        for entry in list(self._waiting):
            wanted, waiter = entry
            if waiter.done() or waiter.get_loop().is_closed():
                self._waiting.remove(entry)
            elif not wanted.isdisjoint(freed):
                self._waiting.remove(entry)
                waiter.set_result(None)
                return


_choosing: ContextVar[ShardRotation | None] = ContextVar("rotation", default=None)
"""The rotation `place_order` chooses shards with, when not the process's (`choosing`)."""

rotation = ShardRotation(desks=SalesDesks())
"""This process's: its orders, and its desk among the API processes placing orders."""


def current() -> ShardRotation:
    """The rotation the order being placed chooses its shards with."""
    return _choosing.get() or rotation
