"""The ticket code and the dev provider's signature, as a gate and the callback see them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from fairline_events.errors import DomainError
from tickets.domain import signing
from tickets.domain.qr import QrRefused, b64, read_code
from tickets.domain.signing import SigningKeys
from tickets.handlers import new_signing_key
from tickets.payments import DevPay

from .history import EDITION, KEY_ID, PUBLIC, qr_of, ticket

NOW = datetime(2021, 9, 1, 9, tzinfo=UTC)


def test_a_code_says_what_a_gate_needs_and_verifies_with_the_public_key_alone() -> None:
    code = read_code(qr_of(ticket(reentry=True)))
    assert (code.ticket_id, code.edition_code, code.visitor_class, code.reentry) == (
        "o-1-1",
        EDITION,
        "public",
        True,
    )
    SigningKeys(EDITION, keys={KEY_ID: PUBLIC}).verify(code)
    with pytest.raises(QrRefused) as refused:
        SigningKeys(EDITION, keys={}).verify(code)
    assert refused.value.code == "qr_unknown_key"


@pytest.mark.parametrize(
    "payload",
    [
        {"t": "a\x00b", "e": EDITION, "d": [], "v": [], "c": "public", "r": 0},
        {"t": "x" * 65, "e": EDITION, "d": [], "v": [], "c": "public", "r": 0},
        {"t": "ok", "e": EDITION, "d": ["not a date"], "v": [], "c": "public", "r": 0},
        {"e": EDITION},
        [1, 2, 3],
    ],
)
def test_a_code_that_cannot_be_read_is_refused_as_unreadable(payload: object) -> None:
    body = b64(json.dumps(payload).encode())
    with pytest.raises(QrRefused) as refused:
        read_code(f"FT1.{KEY_ID}.{body}.{b64(b'sig')}")
    assert refused.value.code == "qr_unreadable"


def test_the_dev_provider_signs_what_it_says_and_nothing_else_verifies() -> None:
    provider = DevPay("seed")
    body, signature = provider.notify("o-1", 10000, transaction_id="tx-1")
    assert provider.verify(body, signature).transaction_id == "tx-1"
    for tampered, header in [
        (body.replace(b"10000", b"1"), signature),
        (body, signature.replace("t=", "t=1")),
        (body, None),
        (body, "garbage"),
    ]:
        with pytest.raises(DomainError) as refused:
            provider.verify(tampered, header)
        assert refused.value.code == "bad_signature"
    with pytest.raises(DomainError) as refused:
        DevPay("another seed").verify(body, signature)
    assert refused.value.code == "bad_signature"
    old_body, old_signature = provider.notify("o-1", 10000, at=time.time() - 3600)
    with pytest.raises(DomainError) as refused:
        provider.verify(old_body, old_signature)
    assert refused.value.code == "stale_notification"


def test_a_key_id_once_activated_is_never_given_another_public_key() -> None:
    """Scans verify with the keys their process last read: that holds only while a key id,
    once trusted, keeps its public half."""
    first = new_signing_key(EDITION, "k-1")
    keys = SigningKeys(EDITION)
    for event in signing.rotate(first, keys=keys, now=NOW):
        keys = signing.evolve(keys, event)
    again = new_signing_key(EDITION, "k-1")  # the same id, another key pair

    with pytest.raises(DomainError) as refused:
        signing.rotate(again, keys=keys, now=NOW)

    assert refused.value.code == "signing_key_exists"
    assert keys.keys == {"k-1": first.public_key}
