"""What visitors, the box office, the press centre, the payment provider, the gates and the
expiry clock ask; validated on creation."""

from __future__ import annotations

from datetime import date

from fairline_events.shredding import Sealed
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, NonNegativeInt, model_validator

from .values import (
    MAX_POSITIONS,
    DocumentType,
    EditionCode,
    EntranceCode,
    Fen,
    Identifier,
    PassKind,
    ProductCode,
    Text,
    Venue,
    VisitorClass,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DefineProduct(Command):
    edition_code: EditionCode
    product_code: ProductCode
    kind: PassKind
    name_zh: Text
    name_en: Text
    days: list[date] = Field(min_length=1, max_length=31)
    venues: list[Venue] = Field(min_length=1, max_length=2)
    classes: list[VisitorClass] = Field(min_length=1, max_length=5)
    price: Fen
    reentry: bool = False
    needs_approval: bool = False

    @model_validator(mode="after")
    def _distinct(self) -> DefineProduct:
        for name in ("days", "venues", "classes"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise ValueError(f"{name}: each at most once")
        return self


class SetQuota(Command):
    edition_code: EditionCode
    day: date
    venue: Venue
    visitor_class: VisitorClass
    capacity: NonNegativeInt = Field(le=1_000_000)


class PlaceOrder(Command):
    order_id: Identifier
    edition_code: EditionCode
    product_code: ProductCode
    account: str
    """Who orders: the signed-in visitor account, or the box office."""
    visitor_ids: list[Identifier] = Field(min_length=1, max_length=MAX_POSITIONS)
    day: date | None = None
    """The day a day pass is for; none for a multi-day pass."""
    box_office: bool = False
    """The box office may order for any visitor; a visitor only for those they registered."""

    @model_validator(mode="after")
    def _distinct(self) -> PlaceOrder:
        if len(set(self.visitor_ids)) != len(self.visitor_ids):
            raise ValueError("visitor_ids: one ticket per visitor in an order")
        return self


class RecordPayment(Command):
    """A verified notification from the payment provider."""

    provider: str
    transaction_id: Identifier
    order_id: Identifier
    amount: Fen


class ExpireOrder(Command):
    order_id: Identifier


class CancelOrder(Command):
    order_id: Identifier
    account: str | None
    """None for the box office, who may cancel any order."""


class RefundOrder(Command):
    order_id: Identifier
    refund_id: str


class Scanned(BaseModel):
    """One scan as a gate saw it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scan_id: Identifier
    qr: str = Field(min_length=1, max_length=2000)
    scanned_at: AwareDatetime


class CheckIn(Command):
    """A gate online: admit now, or refuse with the reason."""

    venue: Venue
    entrance: EntranceCode
    gate_id: Identifier
    scan: Scanned


class RecordOfflineScans(Command):
    """Scans one offline gate made of one ticket, uploaded once it is back online: each is
    recorded, as an entry or as a conflict."""

    ticket_id: Identifier
    venue: Venue
    entrance: EntranceCode
    gate_id: Identifier
    scans: list[Scanned] = Field(min_length=1)


class NewVisitor(Command):
    """A registration, its personal fields already sealed under the visitor's new key."""

    visitor_id: Identifier
    edition_code: EditionCode
    account: str
    visitor_class: VisitorClass
    key_id: str
    key: bytes
    name: Sealed
    document_type: DocumentType
    document_number: Sealed
    phone: Sealed
    organisation: Sealed | None
    country_region: str = Field(pattern=r"^[A-Z]{2}$")
    by_organiser: bool = False


class ReviewVisitor(Command):
    visitor_id: Identifier
    approve: bool
    why: Text | None = None
    reviewer: str
    """`organiser` (trade visitors, guests, staff) or `press_centre` (media)."""


class EraseVisitor(Command):
    visitor_id: Identifier


class RotateSigningKey(Command):
    edition_code: EditionCode
    key_id: str
    public_key: str
    private_key: bytes
