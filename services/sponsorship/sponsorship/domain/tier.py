"""A tier (strategic partner, platinum, gold…): its terms and the packages holding its places.

The quantity limit holds because every offer locks its tier's stream: two offers for the
last place queue, and the second sees the place taken.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from .commands import DefineTier
from .events import Benefit, TierDefined, TierPlaceReleased, TierPlaceTaken
from .values import Exclusivity


@dataclass(frozen=True)
class Tier:
    edition_code: str
    tier_code: str
    name: str = ""
    quantity: int = 0
    exclusivity: Exclusivity = "tier"
    price_fen: int = 0
    benefits: tuple[Benefit, ...] = ()
    defined: bool = False
    holders: frozenset[str] = frozenset()
    """Packages offered or signed in this tier (not expired, not cancelled)."""

    @property
    def left(self) -> int:
        return max(0, self.quantity - len(self.holders))


def tier_stream(edition_code: str, tier_code: str) -> str:
    return f"tier-{edition_code}:{tier_code}"


def initial(stream_id: str) -> Tier:
    edition_code, tier_code = stream_id.removeprefix("tier-").split(":")
    return Tier(edition_code, tier_code)


def define(command: DefineTier, *, tier: Tier) -> list[DomainEvent]:
    """Terms may change (a new quantity, price or benefit list) but never below what is sold."""
    if command.quantity < len(tier.holders):
        raise Conflict(
            f"{len(tier.holders)} packages are already in this tier",
            code="quantity_below_sold",
            sold=len(tier.holders),
        )
    event = TierDefined(**command.model_dump())
    unchanged = tier.defined and (
        tier.name,
        tier.quantity,
        tier.exclusivity,
        tier.price_fen,
        list(tier.benefits),
    ) == (command.name, command.quantity, command.exclusivity, command.price_fen, command.benefits)
    return [] if unchanged else [event]


def take_place(*, tier: Tier, package_id: str) -> list[DomainEvent]:
    if not tier.defined:
        raise NotFound(
            f"the edition has no tier {tier.tier_code}", code="unknown_tier", tier=tier.tier_code
        )
    if package_id in tier.holders:
        return []
    if tier.left == 0:
        raise Conflict(
            f"the {tier.name} tier is sold out ({tier.quantity} packages)",
            code="tier_sold_out",
            tier=tier.tier_code,
            quantity=tier.quantity,
        )
    return [TierPlaceTaken(edition_code=tier.edition_code, tier_code=tier.tier_code,
                           package_id=package_id)]  # fmt: skip


def give_place_back(*, tier: Tier, package_id: str) -> list[DomainEvent]:
    if package_id not in tier.holders:
        return []
    return [TierPlaceReleased(edition_code=tier.edition_code, tier_code=tier.tier_code,
                              package_id=package_id)]  # fmt: skip


def known(tier: Tier) -> Tier:
    if not tier.defined:
        raise DomainError(
            f"the edition has no tier {tier.tier_code}", code="unknown_tier", tier=tier.tier_code
        )
    return tier


def evolve(tier: Tier, event: DomainEvent) -> Tier:
    match event:
        case TierDefined():
            return replace(tier, name=event.name, quantity=event.quantity,
                           exclusivity=event.exclusivity, price_fen=event.price_fen,
                           benefits=tuple(event.benefits), defined=True)  # fmt: skip
        case TierPlaceTaken():
            return replace(tier, holders=tier.holders | {event.package_id})
        case TierPlaceReleased():
            return replace(tier, holders=tier.holders - {event.package_id})
        case _:
            return tier


TIER: Fold[Tier] = Fold(initial, evolve)
