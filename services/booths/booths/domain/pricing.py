"""Prices with provenance: versioned price rules per edition, and the quote they give.

base      = rate per m² (zone and booth type) × area
surcharge = open-side surcharge (corner, peninsula, island) on the base
discount  = early-bird discount on base + surcharge, when priced before the deadline
total     = base + surcharge − discount;  deposit = deposit share of the total
Every amount is whole fen, each rounded once, half up.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time
from decimal import Decimal

from fairline_events.decider import Fold
from fairline_events.errors import DomainError, NotFound
from fairline_events.registry import DomainEvent

from .commands import PublishPriceList
from .events import PriceListPublished
from .values import BoothSpec, Quote, round_fen, share


@dataclass(frozen=True)
class PriceList:
    edition_code: str
    versions: dict[int, PriceListPublished] = field(default_factory=dict)

    @property
    def current(self) -> PriceListPublished:
        if not self.versions:
            raise NotFound(
                f"edition {self.edition_code} has no price list yet", code="price_list_not_found"
            )
        return self.versions[max(self.versions)]

    def version(self, number: int) -> PriceListPublished:
        try:
            return self.versions[number]
        except KeyError:
            raise NotFound(
                f"price list version {number} of {self.edition_code} does not exist",
                code="price_list_not_found",
            ) from None


def prices_stream(edition_code: str) -> str:
    return f"prices-{edition_code}"


def initial(stream_id: str) -> PriceList:
    return PriceList(edition_code=stream_id.removeprefix("prices-"))


def decide(command: PublishPriceList, state: PriceList) -> list[DomainEvent]:
    seen: set[tuple[str | None, str]] = set()
    for rate in command.rates:
        key = (rate.zone_code, rate.booth_type)
        if key in seen:
            raise DomainError(
                f"two rates for {rate.booth_type} in zone {rate.zone_code or 'any'}",
                code="duplicate_rate",
                zone_code=rate.zone_code,
                booth_type=rate.booth_type,
            )
        seen.add(key)
    days = [t.days_before_opening for t in command.cancellation]
    if len(set(days)) != len(days):
        raise DomainError("two cancellation tiers for the same day", code="duplicate_tier")
    if command.early_bird_discount_bp and command.early_bird_deadline is None:
        raise DomainError("an early-bird discount needs a deadline", code="early_bird_deadline")
    version = max(state.versions, default=0) + 1
    return [PriceListPublished(**command.model_dump(), version=version)]


def evolve(state: PriceList, event: DomainEvent) -> PriceList:
    if isinstance(event, PriceListPublished):
        return replace(state, versions={**state.versions, event.version: event})
    return state


def quote(
    spec: BoothSpec, rules: PriceListPublished, at: datetime, *, early_bird: bool | None = None
) -> Quote:
    """The price of a booth under `rules`, as priced at `at` (early bird if before the deadline,
    unless `early_bird` says otherwise)."""
    rate = _rate(spec, rules)
    base = round_fen(Decimal(rate) * spec.area_m2)
    surcharge_bp = rules.surcharges.of(spec.open_sides)
    surcharge = share(base, surcharge_bp)
    deadline = rules.early_bird_deadline
    early = deadline is not None and at <= deadline if early_bird is None else early_bird
    discount_bp = rules.early_bird_discount_bp if early else 0
    discount = share(base + surcharge, discount_bp)
    total = base + surcharge - discount
    if total <= 0:
        raise DomainError(
            "this booth prices at nothing; check the rates", code="price_not_positive"
        )
    return Quote(
        rule_version=rules.version,
        booth_type=spec.booth_type,
        zone_code=spec.zone_code,
        area_m2=spec.area_m2,
        rate_fen_per_m2=rate,
        base_fen=base,
        open_sides=spec.open_sides,
        surcharge_bp=surcharge_bp,
        surcharge_fen=surcharge,
        early_bird=early,
        early_bird_discount_bp=discount_bp,
        discount_fen=discount,
        total_fen=total,
        deposit_fen=share(total, rules.deposit_bp),
        quoted_on=at.date(),
    )


def requote(spec: BoothSpec, rules: PriceListPublished, original: Quote) -> Quote:
    """Price another booth as the original was priced: same rule version, day and discount."""
    on = datetime.combine(original.quoted_on, time(), tzinfo=UTC)
    return quote(spec, rules, on, early_bird=original.early_bird)


def online_price(tier: str, rules: PriceListPublished) -> int:
    try:
        return rules.online_packages[tier]
    except KeyError:
        raise DomainError(
            f"online package {tier} has no price in version {rules.version}",
            code="no_price_for_package",
            tier=tier,
        ) from None


def _rate(spec: BoothSpec, rules: PriceListPublished) -> int:
    exact = [r for r in rules.rates if r.booth_type == spec.booth_type]
    for rate in exact:
        if rate.zone_code == spec.zone_code:
            return rate.fen_per_m2
    for rate in exact:
        if rate.zone_code is None:
            return rate.fen_per_m2
    raise DomainError(
        f"price list version {rules.version} has no rate for {spec.booth_type} "
        f"in zone {spec.zone_code}",
        code="no_price_for_booth",
        booth_type=spec.booth_type,
        zone_code=spec.zone_code,
        rule_version=rules.version,
    )


PRICES = Fold(initial, evolve)
