"""A tiny event vocabulary for testing the shared core without any service."""

from __future__ import annotations

from fairline_events.registry import DomainEvent, EventRegistry

registry = EventRegistry()


@registry.event("test.BoothHeld", version=2)
class BoothHeld(DomainEvent):
    booth: str
    exhibitor: str
    hall: str


@registry.upcaster("test.BoothHeld", from_version=1)
def _hall_was_added(data: dict[str, object]) -> dict[str, object]:
    # v1 had no hall: every booth then stood in hall E1.
    return {**data, "hall": "E1"}


@registry.event("test.BoothReleased")
class BoothReleased(DomainEvent):
    booth: str
