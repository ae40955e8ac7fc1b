"""The QR code on a ticket: what it says, signed with Ed25519 under a key id.

    FT1.<key id>.<payload, base64url JSON>.<signature, base64url>

The signature covers `FT1.<key id>.<payload>`. The payload carries what a gate needs to
decide with no network: the ticket, the edition, its days and venues, the visitor's class
and whether it allows re-entry. Nothing personal: the visitor is checked against their ID
document at the gate, not against data in the code. Pure functions, no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fairline_events.errors import DomainError

PREFIX = "FT1"
_PLAIN = re.compile(r"^[\w.:-]{1,64}$", re.ASCII)


class QrRefused(DomainError):
    """A code no gate may accept; `code` says why (unreadable, forged, altered)."""

    status = 422
    code = "qr_unreadable"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class TicketCode:
    key_id: str
    payload: str
    signature: bytes
    ticket_id: str
    edition_code: str
    days: tuple[date, ...]
    venues: tuple[str, ...]
    visitor_class: str
    reentry: bool

    @property
    def signed(self) -> bytes:
        return f"{PREFIX}.{self.key_id}.{self.payload}".encode()


def payload_of(
    *,
    ticket_id: str,
    edition_code: str,
    days: Sequence[date],
    venues: Sequence[str],
    visitor_class: str,
    reentry: bool,
) -> dict[str, Any]:
    return {
        "t": ticket_id,
        "e": edition_code,
        "d": [d.isoformat() for d in days],
        "v": list(venues),
        "c": visitor_class,
        "r": int(reentry),
    }


def sign_code(private_key: bytes, key_id: str, payload: dict[str, Any]) -> str:
    """The QR text of a ticket, signed with the edition's active key."""
    body = b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    signed = f"{PREFIX}.{key_id}.{body}".encode()
    signature = Ed25519PrivateKey.from_private_bytes(private_key).sign(signed)
    return f"{PREFIX}.{key_id}.{body}.{b64(signature)}"


def read_code(qr: str) -> TicketCode:
    """Parse a QR text, without trusting it yet (see `SigningKeys.verify`)."""
    parts = qr.strip().split(".")
    if len(parts) != 4 or parts[0] != PREFIX:
        raise QrRefused("not a Fairline ticket code", code="qr_unreadable")
    _, key_id, body, signature = parts
    try:
        data = json.loads(unb64(body))
        if not all(_PLAIN.match(str(v)) for v in (key_id, data["t"], data["e"], data["c"])):
            raise ValueError("not an id")  # e.g. a NUL byte, which no stream id may hold
        return TicketCode(
            key_id=key_id,
            payload=body,
            signature=unb64(signature),
            ticket_id=str(data["t"]),
            edition_code=str(data["e"]),
            days=tuple(date.fromisoformat(d) for d in data["d"]),
            venues=tuple(str(v) for v in data["v"]),
            visitor_class=str(data["c"]),
            reentry=bool(data["r"]),
        )
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise QrRefused("the ticket code cannot be read", code="qr_unreadable") from None
