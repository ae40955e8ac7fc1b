"""The payment-provider port, and the development provider behind it.

A provider takes the visitor's money on its own pages, then calls back the notification
endpoint (`POST /payments/{provider}/notifications`) with a body signed by its own key, as
WeChat Pay, Alipay or Stripe do; the service verifies the signature with the provider's
public key before believing a word. Notifications repeat until answered 200, so recording
them is idempotent by the provider's transaction id (`payment-<provider>.<transaction>`).

`DevPay` is the provider for development and tests: it signs with its own Ed25519 key, made
from a seed that every process of the service shares, and refunds at once.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fairline_events.errors import DomainError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .domain.qr import b64, unb64
from .domain.values import Fen, Identifier

SIGNATURE_HEADER = "x-devpay-signature"
TOLERANCE_SECONDS = 300
"""A notification signed longer ago than this is refused: a captured one cannot be replayed
days later, while the provider's own retries (signed afresh) go through."""


class BadSignature(DomainError):
    status = 401
    code = "bad_signature"


class Notification(BaseModel):
    """What a provider says happened to a payment."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    transaction_id: Identifier
    order_id: Identifier
    amount: Fen
    currency: str = Field(default="CNY", pattern="^CNY$")
    status: str = Field(pattern="^paid$")


@dataclass(frozen=True)
class Checkout:
    provider: str
    checkout_url: str
    amount: int


class PaymentProvider(Protocol):
    name: str

    def checkout(self, order_id: str, amount: int) -> Checkout: ...

    def verify(self, body: bytes, signature: str | None, now: float | None = None) -> Notification:
        """The notification, once its signature is verified; BadSignature otherwise."""
        ...

    async def refund(self, transaction_id: str, amount: int, idempotency_key: str) -> str:
        """The provider's refund id; the same key never refunds twice."""
        ...


class DevPay:
    """A provider for development: signs notifications with its own Ed25519 key."""

    name = "devpay"

    def __init__(self, seed: str) -> None:
        raw = hashlib.sha256(f"devpay:{seed}".encode()).digest()
        self._private = Ed25519PrivateKey.from_private_bytes(raw)
        self.public_key: Ed25519PublicKey = self._private.public_key()

    def checkout(self, order_id: str, amount: int) -> Checkout:
        return Checkout(self.name, f"/dev-pay/checkouts/{order_id}", amount)

    def notify(
        self, order_id: str, amount: int, transaction_id: str | None = None, at: float | None = None
    ) -> tuple[bytes, str]:
        """A signed notification, as the provider would POST it: body and signature header."""
        body = json.dumps(
            {
                "transaction_id": transaction_id or f"dp-{uuid.uuid4().hex[:16]}",
                "order_id": order_id,
                "amount": amount,
                "currency": "CNY",
                "status": "paid",
            }
        ).encode()
        stamp = int(at if at is not None else time.time())
        signature = self._private.sign(f"{stamp}.".encode() + body)
        return body, f"t={stamp},sig={b64(signature)}"

    def verify(self, body: bytes, signature: str | None, now: float | None = None) -> Notification:
        try:
            fields = dict(part.split("=", 1) for part in (signature or "").split(","))
            stamp = int(fields["t"])
            self.public_key.verify(unb64(fields["sig"]), f"{stamp}.".encode() + body)
        except (ValueError, KeyError, InvalidSignature):
            raise BadSignature(
                "the notification's signature does not verify with the provider's key"
            ) from None
        if abs((now if now is not None else time.time()) - stamp) > TOLERANCE_SECONDS:
            raise BadSignature(
                "the notification was signed too long ago", code="stale_notification"
            )
        try:
            return Notification.model_validate_json(body)
        except ValidationError:
            raise DomainError(
                "a signed notification this service cannot read", code="unreadable_notification"
            ) from None

    async def refund(self, transaction_id: str, amount: int, idempotency_key: str) -> str:
        return (
            "rf-" + hashlib.sha256(f"{transaction_id}:{idempotency_key}".encode()).hexdigest()[:16]
        )
