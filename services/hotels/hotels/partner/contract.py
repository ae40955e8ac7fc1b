"""The partner-hotel feed: one Kafka topic per hotel, a small versioned contract.

Topic `<prefix>partner.<hotel_code>.bookings`, keyed by `subject_id` (the booking's or the
block's id), so everything about one booking arrives in order. Each message says what the
hotel needs to take the booking into its own system, and nothing else: no staff ids, no
trace data, no phone or ID numbers. The guest's name travels sealed under the guest's key;
a hotel fetches that key from the hotels API (`GET /partner/hotels/{hotel_code}/guest-keys/
{key_id}`) while it exists, and must delete the name when `booking.guest_erased` arrives.

Consumers apply a booking or block message only when its `subject_version` is newer than
the last one they applied for that subject, and skip any `message_id` they have seen:
messages may come again (at least once), never out of order for one subject.

Versioning: `contract_version` changes only for a breaking change; fields may be added
within a version, so consumers ignore fields they do not know.

Connecting: SASL/SCRAM-SHA-256 (over TLS where the broker is reached across a network) as
the hotel's own principal `hotel.<hotel_code>`, which may read only this hotel's topic (and
use consumer groups named `<prefix>hotel.<hotel_code>.*`); it cannot write anywhere.

Opening a sealed field (`x-sealed-fields` says the same, for programs): a `Sealed` value is
AES-256-GCM (`alg` "A256GCM"). `nonce` is the 12-byte nonce and `ciphertext` the ciphertext
followed by the 16-byte tag, both base64url without padding. The key is
`GET /partner/hotels/{hotel_code}/guest-keys/{key_id}` on the hotels API (bearer token of
subject `hotel:<hotel_code>`, role `partner_hotel`): JSON `{"key_id", "alg", "key"}`, `key`
being 32 bytes, base64url without padding; 410 means the guest was erased (delete what you
hold of them), 404 an unknown key. The associated data is the UTF-8 encoding of
`key_id + "\\x1f" + field`, where `field` is the sealed value's own field name (`name` for
`booking.guest.name`): a sealed value opens only as the field it was sealed for. In Python,
with the `cryptography` package:

    from base64 import urlsafe_b64decode as b64
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    def unb64(text): return b64(text + "=" * (-len(text) % 4))
    def open_field(key_b64, sealed, field):
        aad = (sealed["key_id"] + "\\x1f" + field).encode()
        return AESGCM(unb64(key_b64)).decrypt(
            unb64(sealed["nonce"]), unb64(sealed["ciphertext"]), aad).decode()

A key may be kept only while it is needed to take the booking in; never store it beside
the ciphertext.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fairline_events.shredding import Sealed
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

CONTRACT_VERSION: Literal[1] = 1


def partner_topic(hotel_code: str) -> str:
    """The topic name without the platform's prefix."""
    return f"partner.{hotel_code}.bookings"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Message(_Model):
    contract_version: Literal[1] = CONTRACT_VERSION
    message_id: uuid.UUID = Field(description="unique; a message seen before is skipped")
    hotel_code: str
    occurred_at: AwareDatetime
    subject_id: str = Field(description="the booking or block id; also the Kafka key")
    subject_version: int | None = Field(
        description="grows with each change of the subject: apply only a newer one"
    )


class PartnerBlock(_Model):
    block_id: str
    parent_block_id: str | None = Field(description="set for a delegation's sub-block")
    group: Literal["staff", "delegation", "media", "exhibitor", "sponsor"]
    name: str = Field(description="the group's name, e.g. a delegation; never a person's")
    first_night: date
    last_night: date
    rooms: dict[str, int] = Field(description="rooms held per room type, every night")
    cut_off_at: AwareDatetime


class BlockCreated(_Message):
    """Rooms are held for a group; bookings into it follow."""

    message_type: Literal["block.created"] = "block.created"
    block: PartnerBlock


