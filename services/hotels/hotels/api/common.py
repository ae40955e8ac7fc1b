"""What every hotels endpoint shares: roles, reading a stream for a view, and sealing and
opening guest data. The store, pool, context and body base are `fairline_events.dependencies`."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any, TypeVar

from fairline_events.auth import Principal, require
from fairline_events.decider import Fold
from fairline_events.dependencies import Acting, Body, acting
from fairline_events.errors import Forbidden
from fairline_events.names import Readable
from fairline_events.shredding import Sealed, new_key, seal, unseal_with
from fairline_events.store import EventStore
from fastapi import Depends
from pydantic import AfterValidator, BaseModel, StringConstraints

from ..domain.commands import NewGuest

PLANNER = "delegation_planner"
"""A delegation's planner: books and sees the rooms of the sub-blocks they plan, nothing more."""

DESK = ("hotel_desk", "ops")

Ops = Annotated[Principal, Depends(require("ops"))]
Desk = Annotated[Principal, Depends(require(*DESK))]
DeskOrPlanner = Annotated[Principal, Depends(require(*DESK, PLANNER))]
Anyone = Annotated[Principal, Depends(require())]

# The role checks of commands: each also brings the store and the command's context, one
# dependency per route (fairline_events.dependencies.Acting).
AsOps = Annotated[Acting, Depends(acting("ops"))]
AsDesk = Annotated[Acting, Depends(acting(*DESK))]
AsDeskOrPlanner = Annotated[Acting, Depends(acting(*DESK, PLANNER))]


S = TypeVar("S")


async def current(store: EventStore, fold: Fold[S], stream_id: str) -> tuple[S, int]:
    """A stream's state and version as it stands, for a view (commands read their own)."""
    return await store.load(stream_id, fold.evolve, fold.initial(stream_id))


def planner_of(who: Principal) -> str | None:
    """The planner a request acts as: None for the desk and operations, who act on any block."""
    if who.has_any(DESK):
        return None
    return who.subject


def partner_hotel_of(who: Principal, hotel_code: str) -> None:
    """A partner hotel's token speaks for one hotel: its subject is `hotel:<code>`."""
    if who.has_any(DESK):
        return
    if who.subject != f"hotel:{hotel_code}":
        raise Forbidden(f"this token does not speak for {hotel_code}", code="not_your_hotel")


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
        raise ValueError("an ID card or passport number: 5 to 24 letters and digits")
    return value


PersonName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), Readable
]
Phone = Annotated[str, AfterValidator(_phone)]
Document = Annotated[str, AfterValidator(_document)]


class GuestDetails(Body):
    """A guest's personal data as it arrives; it is sealed before anything is stored."""

    name: PersonName
    phone: Phone | None = None
    id_document: Document | None = None


class GuestView(BaseModel):
    guest_id: str
    erased: bool
    name: str | None
    phone: str | None = None
    id_document: str | None = None


def seal_guest(details: GuestDetails) -> NewGuest:
    """Seal every personal field under a new key; the key is stored with the booking."""
    key_id = f"gk-{uuid.uuid4().hex}"
    key = new_key()
    fields: dict[str, Any] = {
        field: seal(key, key_id, field, value)
        for field, value in details.model_dump(exclude_none=True).items()
    }
    return NewGuest(key_id=key_id, key=key, **fields)


def opened(keys: dict[str, bytes], sealed: Sealed | None, field: str) -> str | None:
    return unseal_with(keys, sealed, field)
