"""An industry category at one edition (banking, automotive, telecoms…): who holds it in
which tier.

Exclusivity, per tier or edition-wide, is decided here under ONE lock per category and
edition: a tier-exclusive sale refuses when the category is held in the same tier or by an
edition-exclusive tier; an edition-exclusive sale refuses when it is held anywhere. Two sales
people selling the same category at once queue on this stream, and the second is refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from fairline_events.decider import Fold
from fairline_events.errors import Conflict
from fairline_events.registry import DomainEvent

from .events import CategoryClaimed, CategoryReleased
from .values import Exclusivity


@dataclass(frozen=True)
class Holder:
    package_id: str
    sponsor_id: str
    tier_code: str
    exclusivity: Exclusivity


@dataclass(frozen=True)
class CategoryHolders:
    edition_code: str
    category: str
    holders: dict[str, Holder] = field(default_factory=dict)
    """By package id."""


def category_stream(edition_code: str, category: str) -> str:
    return f"category-{edition_code}:{category}"


def initial(stream_id: str) -> CategoryHolders:
    edition_code, category = stream_id.removeprefix("category-").split(":")
    return CategoryHolders(edition_code, category)


def claim(
    *,
    category: CategoryHolders,
    tier_code: str,
    exclusivity: Exclusivity,
    package_id: str,
    sponsor_id: str,
) -> list[DomainEvent]:
    if package_id in category.holders:
        return []
    for holder in category.holders.values():
        clash = (
            holder.tier_code == tier_code
            or holder.exclusivity == "edition"
            or exclusivity == "edition"
        )
        if clash:
            raise Conflict(
                f"the {category.category} category is already taken"
                f" ({holder.tier_code}, package {holder.package_id})",
                code="category_taken",
                category=category.category,
                tier=holder.tier_code,
                package_id=holder.package_id,
            )
    return [
        CategoryClaimed(edition_code=category.edition_code, category=category.category,
                        tier_code=tier_code, exclusivity=exclusivity, package_id=package_id,
                        sponsor_id=sponsor_id)
    ]  # fmt: skip


def release(*, category: CategoryHolders, package_id: str) -> list[DomainEvent]:
    if package_id not in category.holders:
        return []
    return [CategoryReleased(edition_code=category.edition_code, category=category.category,
                             package_id=package_id)]  # fmt: skip


def evolve(category: CategoryHolders, event: DomainEvent) -> CategoryHolders:
    match event:
        case CategoryClaimed():
            holder = Holder(event.package_id, event.sponsor_id, event.tier_code, event.exclusivity)
            return replace(category, holders={**category.holders, event.package_id: holder})
        case CategoryReleased():
            rest = {k: v for k, v in category.holders.items() if k != event.package_id}
            return replace(category, holders=rest)
        case _:
            return category


CATEGORY: Fold[CategoryHolders] = Fold(initial, evolve)