class BlockReleased(_Message):
    """The block's cut-off passed: its unbooked rooms went back to the parent or the hotel."""

    message_type: Literal["block.released"] = "block.released"
    block_id: str
    released_to_block_id: str | None
    released_room_nights: int


class GuestName(_Model):
    name: Sealed | None = Field(description="AES-256-GCM under the guest key `name.key_id`")


class PartnerBooking(_Model):
    booking_id: str
    block_id: str | None
    room_type: str
    arrival: date
    departure: date
    board: Literal["room_only", "breakfast", "full_board"]
    requests: list[str]
    nightly_rates: list[int]
    total: int
    currency: Literal["CNY"] = "CNY"
    guest: GuestName


class BookingConfirmed(_Message):
    """The booking as it stands now (made or modified): replace what you hold."""

    message_type: Literal["booking.created", "booking.modified"]
    booking: PartnerBooking


class BookingCancelled(_Message):
    message_type: Literal["booking.cancelled"] = "booking.cancelled"
    booking_id: str


class BookingNoShow(_Message):
    """The guest never came: the first night is charged, the other nights were given back."""

    message_type: Literal["booking.no_show"] = "booking.no_show"
    booking_id: str
    charged: int
    currency: Literal["CNY"] = "CNY"


class GuestErased(_Message):
    """The guest asked to be forgotten: delete their personal data for this booking now."""

    message_type: Literal["booking.guest_erased"] = "booking.guest_erased"
    booking_id: str


PartnerMessage = Annotated[
    BlockCreated
    | BlockReleased
    | BookingConfirmed
    | BookingCancelled
    | BookingNoShow
    | GuestErased,
    Field(discriminator="message_type"),
]
MESSAGES: TypeAdapter[Any] = TypeAdapter(PartnerMessage)


def decode(raw: bytes | str) -> Any:
    """One feed message as its contract model; raises pydantic's ValidationError otherwise."""
    return MESSAGES.validate_json(raw)


def _examples() -> dict[str, list[dict[str, Any]]]:
    at = datetime(2021, 8, 2, 9, 30, tzinfo=UTC)
    sealed = Sealed(key_id="gk-3f1c2a9b7e6d", nonce="q83vEjRWeJq8", ciphertext="9Xq1…Zw")
    block = PartnerBlock(
        block_id="blk-sg-delegation",
        parent_block_id="blk-delegations",
        group="delegation",
        name="Singapore delegation",
        first_night=date(2021, 9, 1),
        last_night=date(2021, 9, 6),
        rooms={"deluxe": 12},
        cut_off_at=datetime(2021, 8, 18, 15, 59, 59, tzinfo=UTC),
    )
    booking = PartnerBooking(
        booking_id="bk-5e0d4c7a1b2f",
        block_id="blk-sg-delegation",
        room_type="deluxe",
        arrival=date(2021, 9, 1),
        departure=date(2021, 9, 4),
        board="breakfast",
        requests=["non_smoking", "late_arrival"],
        nightly_rates=[1200, 1200, 1200],
        total=3600,
        guest=GuestName(name=sealed),
    )
    common: dict[str, Any] = {"hotel_code": "continental", "occurred_at": at}
    msg = uuid.UUID
    messages: list[_Message] = [
        BlockCreated(
            message_id=msg("0f8d7c6b-5a49-4382-a716-1a2b3c4d5e6f"),
            subject_id=block.block_id,
            subject_version=1,
            block=block,
            **common,
        ),
        BookingConfirmed(
            message_type="booking.created",
            message_id=msg("6b1f3a52-8e0c-4d2b-9a47-3c5d7e9f1a2b"),
            subject_id=booking.booking_id,
            subject_version=1,
            booking=booking,
            **common,
        ),
        BookingConfirmed(
            message_type="booking.modified",
            message_id=msg("7c2a4b63-9f1d-4e3c-8b58-4d6e8f0a2b3c"),
            subject_id=booking.booking_id,
            subject_version=2,
            booking=booking.model_copy(
                update={"departure": date(2021, 9, 5), "nightly_rates": [1200] * 4, "total": 4800}
            ),
            **common,
        ),
        BookingCancelled(
            message_id=msg("8d3b5c74-0a2e-4f4d-9c69-5e7f9a1b3c4d"),
            subject_id=booking.booking_id,
            subject_version=3,
            booking_id=booking.booking_id,
            **common,
        ),
        BookingNoShow(
            message_id=msg("9e4c6d85-1b3f-4a5e-8d7a-6f8a0b2c4d5e"),
            subject_id="bk-1a2b3c4d5e6f",
            subject_version=2,
            booking_id="bk-1a2b3c4d5e6f",
            charged=1200,
            **common,
        ),
        GuestErased(
            message_id=msg("af5d7e96-2c4a-4b6f-9e8b-7a9b1c3d5e6f"),
            subject_id=booking.booking_id,
            subject_version=None,
            booking_id=booking.booking_id,
            **common,
        ),
        BlockReleased(
            message_id=msg("b06e8fa7-3d5b-4c7a-8f9c-8b0c2d4e6f7a"),
            subject_id=block.block_id,
            subject_version=3,
            block_id=block.block_id,
            released_to_block_id="blk-delegations",
            released_room_nights=14,
            **common,
        ),
    ]
    out: dict[str, list[dict[str, Any]]] = {}
    for message in messages:
        out.setdefault(type(message).__name__, []).append(message.model_dump(mode="json"))
    return out


