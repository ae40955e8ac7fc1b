"""The partner feed's contract: every message kind documented, with examples that decode."""

from __future__ import annotations

import json

import pytest
from hotels.partner.contract import MESSAGES, asyncapi_document, decode
from pydantic import ValidationError


def test_every_message_kind_has_a_schema_and_an_example_that_decodes() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0" and document["info"]["version"] == "1.0.0"
    channel = document["channels"]["partnerBookings"]
    assert channel["address"] == "{prefix}partner.{hotel_code}.bookings"
    messages = document["components"]["messages"]
    assert set(messages) == {
        "BlockCreated",
        "BlockReleased",
        "BookingConfirmed",
        "BookingCancelled",
        "BookingNoShow",
        "GuestErased",
    }
    seen_types = set()
    for name, message in messages.items():
        assert message["examples"], f"{name} has no example"
        assert message["payload"]["$ref"] in {
            f"#/components/schemas/{s}" for s in document["components"]["schemas"]
        }
        for example in message["examples"]:
            decoded = decode(json.dumps(example["payload"]))
            assert type(decoded).__name__ == name
            seen_types.add(decoded.message_type)
    assert seen_types == {
        "block.created",
        "block.released",
        "booking.created",
        "booking.modified",
        "booking.cancelled",
        "booking.no_show",
        "booking.guest_erased",
    }
    json.dumps(document)  # serialisable as it is served


def test_consumers_ignore_new_fields_but_refuse_another_contract_version() -> None:
    example = asyncapi_document()["components"]["messages"]["BookingCancelled"]["examples"][0]
    payload = dict(example["payload"])
    assert decode(json.dumps(payload | {"added_later": 1})).booking_id == payload["booking_id"]
    with pytest.raises(ValidationError):
        decode(json.dumps(payload | {"contract_version": 2}))
    with pytest.raises(ValidationError):
        MESSAGES.validate_python(payload | {"message_type": "booking.teleported"})


def test_the_booking_message_carries_no_personal_field_in_clear() -> None:
    schema = json.dumps(asyncapi_document()["components"]["schemas"]["PartnerBooking"])
    for field in ("phone", "id_document", "passport", "guest_id", "actor"):
        assert field not in schema
