"""Quotas: one day's capacity at one venue for one class of visitor, the venues'
epidemic-control limits, kept in `SHARDS` streams
`quota-<edition>.<day>.<venue>.<class>.<shard>` whose capacities add up to the quota's.

Every order takes its places in shards, under each shard's lock, so two orders can never
both take a shard's last place: no shard's `taken` passes its `capacity`, hence the quota's
never does. Shards exist for the rush: when the shop opens, thousands of orders for the same
day and venue would otherwise queue on one lock; spread over shards (each order starts at
its own, by its id), they take places side by side. An order that expires, is cancelled or
refunded gives its places back to the shards it took them from.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from .commands import SetQuota
from .events import Need, QuotaClaim, QuotaKey, QuotaReturned, QuotaSet, QuotaTaken
from .values import Venue, VisitorClass

SHARDS = 8
"""Streams per quota: up to this many orders for the same day, venue and class commit at
once. More would cost every sold-out check a wider read."""


@dataclass(frozen=True)
class Quota:
    """One shard of a quota."""

    edition_code: str
    day: date
    venue: Venue
    visitor_class: VisitorClass
    shard: int
    capacity: int | None = None
    """None until set: nothing is sold for a day, venue and class without a quota."""
    taken: int = 0

    @property
    def left(self) -> int:
        return max(0, (self.capacity or 0) - self.taken)


def quota_stream(edition_code: str, day: date, venue: str, visitor_class: str, shard: int) -> str:
    return f"quota-{edition_code}.{day.isoformat()}.{venue}.{visitor_class}.{shard}"


def shard_of(stream_id: str) -> int:
    """The shard number of a quota shard's stream."""
    return int(stream_id.rsplit(".", 1)[1])


def shard_streams(edition_code: str, key: QuotaKey) -> list[str]:
    """Every shard of one quota, in shard order."""
    return list(_shard_streams(edition_code, key.day, key.venue, key.visitor_class))


@functools.lru_cache(maxsize=4096)
def _shard_streams(edition_code: str, day: date, venue: str, visitor_class: str) -> tuple[str, ...]:
    """Named once per quota, not on every order (an order allocates, checks and takes)."""
    return tuple(quota_stream(edition_code, day, venue, visitor_class, s) for s in range(SHARDS))


def claim_stream(edition_code: str, claim: QuotaClaim) -> str:
    return quota_stream(edition_code, claim.day, claim.venue, claim.visitor_class, claim.shard)


def initial_quota(stream_id: str) -> Quota:
    edition_code, day, venue, visitor_class, shard = stream_id.removeprefix("quota-").split(".")
    return Quota(
        edition_code,
        date.fromisoformat(day),
        venue,  # type: ignore[arg-type]
        visitor_class,  # type: ignore[arg-type]
        int(shard),
    )


Quotas = Mapping[str, Quota]
"""Shard states by stream id."""


def _key(need: QuotaKey) -> QuotaKey:
    return QuotaKey(day=need.day, venue=need.venue, visitor_class=need.visitor_class)


def set_capacity(command: SetQuota, *, shards: Sequence[Quota]) -> list[DomainEvent]:
    """Spread the capacity over the shards, each keeping at least what it has sold."""
    taken = sum(s.taken for s in shards)
    if command.capacity < taken:
        raise Conflict(
            f"{taken} places are already taken; the capacity cannot go below that",
            code="capacity_below_taken",
            taken=taken,
        )
    spare, extra = divmod(command.capacity - taken, len(shards))
    events: list[DomainEvent] = []
    for shard in shards:
        capacity = shard.taken + spare + (1 if shard.shard < extra else 0)
        if capacity != shard.capacity:
            events.append(
                QuotaSet(
                    edition_code=command.edition_code,
                    day=command.day,
                    venue=command.venue,
                    visitor_class=command.visitor_class,
                    shard=shard.shard,
                    capacity=capacity,
                )
            )
    return events


def shortfall(needs: Sequence[Need], *, quotas: Quotas, edition_code: str) -> None:
    """Refuse when any need does not fit the quota's shards together: the clean sold-out."""
    for need in needs:
        shards = [quotas[s] for s in shard_streams(edition_code, need)]
        if all(s.capacity is None for s in shards):
            raise DomainError(
                f"nothing is on sale for {need.visitor_class} visitors at {need.venue}"
                f" on {need.day}",
                code="not_on_sale",
                day=need.day.isoformat(),
                venue=need.venue,
            )
        left = sum(s.left for s in shards)
        if left < need.places:
            raise Conflict(
                f"sold out: {need.venue} on {need.day} has {left} places left for"
                f" {need.visitor_class} visitors",
                code="sold_out",
                day=need.day.isoformat(),
                venue=need.venue,
                visitor_class=need.visitor_class,
                left=left,
            )


def first_shard(order_id: str) -> int:
    """Where an order starts looking: spread evenly, the same on every retry."""
    return hashlib.blake2b(order_id.encode(), digest_size=2).digest()[0] % SHARDS


def allocate(
    needs: Sequence[Need], *, quotas: Quotas, edition_code: str, order_id: str
) -> list[QuotaClaim] | None:
    """Which shards give each need its places, from the order's own shard on; None when the
    shards seen cannot (taken meanwhile: read them all, locked, and allocate again)."""
    start = first_shard(order_id)
    claims: list[QuotaClaim] = []
    for need in needs:
        streams = shard_streams(edition_code, need)
        wanted = need.places
        for n in range(SHARDS):
            shard = (start + n) % SHARDS
            quota = quotas.get(streams[shard])
            if quota is None or not quota.left or not wanted:
                continue
            places = min(wanted, quota.left)
            claims.append(QuotaClaim(shard=shard, places=places, **_key(need).model_dump()))
            wanted -= places
        if wanted:
            return None
    return claims


def fits(claims: Sequence[QuotaClaim], *, quotas: Quotas, edition_code: str) -> bool:
    return all(quotas[claim_stream(edition_code, c)].left >= c.places for c in claims)


def take(claims: Sequence[QuotaClaim], *, order_id: str, edition_code: str) -> list[DomainEvent]:
    return [
        QuotaTaken(edition_code=edition_code, order_id=order_id, **c.model_dump()) for c in claims
    ]


def give_back(
    claims: Sequence[QuotaClaim], *, order_id: str, edition_code: str, why: str
) -> list[DomainEvent]:
    return [
        QuotaReturned(edition_code=edition_code, order_id=order_id, why=why, **c.model_dump())
        for c in claims
    ]


def evolve(quota: Quota, event: DomainEvent) -> Quota:
    match event:
        case QuotaSet():
            return replace(quota, capacity=event.capacity)
        case QuotaTaken():
            return replace(quota, taken=quota.taken + event.places)
        case QuotaReturned():
            return replace(quota, taken=quota.taken - event.places)
        case _:
            return quota


QUOTA: Fold[Quota] = Fold(initial_quota, evolve)