def asyncapi_document() -> dict[str, Any]:
    """The feed's AsyncAPI 3.0 document, schemas generated from the models, with examples."""
    kinds: list[type[_Message]] = [
        BlockCreated,
        BlockReleased,
        BookingConfirmed,
        BookingCancelled,
        BookingNoShow,
        GuestErased,
    ]
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    examples = _examples()
    headers = {
        "type": "object",
        "properties": {
            "message_type": {"type": "string"},
            "contract_version": {"type": "string", "const": str(CONTRACT_VERSION)},
            "message_id": {"type": "string", "format": "uuid"},
            "content-type": {"type": "string", "const": "application/json"},
        },
    }
    for kind in kinds:
        schema = kind.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[kind.__name__] = schema
        messages[kind.__name__] = {
            "name": kind.__name__,
            "title": kind.__name__,
            "summary": (kind.__doc__ or kind.__name__).strip().splitlines()[0],
            "contentType": "application/json",
            "headers": headers,
            "payload": {"$ref": f"#/components/schemas/{kind.__name__}"},
            "examples": [
                {"name": f"{kind.__name__}-{i}", "payload": payload}
                for i, payload in enumerate(examples.get(kind.__name__, []), start=1)
            ],
        }
    schemas["Sealed"]["description"] = SEALED_DESCRIPTION
    refs = {name: {"$ref": f"#/components/messages/{name}"} for name in messages}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Fairline partner-hotel booking feed",
            "version": f"{CONTRACT_VERSION}.0.0",
            "description": (__doc__ or "").strip(),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": "{bootstrap}",
                "protocol": "kafka-secure",
                "description": "the platform's Kafka; the operator gives each hotel its address,"
                " principal and password",
                "variables": {"bootstrap": {"description": "host:port of the brokers"}},
                "security": [{"$ref": "#/components/securitySchemes/partnerPrincipal"}],
            }
        },
        "channels": {"partnerBookings": feed_channel(refs)},
        "operations": {
            "receiveBookings": {
                "action": "receive",
                "title": "a partner hotel takes blocks and bookings into its own system",
                "channel": {"$ref": "#/channels/partnerBookings"},
                "messages": [
                    {"$ref": f"#/channels/partnerBookings/messages/{name}"} for name in messages
                ],
            }
        },
        "components": {
            "messages": messages,
            "schemas": schemas,
            "securitySchemes": {
                "partnerPrincipal": {
                    "type": "scramSha256",
                    "description": "SASL/SCRAM-SHA-256 as `hotel.<hotel_code>`: reads this"
                    " hotel's topic only",
                }
            },
        },
        "x-sealed-fields": SEALED_FIELDS,
    }


