"""An edition's programme set-up: its rooms per venue and the six kinds' versioned policies.

The kinds are policies, not labels: each says how long a forum of the kind runs by default,
which rooms fit it (venue, seats, equipment), who must approve it and in which order, who
may take a seat, and how its waitlist works. Changing a policy appends a new version; a
forum keeps the version it was approved under (`Forum.policy_version`), so a change never
reaches forums already approved or scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from .commands import AddRoom, SetKindPolicy
from .events import KindPolicySet, RoomAdded
from .values import Access, Format, Venue


@dataclass(frozen=True)
class Room:
    code: str
    venue: Venue
    name_zh: str
    name_en: str
    capacity: int
    setup_buffer: timedelta
    equipment: frozenset[str]


@dataclass(frozen=True)
class KindPolicy:
    kind: str
    version: int
    name_zh: str
    name_en: str
    default_minutes: int
    min_capacity: int
    venues: frozenset[Venue]
    equipment: frozenset[str]
    formats: frozenset[Format]
    approval_chain: tuple[str, ...]
    access: Access
    waitlist: bool
    claim_window: timedelta
    online_capacity: int

    def unfit(self, room: Room) -> list[str]:
        """Why `room` does not fit a forum of this kind (nothing: it fits)."""
        why = []
        if room.venue not in self.venues:
            why.append(f"the kind meets at {', '.join(sorted(self.venues))}, not {room.venue}")
        if room.capacity < self.min_capacity:
            why.append(f"the kind needs {self.min_capacity} seats, the room has {room.capacity}")
        if missing := sorted(self.equipment - room.equipment):
            why.append(f"the room lacks {', '.join(missing)}")
        return why


@dataclass(frozen=True)
class Programme:
    edition_code: str
    rooms: dict[str, Room] = field(default_factory=dict)
    policies: dict[str, dict[int, KindPolicy]] = field(default_factory=dict)

    def room(self, room_code: str) -> Room:
        if (room := self.rooms.get(room_code)) is None:
            raise NotFound(
                f"edition {self.edition_code} has no room {room_code}; list its rooms at"
                f" /editions/{self.edition_code}/rooms",
                code="unknown_room",
                room_code=room_code,
            )
        return room

    def current(self, kind: str) -> KindPolicy:
        versions = self.policies.get(kind)
        if not versions:
            raise DomainError(
                f"edition {self.edition_code} has no kind {kind}; its kinds are"
                f" {', '.join(sorted(self.policies)) or 'not set yet'}",
                code="unknown_kind",
                kind=kind,
                kinds=sorted(self.policies),
            )
        return versions[max(versions)]

    def policy(self, kind: str, version: int) -> KindPolicy:
        return self.policies[kind][version]


def programme_stream(edition_code: str) -> str:
    return f"programme-{edition_code}"


def initial(stream_id: str) -> Programme:
    return Programme(edition_code=stream_id.removeprefix("programme-"))


def evolve(programme: Programme, event: DomainEvent) -> Programme:
    match event:
        case RoomAdded():
            room = Room(
                code=event.room_code,
                venue=event.venue,
                name_zh=event.name_zh,
                name_en=event.name_en,
                capacity=event.capacity,
                setup_buffer=timedelta(minutes=event.setup_buffer_minutes),
                equipment=frozenset(event.equipment),
            )
            return replace(programme, rooms={**programme.rooms, room.code: room})
        case KindPolicySet():
            policy = KindPolicy(
                kind=event.kind,
                version=event.version,
                name_zh=event.name_zh,
                name_en=event.name_en,
                default_minutes=event.default_minutes,
                min_capacity=event.min_capacity,
                venues=frozenset(event.venues),
                equipment=frozenset(event.equipment),
                formats=frozenset(event.formats),
                approval_chain=tuple(event.approval_chain),
                access=event.access,
                waitlist=event.waitlist,
                claim_window=timedelta(minutes=event.claim_window_minutes),
                online_capacity=event.online_capacity,
            )
            versions = {**programme.policies.get(event.kind, {}), event.version: policy}
            return replace(programme, policies={**programme.policies, event.kind: versions})
    return programme


PROGRAMME: Fold[Programme] = Fold(initial, evolve)


def add_room(command: AddRoom, *, programme: Programme) -> list[DomainEvent]:
    if (known := programme.rooms.get(command.room_code)) is not None:
        raise Conflict(
            f"room {command.room_code} already exists at {known.venue}",
            code="room_exists",
            room_code=command.room_code,
        )
    return [RoomAdded(**command.model_dump())]


def set_kind_policy(command: SetKindPolicy, *, programme: Programme) -> list[DomainEvent]:
    """A new version of the kind's policy; the same policy again changes nothing."""
    versions = programme.policies.get(command.kind, {})
    data = command.model_dump()
    if versions:
        latest = versions[max(versions)]
        unordered = ("venues", "equipment", "formats")
        if _as_command(latest) == data | {"edition_code": ""} | {
            k: sorted(data[k]) for k in unordered
        }:
            return []
    return [KindPolicySet(**data, version=max(versions, default=0) + 1)]


def _as_command(policy: KindPolicy) -> dict[str, object]:
    return {
        "edition_code": "",
        "kind": policy.kind,
        "name_zh": policy.name_zh,
        "name_en": policy.name_en,
        "default_minutes": policy.default_minutes,
        "min_capacity": policy.min_capacity,
        "venues": sorted(policy.venues),
        "equipment": sorted(policy.equipment),
        "formats": sorted(policy.formats),
        "approval_chain": list(policy.approval_chain),
        "access": policy.access,
        "waitlist": policy.waitlist,
        "claim_window_minutes": int(policy.claim_window.total_seconds() // 60),
        "online_capacity": policy.online_capacity,
    }
