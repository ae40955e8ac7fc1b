"""A partner hotel implements the feed from its documents alone: kcat reads the hotel's own
topic as the hotel's principal, and a few lines that use only the `cryptography` package
open the sealed guest name following `/partner/asyncapi.json`, nothing from our code."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from support.kafka_access import run_kcat
from support.waiting import eventually

from .conftest import Api, Principals

pytestmark = pytest.mark.infra

GUEST = "Zhou Xun"


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def at(document: dict[str, Any], location: str) -> Any:
    for part in location.split("."):
        document = document[part]
    return document


async def test_a_partner_opens_a_sealed_name_read_with_kcat_using_only_the_contract(
    api: Api, principals: Principals
) -> None:
    await api.hotel()
    await api.allot(10, 1, 3)
    made = await api.book(1, 3, guest={"name": GUEST})
    assert made.status_code == 201, made.text
    contract = await api.ok("GET", "/partner/asyncapi.json", "partner_cncc")
    sealing = contract["x-sealed-fields"]
    assert sealing["alg"] == "A256GCM" and sealing["algorithm"] == "AES-256-GCM"
    (spec,) = sealing["fields"]
    assert (
        "x1f" in contract["info"]["description"]
        and "x1f" in (contract["components"]["schemas"]["Sealed"]["description"])
    ), "the rule is in the prose too"

    hotel = principals.partners["cncc-grand"]
    topic = principals.feed("cncc-grand")

    async def booking_messages() -> list[dict[str, Any]]:
        read = await asyncio.to_thread(
            run_kcat, hotel, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q"
        )
        if read.returncode != 0:
            return []
        lines = [json.loads(line) for line in read.stdout.splitlines() if line.strip()]
        return [
            json.loads(line["payload"])
            for line in lines
            if line.get("payload")
            and json.loads(line["payload"])["message_type"] == "booking.created"
        ]

    (message,) = await eventually(booking_messages, bool, what="the booking read with kcat")
    sealed = at(message, spec["location"])
    assert GUEST not in json.dumps(message), "the name travels sealed"
    assert len(unb64(sealed["nonce"])) == sealing["nonce_bytes"]

    endpoint = sealing["key_endpoint"]
    path = endpoint["path"].format(hotel_code="cncc-grand", key_id=sealed["key_id"])
    got = await api.call(endpoint["method"], path, "partner_cncc")
    assert got.status_code == 200, got.text
    key = unb64(got.json()["key"])
    aad = sealing["associated_data"]["template"].format(
        key_id=sealed["key_id"], field=spec["field"]
    )
    opened = AESGCM(key).decrypt(
        unb64(sealed["nonce"]),
        unb64(sealed["ciphertext"]),
        aad.encode(sealing["associated_data"]["encoding"]),
    )
    assert opened.decode() == GUEST

    # The service's own contract lists the partner topics it writes.
    own = await api.ok("GET", "/asyncapi.json", "ops")
    addresses = [c.get("address", "") for c in own["channels"].values()]
    assert "{prefix}partner.{hotel_code}.bookings" in addresses
    assert any(o["action"] == "send" and "artner" in name for name, o in own["operations"].items())

    # After erasure the key endpoint answers as the contract says: gone.
    guest_id = made.json()["guest"]["guest_id"]
    await api.ok("POST", f"/guests/{guest_id}/erasure", "ops")
    gone = await api.call(endpoint["method"], path, "partner_cncc")
    assert gone.status_code == 410 and endpoint["gone"].startswith("410")
