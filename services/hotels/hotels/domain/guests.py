"""Guests (stream `guest-<id>`): a guest's personal data, sealed under their own key.

    new ─recorded (with a first booking)─▶ recorded ─erase─▶ erased

Fields arrive sealed; the key lives in `guest_keys` beside the events, never in them.
Erasing destroys the key, so every sealed copy (events, read models, partner feeds) can no
longer be opened; a returning guest books under the same key until then.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, NotFound
from fairline_events.registry import DomainEvent
from fairline_events.shredding import Sealed

from .commands import EraseGuest
from .events import GuestErased, GuestRecorded

GuestStatus = Literal["new", "recorded", "erased"]


@dataclass(frozen=True)
class Guest:
    guest_id: str
    status: GuestStatus = "new"
    key_id: str = ""
    name: Sealed | None = None
    planner: str | None = None
    """Whose guest: the planner of the block of their first booking; None for the desk's."""


def guest_stream(guest_id: str) -> str:
    return f"guest-{guest_id}"


def initial_guest(stream_id: str) -> Guest:
    return Guest(stream_id.removeprefix("guest-"))


def bookable(guest: Guest, *, planner: str | None) -> Guest:
    """A guest recorded before, and not erased: a returning guest. A planner books only the
    guests of their own blocks; another's guest is as unknown to them as one never recorded,
    so a guest id tells a planner nothing (the desk books anyone)."""
    if guest.status == "new" or (planner is not None and guest.planner != planner):
        raise NotFound(f"guest {guest.guest_id} not found", code="guest_not_found")
    if guest.status == "erased":
        raise Conflict(f"guest {guest.guest_id} was erased", code="guest_erased")
    return guest


def erase(command: EraseGuest, *, guest: Guest) -> list[DomainEvent]:
    if guest.status == "new":
        raise NotFound(f"guest {guest.guest_id} not found", code="guest_not_found")
    if guest.status == "erased":
        return []
    return [GuestErased(guest_id=guest.guest_id, key_id=guest.key_id)]


def evolve(guest: Guest, event: DomainEvent) -> Guest:
    match event:
        case GuestRecorded():
            return replace(
                guest,
                status="recorded",
                key_id=event.key_id,
                name=event.name,
                planner=event.planner,
            )
        case GuestErased():
            return replace(guest, status="erased")
        case _:
            return guest


GUEST: Fold[Guest] = Fold(initial_guest, evolve)
