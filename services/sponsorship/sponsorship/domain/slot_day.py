"""One placement on one day: which bookings run there (held until their hold's end, or
booked). A placement takes at most `shares` of them a day: one for an exclusive placement.

A booking locks every day of its range; two bookings of overlapping dates therefore queue on
their first common day, and the second sees the first's hold. A lapsed hold no longer counts
the moment it lapses, whether or not the expiry job has released it yet.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from fairline_events.decider import Fold
from fairline_events.errors import Conflict
from fairline_events.registry import DomainEvent

from .events import DayBooked, DayHeld, DayReleased
from .placement import Placement


@dataclass(frozen=True)
class SlotDay:
    edition_code: str
    placement_code: str
    day: date
    runs: dict[str, datetime | None] = field(default_factory=dict)
    """Booking id → its hold's end, or None once booked."""

    def occupants(self, now: datetime) -> list[str]:
        return [b for b, until in self.runs.items() if until is None or until > now]


def slot_day_stream(edition_code: str, placement_code: str, day: date) -> str:
    return f"slotday-{edition_code}:{placement_code}:{day.isoformat()}"


def initial(stream_id: str) -> SlotDay:
    edition_code, placement_code, day = stream_id.removeprefix("slotday-").split(":")
    return SlotDay(edition_code, placement_code, date.fromisoformat(day))


def hold(
    *,
    days: Sequence[SlotDay],
    placement: Placement,
    booking_id: str,
    until: datetime,
    now: datetime,
) -> list[DomainEvent]:
    """Take a share of every day, or refuse naming the first full day."""
    for day in days:
        taken = [b for b in day.occupants(now) if b != booking_id]
        if len(taken) >= placement.shares:
            raise Conflict(
                f"{placement.name} is fully booked on {day.day}"
                + (" (exclusive)" if placement.kind == "exclusive" else f" ({len(taken)} shares)"),
                code="placement_taken",
                day=day.day.isoformat(),
                placement=placement.placement_code,
            )
    return [
        DayHeld(edition_code=d.edition_code, placement_code=d.placement_code, day=d.day,
                booking_id=booking_id, expires_at=until)
        for d in days
    ]  # fmt: skip


def book(*, days: Sequence[SlotDay], booking_id: str) -> list[DomainEvent]:
    return [
        DayBooked(edition_code=d.edition_code, placement_code=d.placement_code, day=d.day,
                  booking_id=booking_id)
        for d in days
        if booking_id in d.runs and d.runs[booking_id] is not None
    ]  # fmt: skip


def release(*, days: Sequence[SlotDay], booking_id: str) -> list[DomainEvent]:
    return [
        DayReleased(edition_code=d.edition_code, placement_code=d.placement_code, day=d.day,
                    booking_id=booking_id)
        for d in days
        if booking_id in d.runs
    ]  # fmt: skip


def evolve(day: SlotDay, event: DomainEvent) -> SlotDay:
    match event:
        case DayHeld():
            return replace(day, runs={**day.runs, event.booking_id: event.expires_at})
        case DayBooked():
            return replace(day, runs={**day.runs, event.booking_id: None})
        case DayReleased():
            return replace(day, runs={k: v for k, v in day.runs.items() if k != event.booking_id})
        case _:
            return day


SLOT_DAY: Fold[SlotDay] = Fold(initial, evolve)
