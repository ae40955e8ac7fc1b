"""Products, quotas and the edition's signing keys: what the box office sets up."""

from __future__ import annotations

from datetime import date, datetime

from fairline_events.dependencies import Body, Store
from fastapi import APIRouter
from pydantic import BaseModel, Field, NonNegativeInt

from ..domain.commands import DefineProduct, SetQuota
from ..domain.events import QuotaKey
from ..domain.product import Product, product_stream
from ..domain.quota import Quota, shard_streams
from ..domain.signing import SIGNING_KEYS, signing_keys_stream
from ..domain.values import EditionCode, Fen, PassKind, ProductCode, Text, Venue, VisitorClass
from ..handlers import define_product, new_signing_key, rotate_signing_key, set_quota
from .common import AsBoxOffice, AsOps, Gate

router = APIRouter(tags=["catalogue"])


class ProductIn(Body):
    product_code: ProductCode
    kind: PassKind
    """`day`: the visitor picks one of its days; `multi_day`: valid on all of them."""
    name_zh: Text
    name_en: Text
    days: list[date] = Field(min_length=1, max_length=31)
    venues: list[Venue] = Field(min_length=1, max_length=2)
    classes: list[VisitorClass] = Field(min_length=1, max_length=5)
    price: Fen
    """In fen: 8000 is 80 yuan; 0 for a free pass."""
    reentry: bool = False
    needs_approval: bool = False


class ProductView(BaseModel):
    edition_code: str
    product_code: str
    kind: str
    name_en: str
    days: list[date]
    venues: list[str]
    classes: list[str]
    price: int
    reentry: bool
    needs_approval: bool


def product_view(product: Product) -> ProductView:
    return ProductView(
        edition_code=product.edition_code,
        product_code=product.product_code,
        kind=product.kind,
        name_en=product.name_en,
        days=list(product.days),
        venues=list(product.venues),
        classes=list(product.classes),
        price=product.price,
        reentry=product.reentry,
        needs_approval=product.needs_approval,
    )


@router.post(
    "/editions/{edition_code}/products",
    status_code=201,
    summary="put a product on sale: a day pass, a multi-day pass, a trade pass",
)
async def create_product(
    edition_code: EditionCode, body: ProductIn, acting: AsBoxOffice
) -> ProductView:
    command = DefineProduct(edition_code=edition_code, **body.model_dump())
    outcome = await define_product(acting.store, command, acting.context)
    return product_view(outcome.state(product_stream(edition_code, body.product_code), Product))


class QuotaIn(Body):
    day: date
    venue: Venue
    visitor_class: VisitorClass
    capacity: NonNegativeInt = Field(le=1_000_000)


class QuotaView(BaseModel):
    day: date
    venue: str
    visitor_class: str
    capacity: int
    taken: int
    left: int


@router.put(
    "/editions/{edition_code}/quotas",
    summary="set one day's capacity at one venue for one class of visitor",
)
async def put_quota(edition_code: EditionCode, body: QuotaIn, acting: AsBoxOffice) -> QuotaView:
    command = SetQuota(edition_code=edition_code, **body.model_dump())
    outcome = await set_quota(acting.store, command, acting.context)
    key = QuotaKey(day=body.day, venue=body.venue, visitor_class=body.visitor_class)
    shards = [outcome.state(s, Quota) for s in shard_streams(edition_code, key)]
    return QuotaView(
        day=body.day,
        venue=body.venue,
        visitor_class=body.visitor_class,
        capacity=sum(s.capacity or 0 for s in shards),
        taken=sum(s.taken for s in shards),
        left=sum(s.left for s in shards),
    )


class SigningKeyView(BaseModel):
    key_id: str
    public_key: str
    """Ed25519, raw 32 bytes, base64url without padding."""
    active: bool


class SigningKeysView(BaseModel):
    edition_code: str
    algorithm: str = "Ed25519"
    keys: list[SigningKeyView]


@router.get(
    "/editions/{edition_code}/signing-keys",
    summary="the public keys a gate verifies tickets with, offline",
)
async def signing_keys(edition_code: EditionCode, who: Gate, store: Store) -> SigningKeysView:
    stream = signing_keys_stream(edition_code)
    keys, _ = await store.load(stream, SIGNING_KEYS.evolve, SIGNING_KEYS.initial(stream))
    return SigningKeysView(
        edition_code=edition_code,
        keys=[
            SigningKeyView(key_id=k, public_key=v, active=k == keys.active)
            for k, v in keys.keys.items()
        ],
    )


class Rotation(Body):
    reason: Text | None = None


@router.post(
    "/editions/{edition_code}/signing-keys/rotation",
    status_code=201,
    summary="sign new tickets with a new key; tickets signed before still verify",
)
async def rotate(edition_code: EditionCode, body: Rotation, acting: AsOps) -> SigningKeysView:
    key_id = f"{edition_code}-k{int(datetime.now().timestamp() * 1000)}"
    await rotate_signing_key(
        acting.store, new_signing_key(edition_code, key_id), acting.context.because(body.reason)
    )
    return await signing_keys(edition_code, acting.who, acting.store)
