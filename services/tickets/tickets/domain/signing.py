"""The keys tickets are signed with (stream `signing-keys-<edition>`): public halves only.

Each edition signs its tickets with one active Ed25519 key; rotating activates a new one and
keeps trusting the older ones, so tickets already printed still open the gates. The private
halves live in the `signing_keys` table (never an event, never relayed); gates learn the
public halves from these events, or from `GET /editions/{edition}/signing-keys`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fairline_events.decider import Fold
from fairline_events.errors import Conflict
from fairline_events.registry import DomainEvent

from .commands import RotateSigningKey
from .events import SigningKeyActivated
from .qr import QrRefused, TicketCode, unb64


@dataclass(frozen=True)
class SigningKeys:
    edition_code: str
    keys: Mapping[str, str] = field(default_factory=dict)
    """Public keys by key id, base64url."""
    active: str | None = None

    def verify(self, code: TicketCode) -> None:
        """Refuse a code not signed by one of this edition's keys."""
        public = self.keys.get(code.key_id)
        if public is None or code.edition_code != self.edition_code:
            raise QrRefused(f"unknown signing key {code.key_id!r}", code="qr_unknown_key")
        try:
            _public_key(public).verify(code.signature, code.signed)
        except (InvalidSignature, ValueError):
            raise QrRefused("the signature does not match", code="qr_signature_invalid") from None


@lru_cache(maxsize=64)
def _public_key(public: str) -> Ed25519PublicKey:
    """A public key made once per process, not per scan (a gate's busiest path)."""
    return Ed25519PublicKey.from_public_bytes(unb64(public))


def signing_keys_stream(edition_code: str) -> str:
    return f"signing-keys-{edition_code}"


def initial_keys(stream_id: str) -> SigningKeys:
    return SigningKeys(stream_id.removeprefix("signing-keys-"))


def rotate(command: RotateSigningKey, *, keys: SigningKeys, now: datetime) -> list[DomainEvent]:
    """A key id is activated once and its public half never changes: a scan may verify with
    the keys its process last read (`handlers._trusted_keys`) only because of this."""
    if command.key_id in keys.keys:
        raise Conflict(
            f"signing key {command.key_id!r} is already this edition's", code="signing_key_exists"
        )
    return [
        SigningKeyActivated(
            edition_code=command.edition_code,
            key_id=command.key_id,
            public_key=command.public_key,
            activated_at=now,
        )
    ]


def evolve(keys: SigningKeys, event: DomainEvent) -> SigningKeys:
    match event:
        case SigningKeyActivated():
            return replace(
                keys, keys={**keys.keys, event.key_id: event.public_key}, active=event.key_id
            )
        case _:
            return keys


SIGNING_KEYS: Fold[SigningKeys] = Fold(initial_keys, evolve)
