"""Event factories for the tickets unit tests: products, quotas, visitors, keys, tickets."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fairline_events.registry import DomainEvent
from fairline_events.shredding import Sealed
from fairline_events.testing import Scenario
from tickets.domain.commands import SetQuota
from tickets.domain.events import (
    ProductDefined,
    QuotaKey,
    SigningKeyActivated,
    TicketIssued,
    VisitorRegistered,
)
from tickets.domain.qr import b64, payload_of, sign_code
from tickets.domain.quota import QUOTA, SHARDS, Quota, set_capacity, shard_streams
from tickets.domain.values import FAIR_TIME

EDITION = "ciftis-2099"
DAY1 = date(2099, 9, 2)
DAY2 = DAY1 + timedelta(days=1)
BEFORE = datetime(2099, 8, 20, 10, 0, tzinfo=FAIR_TIME)
"""When the shop sells: before the fair."""
AT_GATE = datetime(2099, 9, 2, 9, 30, tzinfo=FAIR_TIME)
"""The first morning of the fair, at the gates."""

SECRET = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = b64(SECRET.public_key().public_bytes_raw())
KEY_ID = f"{EDITION}-k1"


def product(code: str = "day-cncc", **kw: Any) -> ProductDefined:
    fields: dict[str, Any] = {
        "edition_code": EDITION,
        "product_code": code,
        "kind": "day",
        "name_zh": "单日票",
        "name_en": "Day pass",
        "days": [DAY1, DAY2],
        "venues": ["cncc"],
        "classes": ["public"],
        "price": 10000,
        "reentry": False,
        "needs_approval": False,
    }
    return ProductDefined(**(fields | kw))


def quota(
    capacity: int, day: date = DAY1, venue: str = "cncc", cls: str = "public"
) -> list[DomainEvent]:
    """A quota's capacity spread over its shards, as setting it does."""
    command = SetQuota.model_validate(
        {
            "edition_code": EDITION,
            "day": day,
            "venue": venue,
            "visitor_class": cls,
            "capacity": capacity,
        }
    )
    shards = [Quota(EDITION, day, venue, cls, n) for n in range(SHARDS)]  # type: ignore[arg-type]
    return set_capacity(command, shards=shards)


def left(scenario: Scenario, day: date = DAY1, venue: str = "cncc", cls: str = "public") -> int:
    """Places left in a quota, all shards together."""
    key = QuotaKey.model_validate({"day": day, "venue": venue, "visitor_class": cls})
    return sum(scenario.state(QUOTA, s).left for s in shard_streams(EDITION, key))


def _sealed(text: str) -> Sealed:
    return Sealed(key_id="vk-1", nonce="AAAA", ciphertext=text)


def visitor(
    visitor_id: str, cls: str = "public", account: str = "acct-1", approved: bool = True
) -> VisitorRegistered:
    return VisitorRegistered.model_validate(
        {
            "visitor_id": visitor_id,
            "edition_code": EDITION,
            "account": account,
            "visitor_class": cls,
            "key_id": f"vk-{visitor_id}",
            "name": _sealed("n"),
            "document_type": "passport",
            "document_number": _sealed("d"),
            "phone": _sealed("p"),
            "organisation": None,
            "country_region": "CN",
            "approved": approved,
        }
    )


def signing_key() -> SigningKeyActivated:
    return SigningKeyActivated(
        edition_code=EDITION, key_id=KEY_ID, public_key=PUBLIC, activated_at=BEFORE
    )


def ticket(
    ticket_id: str = "o-1-1",
    days: list[date] | None = None,
    venues: list[str] | None = None,
    reentry: bool = False,
) -> TicketIssued:
    return TicketIssued.model_validate(
        {
            "ticket_id": ticket_id,
            "order_id": ticket_id.rsplit("-", 1)[0],
            "edition_code": EDITION,
            "product_code": "day-cncc",
            "visitor_id": "v-1",
            "visitor_class": "public",
            "days": days or [DAY1],
            "venues": venues or ["cncc"],
            "reentry": reentry,
        }
    )


def qr_of(issued: TicketIssued, secret: Ed25519PrivateKey = SECRET, key_id: str = KEY_ID) -> str:
    payload = payload_of(
        ticket_id=issued.ticket_id,
        edition_code=issued.edition_code,
        days=issued.days,
        venues=issued.venues,
        visitor_class=issued.visitor_class,
        reentry=issued.reentry,
    )
    return sign_code(secret.private_bytes_raw(), key_id, payload)
