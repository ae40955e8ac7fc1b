"""What every tickets endpoint shares: roles, sealing and opening visitors' data, and the
payment providers. The store, pool, context and body base are `fairline_events.dependencies`."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fairline_events.auth import Principal, require
from fairline_events.dependencies import Acting, Body, acting
from fairline_events.shredding import Sealed, new_key, seal
from fastapi import Depends, Request
from pydantic import AfterValidator, StringConstraints

from ..domain.commands import NewVisitor
from ..domain.values import DocumentType, EditionCode, VisitorClass
from ..payments import DevPay, PaymentProvider

VISITOR = "visitor"
"""A visitor's own account: registers people, orders and pays for them, sees their tickets."""
BOX_OFFICE = "box_office"
"""The organiser's ticketing desk: products, quotas, approvals, orders for anyone, refunds."""
PRESS_CENTRE = "press_centre"
"""大会新闻中心: accredits media."""
GATE = "gate"
"""An entrance's scanner at CNCC or Shougang."""
OPS = "ops"

Anyone = Annotated[Principal, Depends(require())]
BoxOffice = Annotated[Principal, Depends(require(BOX_OFFICE, OPS))]
Reviewer = Annotated[Principal, Depends(require(BOX_OFFICE, PRESS_CENTRE, OPS))]
Buyer = Annotated[Principal, Depends(require(VISITOR, BOX_OFFICE, OPS))]
Gate = Annotated[Principal, Depends(require(GATE, OPS))]
Ops = Annotated[Principal, Depends(require(OPS))]

# The role checks of commands: each also brings the store and the command's context, one
# dependency per route (fairline_events.dependencies.Acting).
AsAnyone = Annotated[Acting, Depends(acting())]
AsBoxOffice = Annotated[Acting, Depends(acting(BOX_OFFICE, OPS))]
AsReviewer = Annotated[Acting, Depends(acting(BOX_OFFICE, PRESS_CENTRE, OPS))]
AsBuyer = Annotated[Acting, Depends(acting(VISITOR, BOX_OFFICE, OPS))]
AsGate = Annotated[Acting, Depends(acting(GATE, OPS))]
AsOps = Annotated[Acting, Depends(acting(OPS))]


def is_box_office(who: Principal) -> bool:
    return who.has_any((BOX_OFFICE, OPS))


def reviewer_of(who: Principal) -> str:
    """Which review desk a caller speaks for."""
    if "admin" in who.roles or OPS in who.roles:
        return "ops"
    return "press_centre" if PRESS_CENTRE in who.roles else "organiser"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL bytes are not allowed")
    return value


_PHONE = re.compile(r"^\+?[0-9 ()\-]{5,25}$")
_DOCUMENT = re.compile(r"^[A-Za-z0-9]{5,24}$")


def _phone(value: str) -> str:
    value = value.strip()
    if not _PHONE.match(value):
        raise ValueError("not a phone number (digits, spaces, +, -, parentheses)")
    return value


def _document(value: str) -> str:
    value = value.strip().upper()
    if not _DOCUMENT.match(value):
        raise ValueError("an ID card, passport or permit number: 5 to 24 letters and digits")
    return value


PersonName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(_no_nul),
]
Phone = Annotated[str, AfterValidator(_phone)]
Document = Annotated[str, AfterValidator(_document)]
CountryRegion = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{2}$")
]


class Registration(Body):
    """A visitor under their real name; personal fields are sealed before anything is kept."""

    visitor_class: VisitorClass
    name: PersonName
    document_type: DocumentType
    document_number: Document
    phone: Phone
    organisation: PersonName | None = None
    country_region: CountryRegion
    """ISO 3166 alpha-2: CN, HK, MO, TW, US ..."""


SEALED_FIELDS = ("name", "document_number", "phone", "organisation")


def seal_visitor(
    registration: Registration,
    *,
    visitor_id: str,
    edition_code: EditionCode,
    account: str,
    by_organiser: bool,
) -> NewVisitor:
    """Seal every personal field under a new key; the key is stored with the registration."""
    key_id = f"vk-{uuid.uuid4().hex}"
    key = new_key()
    sealed: dict[str, Sealed | None] = {
        field: seal(key, key_id, field, value) if value is not None else None
        for field in SEALED_FIELDS
        for value in [getattr(registration, field)]
    }
    return NewVisitor(
        visitor_id=visitor_id,
        edition_code=edition_code,
        account=account,
        visitor_class=registration.visitor_class,
        key_id=key_id,
        key=key,
        document_type=registration.document_type,
        country_region=registration.country_region,
        by_organiser=by_organiser,
        **sealed,
    )


async def providers(request: Request) -> dict[str, PaymentProvider]:
    """The payment providers this process knows, made once from its settings. Async, though
    it never waits: FastAPI runs a plain `def` dependency in its thread pool, a thread
    hand-off on every order."""
    state: Any = request.app.state
    known: dict[str, PaymentProvider] | None = getattr(state, "payment_providers", None)
    if known is None:
        settings = state.runtime.settings
        known = {"devpay": DevPay(settings.fairline_auth_secret or "fairline-dev")}
        state.payment_providers = known
    return known


Providers = Annotated[dict[str, PaymentProvider], Depends(providers)]
