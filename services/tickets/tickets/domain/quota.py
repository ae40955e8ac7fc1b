"""Quotas (stream `quota-<edition>.<day>.<venue>.<class>`): one day's capacity at one venue
for one class of visitor, the venues' epidemic-control limits.

Every order takes its places here, under the stream's lock, so two orders can never both
take the last place: `taken` never passes `capacity`. An order that expires, is cancelled
or refunded gives its places back here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from .commands import SetQuota
from .events import QuotaClaim, QuotaKey, QuotaReturned, QuotaSet, QuotaTaken
from .values import Venue, VisitorClass


@dataclass(frozen=True)
class Quota:
    edition_code: str
    day: date
    venue: Venue
    visitor_class: VisitorClass
    capacity: int | None = None
    """None until set: nothing is sold for a day, venue and class without a quota."""
    taken: int = 0

    @property
    def left(self) -> int:
        return max(0, (self.capacity or 0) - self.taken)


def quota_stream(edition_code: str, day: date, venue: str, visitor_class: str) -> str:
    return f"quota-{edition_code}.{day.isoformat()}.{venue}.{visitor_class}"


def stream_of(edition_code: str, key: QuotaKey) -> str:
    return quota_stream(edition_code, key.day, key.venue, key.visitor_class)


def initial_quota(stream_id: str) -> Quota:
    edition_code, day, venue, visitor_class = stream_id.removeprefix("quota-").split(".")
    return Quota(edition_code, date.fromisoformat(day), venue, visitor_class)  # type: ignore[arg-type]


Quotas = Mapping[str, Quota]
"""Quota states by stream id."""


def set_capacity(command: SetQuota, *, quota: Quota) -> list[DomainEvent]:
    if command.capacity < quota.taken:
        raise Conflict(
            f"{quota.taken} places are already taken; the capacity cannot go below that",
            code="capacity_below_taken",
            taken=quota.taken,
        )
    if command.capacity == quota.capacity:
        return []
    return [
        QuotaSet(
            edition_code=command.edition_code,
            day=command.day,
            venue=command.venue,
            visitor_class=command.visitor_class,
            capacity=command.capacity,
        )
    ]


def shortfall(claims: list[QuotaClaim], *, quotas: Quotas, edition_code: str) -> None:
    """Refuse when any claim does not fit: the clean sold-out answer."""
    for claim in claims:
        quota = quotas[stream_of(edition_code, claim)]
        if quota.capacity is None:
            raise DomainError(
                f"nothing is on sale for {claim.visitor_class} visitors at {claim.venue}"
                f" on {claim.day}",
                code="not_on_sale",
                day=claim.day.isoformat(),
                venue=claim.venue,
            )
        if quota.left < claim.places:
            raise Conflict(
                f"sold out: {claim.venue} on {claim.day} has {quota.left} places left for"
                f" {claim.visitor_class} visitors",
                code="sold_out",
                day=claim.day.isoformat(),
                venue=claim.venue,
                visitor_class=claim.visitor_class,
                left=quota.left,
            )


def take(
    claims: list[QuotaClaim], *, order_id: str, quotas: Quotas, edition_code: str
) -> list[DomainEvent]:
    shortfall(claims, quotas=quotas, edition_code=edition_code)
    return [
        QuotaTaken(edition_code=edition_code, order_id=order_id, **c.model_dump()) for c in claims
    ]


def give_back(
    claims: list[QuotaClaim], *, order_id: str, edition_code: str, why: str
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