def published_feeds() -> dict[str, Any]:
    """The feeds as the hotels service's own AsyncAPI lists them: it sends, hotels receive.
    Names get a `Partner` prefix, as the service's events have schemas of the same names."""
    text = json.dumps(asyncapi_document())
    for section in ("schemas", "messages"):
        text = text.replace(f'"#/components/{section}/', f'"#/components/{section}/Partner')
    text = text.replace(
        '"#/channels/partnerBookings/messages/', '"#/channels/partnerBookings/messages/Partner'
    )
    feed = json.loads(text)
    for section in ("schemas", "messages"):
        items = feed["components"][section]
        feed["components"][section] = {f"Partner{k}": v for k, v in items.items()}
    channel = feed["channels"]["partnerBookings"]
    channel["messages"] = {f"Partner{k}": v for k, v in channel["messages"].items()}
    names = list(feed["components"]["messages"])
    return {
        "channels": {"partnerBookings": feed["channels"]["partnerBookings"]},
        "operations": {
            "sendPartnerBookings": {
                "action": "send",
                "title": "each partner hotel's feed (contract: /partner/asyncapi.json)",
                "channel": {"$ref": "#/channels/partnerBookings"},
                "messages": [
                    {"$ref": f"#/channels/partnerBookings/messages/{name}"} for name in names
                ],
            }
        },
        "components": {
            "messages": feed["components"]["messages"],
            "schemas": feed["components"]["schemas"],
        },
    }


def feed_channel(messages: dict[str, Any]) -> dict[str, Any]:
    """The channel of every hotel's feed (also listed in the hotels service's AsyncAPI)."""
    return {
        "address": "{prefix}partner.{hotel_code}.bookings",
        "title": "one hotel's blocks and bookings",
        "description": "Keyed by subject_id; one topic (and ACL) per partner hotel.",
        "parameters": {
            "prefix": {"description": "the platform's topic prefix, e.g. `fairline.`"},
            "hotel_code": {"description": "the hotel, e.g. `cncc-grand`"},
        },
        "messages": messages,
    }


SEALED_DESCRIPTION = (
    "A personal value under the guest's key: AES-256-GCM, 12-byte nonce, 16-byte tag after"
    " the ciphertext, both base64url without padding; associated data is the UTF-8 of"
    " key_id + \"\\x1f\" + the field's own name (`name` for a guest's name). The key comes"
    " from GET /partner/hotels/{hotel_code}/guest-keys/{key_id} (410: erased). See"
    " `x-sealed-fields`."
)

# Everything a program needs to open a sealed field, without reading our code.
SEALED_FIELDS: dict[str, Any] = {
    "algorithm": "AES-256-GCM",
    "alg": "A256GCM",
    "encoding": "base64url without padding (RFC 4648 section 5) for nonce, ciphertext and key",
    "nonce_bytes": 12,
    "tag_bytes": 16,
    "tag": "the last 16 bytes of the decoded ciphertext",
    "associated_data": {
        "template": "{key_id}\u001f{field}",
        "encoding": "utf-8",
        "description": "the sealed value's key_id, the unit separator U+001F, then the field"
        " name listed under `fields`",
    },
    "key_endpoint": {
        "method": "GET",
        "path": "/partner/hotels/{hotel_code}/guest-keys/{key_id}",
        "server": "the hotels API (the operator gives its address)",
        "authorization": "Bearer token of subject `hotel:<hotel_code>` with role `partner_hotel`",
        "response": {"key_id": "the id asked for", "alg": "A256GCM", "key": "32 bytes, base64url"},
        "gone": "410: the guest was erased; delete the field's plaintext you hold",
        "not_found": "404: no such key for this hotel",
    },
    "fields": [
        {
            "messages": ["BookingConfirmed"],
            "location": "booking.guest.name",
            "field": "name",
            "null": "no name was given, or the guest was erased before the message was built",
        }
    ],
}
