"""Placing a forum: no two forums in one room at once, no speaker in two places at once.

A room's day (`room-<edition>:<room>:<day>`) and a speaker's day
(`speaker-<edition>:<speaker>:<day>`) are streams of their own. Scheduling, rescheduling and
cancelling lock the forum, every room-day and every speaker-day they touch (old and new),
then decide on what those streams hold: two schedulers racing for one room, or for one
speaker, queue on the same lock, and the second is refused with a 409 naming the first's
forum. The gap between two forums in a room is the room's set-up buffer; between two forums
of a speaker, the journey between their places (CNCC and Shougang Park are an hour apart).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError
from fairline_events.registry import DomainEvent

from .commands import CancelForum, ScheduleForum
from .events import (
    ForumCancelled,
    ForumRescheduled,
    ForumScheduled,
    RoomBooked,
    RoomFreed,
    SpeakerBooked,
    SpeakerFreed,
)
from .forum import Forum, Placement
from .programme import Programme
from .values import FAIR_TIME, MAX_FORUM, Place, fair_day, overlaps, travel


@dataclass(frozen=True)
class Booking:
    forum_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    place: Place | None = None
    """Where a speaker is (a room's bookings need no place)."""

    def named(self) -> dict[str, str]:
        """How a refusal names the other forum."""
        return {
            "forum_id": self.forum_id,
            "title": self.title,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
        } | ({"place": self.place} if self.place is not None else {})

    @property
    def hours(self) -> str:
        """From and to, in the fair's local time, for messages."""
        starts, ends = self.starts_at.astimezone(FAIR_TIME), self.ends_at.astimezone(FAIR_TIME)
        return f"{starts:%H:%M} to {ends:%H:%M}"


@dataclass(frozen=True)
class Day:
    """What one room, or one speaker, holds on one day of the fair."""

    edition_code: str
    subject: str
    day: date
    bookings: tuple[Booking, ...] = ()

    def others(self, forum_id: str) -> list[Booking]:
        return [b for b in self.bookings if b.forum_id != forum_id]


def room_day_stream(edition_code: str, room_code: str, day: date) -> str:
    return f"room-{edition_code}:{room_code}:{day.isoformat()}"


def speaker_day_stream(edition_code: str, speaker_id: str, day: date) -> str:
    return f"speaker-{edition_code}:{speaker_id}:{day.isoformat()}"


def _initial(stream_id: str) -> Day:
    # edition and day hold no colon; a speaker's id might
    edition, _, rest = stream_id.split("-", 1)[1].partition(":")
    subject, _, day = rest.rpartition(":")
    return Day(edition_code=edition, subject=subject, day=date.fromisoformat(day))


def _evolve(day: Day, event: DomainEvent) -> Day:
    match event:
        case RoomBooked() | SpeakerBooked():
            place = event.place if isinstance(event, SpeakerBooked) else None
            booking = Booking(event.forum_id, event.title, event.starts_at, event.ends_at, place)
            return replace(day, bookings=(*day.others(event.forum_id), booking))
        case RoomFreed() | SpeakerFreed():
            return replace(day, bookings=tuple(day.others(event.forum_id)))
    return day


ROOM_DAY: Fold[Day] = Fold(_initial, _evolve)
SPEAKER_DAY: Fold[Day] = Fold(_initial, _evolve)


def placed_at(command: ScheduleForum, *, forum: Forum, programme: Programme) -> Placement:
    """Where and when the command places the forum, checked against the forum's policy (the
    version it was approved under) and the room; not yet against other forums."""
    if forum.status not in ("approved", "scheduled"):
        raise Conflict(
            f"forum {forum.forum_id} is {forum.status}; only an approved forum is scheduled",
            code="not_approved",
            status=forum.status,
        )
    policy = forum.policy(programme)
    if command.format not in policy.formats:
        raise DomainError(
            f"a {policy.name_en} is held {' or '.join(sorted(policy.formats))},"
            f" not {command.format}",
            code="format_not_allowed",
            formats=sorted(policy.formats),
        )
    starts = command.starts_at
    ends = command.ends_at or starts + timedelta(minutes=forum.minutes)
    if ends - starts > MAX_FORUM:
        raise DomainError("a forum lasts at most 12 hours", code="too_long")
    if fair_day(starts) != fair_day(ends - timedelta(microseconds=1)):
        raise DomainError(
            "a forum starts and ends on the same day of the fair (Beijing time)",
            code="spans_days",
        )
    if command.format == "online":
        capacity = command.capacity or policy.online_capacity
        return Placement("online", None, None, starts, ends, capacity)
    assert command.room_code is not None  # the command's own validation
    room = programme.room(command.room_code)
    if why := policy.unfit(room):
        raise DomainError(
            f"room {room.code} does not fit a {policy.name_en}: {'; '.join(why)}",
            code="room_unfit",
            room_code=room.code,
            problems=why,
        )
    if command.capacity is not None and command.capacity > room.capacity:
        raise DomainError(
            f"room {room.code} seats {room.capacity}, not {command.capacity}",
            code="over_room_capacity",
            room_capacity=room.capacity,
        )
    capacity = command.capacity or room.capacity
    return Placement(command.format, room.venue, room.code, starts, ends, capacity)


def day_streams(forum: Forum, placement: Placement | None) -> tuple[str | None, list[str]]:
    """The room-day and the speaker-days a placement holds (none for no placement)."""
    if placement is None:
        return None, []
    day = fair_day(placement.starts_at)
    room = (
        room_day_stream(forum.edition_code, placement.room_code, day)
        if placement.room_code is not None
        else None
    )
    speakers = [speaker_day_stream(forum.edition_code, s.speaker_id, day) for s in forum.speakers]
    return room, speakers


def schedule(
    command: ScheduleForum,
    *,
    forum: Forum,
    placement: Placement,
    programme: Programme,
    room_days: Mapping[str, Day],
    speaker_days: Mapping[str, Day],
) -> list[DomainEvent]:
    """Place (or move) the forum: free what it held, refuse a clash, book what it takes."""
    title = forum.title_en
    events: list[DomainEvent] = _free(forum)
    new_room, new_speakers = day_streams(forum, placement)
    if new_room is not None:
        assert placement.room_code is not None
        room = programme.room(placement.room_code)
        for other in room_days[new_room].others(forum.forum_id):
            if overlaps(
                placement.starts_at, placement.ends_at, other.starts_at, other.ends_at,
                room.setup_buffer,
            ):  # fmt: skip
                raise Conflict(
                    f"room {room.code} holds forum {other.forum_id} ({other.title}) from"
                    f" {other.hours}, and needs"
                    f" {room.setup_buffer.seconds // 60} minutes of set-up between forums",
                    code="room_taken",
                    room_code=room.code,
                    other=other.named(),
                )
        events.append(
            RoomBooked(
                edition_code=forum.edition_code,
                room_code=room.code,
                day=fair_day(placement.starts_at),
                forum_id=forum.forum_id,
                title=title,
                starts_at=placement.starts_at,
                ends_at=placement.ends_at,
            )
        )
    for speaker, stream in zip(forum.speakers, new_speakers, strict=True):
        for other in speaker_days[stream].others(forum.forum_id):
            journey = travel(other.place or placement.place, placement.place)
            if overlaps(
                placement.starts_at, placement.ends_at, other.starts_at, other.ends_at, journey
            ):
                raise Conflict(
                    f"speaker {speaker.name} is at forum {other.forum_id} ({other.title},"
                    f" {other.place}) from {other.hours}"
                    + (f", {journey.seconds // 60} minutes away" if journey else ""),
                    code="speaker_busy",
                    speaker_id=speaker.speaker_id,
                    other=other.named(),
                )
        events.append(
            SpeakerBooked(
                edition_code=forum.edition_code,
                speaker_id=speaker.speaker_id,
                day=fair_day(placement.starts_at),
                forum_id=forum.forum_id,
                title=title,
                place=placement.place,
                starts_at=placement.starts_at,
                ends_at=placement.ends_at,
            )
        )
    moved = ForumRescheduled if forum.placement is not None else ForumScheduled
    events.append(
        moved(
            forum_id=forum.forum_id,
            edition_code=forum.edition_code,
            format=placement.format,
            venue=placement.venue,
            room_code=placement.room_code,
            starts_at=placement.starts_at,
            ends_at=placement.ends_at,
            capacity=placement.capacity,
            reason=command.reason,
        )
    )
    return events


def cancel(command: CancelForum, *, forum: Forum) -> list[DomainEvent]:
    """Cancel a forum, freeing its room and its speakers; registrations see it cancelled."""
    forum.exists()
    if forum.status in ("cancelled", "rejected"):
        raise Conflict(
            f"forum {forum.forum_id} is already {forum.status}",
            code="already_closed",
            status=forum.status,
        )
    return [
        *_free(forum),
        ForumCancelled(
            forum_id=forum.forum_id, edition_code=forum.edition_code, reason=command.reason
        ),
    ]


def _free(forum: Forum) -> list[DomainEvent]:
    placement = forum.placement
    if placement is None or forum.status != "scheduled":
        return []
    day = fair_day(placement.starts_at)
    ids = {"edition_code": forum.edition_code, "day": day, "forum_id": forum.forum_id}
    events: list[DomainEvent] = []
    if placement.room_code is not None:
        events.append(RoomFreed(**ids, room_code=placement.room_code))
    events += [SpeakerFreed(**ids, speaker_id=s.speaker_id) for s in forum.speakers]
    return events
