"""What partner hotels ask of the platform: guest keys (while they exist) and the contract."""

from __future__ import annotations

from typing import Annotated, Any

from fairline_events.auth import Principal, require
from fairline_events.dependencies import Pool
from fairline_events.errors import DomainError, NotFound
from fairline_events.shredding import KeyDestroyed, encode_key
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel

from ..handlers import guest_keys
from ..partner.contract import asyncapi_document
from .common import Anyone, partner_hotel_of

router = APIRouter(tags=["partner hotels"])

PartnerHotel = Annotated[Principal, Depends(require("partner_hotel"))]


class GuestErased(DomainError):
    status = 410
    code = "guest_erased"


class GuestKey(BaseModel):
    key_id: str
    alg: str = "A256GCM"
    key: str
    """base64url, 32 bytes: opens the sealed guest fields of this hotel's feed."""


@router.get(
    "/partner/hotels/{hotel_code}/guest-keys/{key_id}",
    summary="the key that opens a guest's name in the feed; gone (410) once the guest is erased",
    responses={410: {"description": "the guest was erased: delete what you hold of them"}},
)
async def guest_key(
    hotel_code: str, key_id: str, who: PartnerHotel, pool: Pool, response: Response
) -> GuestKey:
    partner_hotel_of(who, hotel_code)
    granted = await pool.fetchval(
        "SELECT 1 FROM guest_key_grants WHERE key_id = $1 AND hotel_code = $2",
        key_id,
        hotel_code,
    )
    try:
        key = await guest_keys.get(pool, key_id)
    except KeyDestroyed:
        raise GuestErased(
            "the guest was erased; delete their personal data", key_id=key_id
        ) from None
    except KeyError:
        key = None
    if key is None or not granted:
        raise NotFound(f"no guest key {key_id} for {hotel_code}", code="guest_key_not_found")
    response.headers["Cache-Control"] = "no-store"
    return GuestKey(key_id=key_id, key=encode_key(key))


@router.get(
    "/partner/asyncapi.json",
    summary="the partner feed's contract (AsyncAPI 3.0, with examples)",
)
async def partner_contract(who: Anyone) -> Any:
    return asyncapi_document()
