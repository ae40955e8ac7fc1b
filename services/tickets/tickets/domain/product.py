"""Products (stream `product-<edition>.<code>`): what the shop sells.

A day pass is a product with one day and one venue (CNCC or Shougang) or both; a multi-day
pass has several days; a trade pass is free and sold only to approved trade visitors
(`needs_approval`). A product defines what it admits; the places it takes come from the
quotas of its days and venues (`quota.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from .commands import DefineProduct
from .events import ProductDefined
from .values import PassKind, Venue, VisitorClass


@dataclass(frozen=True)
class Product:
    edition_code: str
    product_code: str
    defined: bool = False
    kind: PassKind = "day"
    name_en: str = ""
    days: tuple[date, ...] = ()
    venues: tuple[Venue, ...] = ()
    classes: tuple[VisitorClass, ...] = ()
    price: int = 0
    reentry: bool = False
    needs_approval: bool = False

    def on_sale(self) -> Product:
        if not self.defined:
            raise NotFound(
                f"product {self.product_code} not found in {self.edition_code}",
                code="product_not_found",
            )
        return self

    def days_of(self, day: date | None) -> list[date]:
        """The days an order's tickets admit on: the chosen one of a day pass, all of a
        multi-day pass."""
        if self.kind == "multi_day":
            if day is not None:
                raise DomainError(
                    f"{self.product_code} is a multi-day pass: it admits on all its days",
                    code="day_not_chosen_here",
                )
            return list(self.days)
        if day is None or day not in self.days:
            raise DomainError(
                f"{self.product_code} is a day pass: choose one of its days",
                code="choose_a_day",
                days=[d.isoformat() for d in self.days],
            )
        return [day]


def product_stream(edition_code: str, product_code: str) -> str:
    return f"product-{edition_code}.{product_code}"


def initial_product(stream_id: str) -> Product:
    edition_code, _, product_code = stream_id.removeprefix("product-").partition(".")
    return Product(edition_code, product_code)


def define(command: DefineProduct, *, product: Product) -> list[DomainEvent]:
    if product.defined:
        raise Conflict(f"product {product.product_code} already exists", code="product_exists")
    return [
        ProductDefined(
            edition_code=command.edition_code,
            product_code=command.product_code,
            kind=command.kind,
            name_zh=command.name_zh,
            name_en=command.name_en,
            days=sorted(command.days),
            venues=list(command.venues),
            classes=list(command.classes),
            price=command.price,
            reentry=command.reentry,
            needs_approval=command.needs_approval,
        )
    ]


def evolve(product: Product, event: DomainEvent) -> Product:
    match event:
        case ProductDefined():
            return Product(
                edition_code=event.edition_code,
                product_code=event.product_code,
                defined=True,
                kind=event.kind,
                name_en=event.name_en,
                days=tuple(event.days),
                venues=tuple(event.venues),
                classes=tuple(event.classes),
                price=event.price,
                reentry=event.reentry,
                needs_approval=event.needs_approval,
            )
        case _:
            return product


PRODUCT: Fold[Product] = Fold(initial_product, evolve)
