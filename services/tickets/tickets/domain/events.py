"""What happens in the ticket shop and at the gates, as registered domain events.

Seven kinds of stream, each event naming its own (`stream_id()`; each aggregate's module in
`domain/` says how its streams are named):
- `product-<edition>.<code>`: what is sold (a day pass, a multi-day pass, a trade pass);
- `quota-<edition>.<day>.<venue>.<class>`: one day's capacity at one venue for one class of
  visitor, and the orders holding it. Every rule against overselling is decided here;
- `order-<id>`: one order: held, paid, issued, expired, cancelled or refunded;
- `payment-<provider>.<transaction>`: one provider transaction, so a notification repeated
  by the provider is recorded once;
- `ticket-<id>`: one signed ticket: issued, revoked, and each entry at a gate;
- `visitor-<id>`: a visitor registered under their real name, sealed under their own key;
- `signing-keys-<edition>`: the public halves of the keys tickets are signed with.

Personal data (name, ID number, phone, organisation) appears only as `Sealed` ciphertext.
"""

from __future__ import annotations

from datetime import date

from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.shredding import Sealed
from pydantic import AwareDatetime, BaseModel, ConfigDict, NonNegativeInt, PositiveInt

from .values import (
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

registry = EventRegistry()


class TicketsEvent(DomainEvent):
    """Base of every tickets event: each names the stream it belongs to."""

    def stream_id(self) -> str:
        raise NotImplementedError


class QuotaKey(BaseModel):
    """One day's capacity at one venue for one class of visitor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    day: date
    venue: Venue
    visitor_class: VisitorClass


class Need(QuotaKey):
    """Places an order needs from one quota, before they are spread over its shards."""

    places: PositiveInt


class QuotaClaim(Need):
    """Places an order holds in one shard of a quota."""

    shard: NonNegativeInt


class Position(BaseModel):
    """One ticket of an order: who it is for."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    visitor_id: Identifier
    visitor_class: VisitorClass


# --- products -------------------------------------------------------------------------


class ProductEvent(TicketsEvent):
    edition_code: EditionCode
    product_code: ProductCode

    def stream_id(self) -> str:
        from .product import product_stream

        return product_stream(self.edition_code, self.product_code)


@registry.event("tickets.product_defined")
class ProductDefined(ProductEvent):
    """A product goes on sale: its days, venues, classes, price and entry rule."""

    kind: PassKind
    name_zh: Text
    name_en: Text
    days: list[date]
    venues: list[Venue]
    classes: list[VisitorClass]
    price: Fen
    reentry: bool
    """May its holder leave and come back the same day?"""
    needs_approval: bool
    """Only for visitors whose class was approved (trade passes, media accreditation)."""


# --- quotas ---------------------------------------------------------------------------


class QuotaEvent(TicketsEvent):
    edition_code: EditionCode
    day: date
    venue: Venue
    visitor_class: VisitorClass
    shard: NonNegativeInt

    def stream_id(self) -> str:
        from .quota import quota_stream

        return quota_stream(self.edition_code, self.day, self.venue, self.visitor_class, self.shard)


@registry.event("tickets.quota_set")
class QuotaSet(QuotaEvent):
    """This shard's part of the venue's capacity for the day and class (epidemic-control
    limits): the shards' capacities add up to the quota's."""

    capacity: NonNegativeInt


@registry.event("tickets.quota_taken")
class QuotaTaken(QuotaEvent):
    """An order holds places: until it is paid, or until its hold expires."""

    order_id: Identifier
    places: PositiveInt


@registry.event("tickets.quota_returned")
class QuotaReturned(QuotaEvent):
    """An order gives its places back: expired, cancelled or refunded."""

    order_id: Identifier
    places: PositiveInt
    why: str


# --- orders ---------------------------------------------------------------------------


class OrderEvent(TicketsEvent):
    order_id: Identifier

    def stream_id(self) -> str:
        from .order import order_stream

        return order_stream(self.order_id)


@registry.event("tickets.order_placed")
class OrderPlaced(OrderEvent):
    """An order holds its quota; it must be paid before `expires_at` (free ones never wait)."""

    edition_code: EditionCode
    product_code: ProductCode
    account: str
    days: list[date]
    """The days its tickets admit on: the chosen day of a day pass, or all of a multi-day pass."""
    positions: list[Position]
    claims: list[QuotaClaim]
    total: Fen
    expires_at: AwareDatetime | None


@registry.event("tickets.order_paid")
class OrderPaid(OrderEvent):
    provider: str
    transaction_id: str
    amount: Fen


@registry.event("tickets.order_issued")
class OrderIssued(OrderEvent):
    """The order's tickets exist: paid, or free."""

    ticket_ids: list[str]


@registry.event("tickets.order_expired")
class OrderExpired(OrderEvent):
    """Not paid in time: its quota went back."""


@registry.event("tickets.order_canceled")
class OrderCanceled(OrderEvent):
    """Cancelled before payment, or a free order given back: its quota went back."""


@registry.event("tickets.order_refunded")
class OrderRefunded(OrderEvent):
    """The money went back through the provider; the tickets are revoked, the quota returned."""

    provider: str
    refund_id: str
    amount: Fen


@registry.event("tickets.payment_unfulfilled")
class PaymentUnfulfilled(OrderEvent):
    """Money the order cannot use: paid after its hold expired when the places had gone to
    others, after a cancellation, or a second time. Kept for the box office to refund."""

    provider: str
    transaction_id: str
    amount: Fen
    why: str


# --- payments -------------------------------------------------------------------------


class PaymentEvent(TicketsEvent):
    provider: str
    transaction_id: str

    def stream_id(self) -> str:
        from .order import payment_stream

        return payment_stream(self.provider, self.transaction_id)


@registry.event("tickets.payment_received")
class PaymentReceived(PaymentEvent):
    """The provider says, signed, that this transaction paid this order."""

    order_id: Identifier
    amount: Fen


# --- tickets and entries ----------------------------------------------------------------


class TicketEvent(TicketsEvent):
    ticket_id: Identifier

    def stream_id(self) -> str:
        from .ticket import ticket_stream

        return ticket_stream(self.ticket_id)


@registry.event("tickets.ticket_issued")
class TicketIssued(TicketEvent):
    order_id: Identifier
    edition_code: EditionCode
    product_code: ProductCode
    visitor_id: Identifier
    visitor_class: VisitorClass
    days: list[date]
    venues: list[Venue]
    reentry: bool


@registry.event("tickets.ticket_revoked")
class TicketRevoked(TicketEvent):
    """No gate may admit it any more; gates learn it from this event."""

    edition_code: EditionCode
    why: str


class Scan(TicketEvent):
    day: date
    venue: Venue
    entrance: EntranceCode
    gate_id: Identifier
    scan_id: Identifier
    scanned_at: AwareDatetime
    offline: bool


@registry.event("tickets.ticket_admitted")
class TicketAdmitted(Scan):
    """A gate let the ticket's holder in."""


@registry.event("tickets.entry_conflict_flagged")
class EntryConflictFlagged(Scan):
    """An offline gate admitted a ticket it should not have (a second entry the same day, or
    a revoked ticket it had not heard of yet): recorded for the venue's security, never lost."""

    conflict: str
    first_gate_id: str | None
    first_entrance: str | None
    first_scanned_at: AwareDatetime | None


# --- visitors -------------------------------------------------------------------------


class VisitorEvent(TicketsEvent):
    visitor_id: Identifier

    def stream_id(self) -> str:
        from .visitor import visitor_stream

        return visitor_stream(self.visitor_id)


@registry.event("tickets.visitor_registered")
class VisitorRegistered(VisitorEvent):
    """A visitor under their real name (实名制): personal fields sealed under their own key."""

    edition_code: EditionCode
    account: str
    visitor_class: VisitorClass
    key_id: str
    name: Sealed
    document_type: DocumentType
    document_number: Sealed
    phone: Sealed
    organisation: Sealed | None
    country_region: str
    """ISO 3166 code (CN, HK, MO, TW, US ...): for the fair's statistics, not personal alone."""
    approved: bool


@registry.event("tickets.visitor_approved")
class VisitorApproved(VisitorEvent):
    """A trade visitor approved by the organiser, or a journalist accredited by the press centre."""

    visitor_class: VisitorClass


@registry.event("tickets.visitor_rejected")
class VisitorRejected(VisitorEvent):
    visitor_class: VisitorClass
    why: str


@registry.event("tickets.visitor_erased")
class VisitorErased(VisitorEvent):
    """The visitor's key is destroyed: their sealed data, wherever it went, cannot be read."""

    key_id: str


# --- signing keys ---------------------------------------------------------------------


class SigningKeyEvent(TicketsEvent):
    edition_code: EditionCode

    def stream_id(self) -> str:
        from .signing import signing_keys_stream

        return signing_keys_stream(self.edition_code)


@registry.event("tickets.signing_key_activated")
class SigningKeyActivated(SigningKeyEvent):
    """New tickets are signed with this key from now on; gates keep trusting the older ones."""

    key_id: str
    public_key: str
    """Ed25519 public key, raw 32 bytes, base64url without padding."""
    activated_at: AwareDatetime
