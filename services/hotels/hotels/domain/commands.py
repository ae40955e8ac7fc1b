"""What the hotel desk, operations, planners and the cut-off clock ask; validated on creation."""

from __future__ import annotations

from datetime import date

from fairline_events.shredding import Sealed
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

from .values import (
    MAX_RANGE_NIGHTS,
    MAX_STAY_NIGHTS,
    Board,
    GroupKind,
    HotelCode,
    Identifier,
    Name,
    Rate,
    RequestCode,
    Rooms,
    RoomType,
    SomeRooms,
    nights,
    stay_nights,
)


class Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_range(first: date, last: date, limit: int, what: str) -> None:
    if last < first:
        raise ValueError(f"{what}: the last night comes before the first")
    if (last - first).days + 1 > limit:
        raise ValueError(f"{what}: at most {limit} nights at once")


class RegisterHotel(Command):
    hotel_code: HotelCode
    name_zh: Name
    name_en: Name
    room_types: dict[RoomType, SomeRooms]
    """Physical rooms of each type: no night's allotment may exceed them."""


class SetAllotment(Command):
    """Give the fair `rooms` rooms of a type for every night from first to last, at `rate` CNY."""

    hotel_code: HotelCode
    room_type: RoomType
    first_night: date
    last_night: date
    rooms: Rooms
    rate: Rate

    def night_keys(self) -> list[tuple[str, date]]:
        return [(self.room_type, night) for night in nights(self.first_night, self.last_night)]

    @model_validator(mode="after")
    def _range(self) -> SetAllotment:
        _check_range(self.first_night, self.last_night, MAX_RANGE_NIGHTS, "allotment")
        return self


class CreateBlock(Command):
    """Carve a block from general inventory, or a sub-block from `parent_block_id`."""

    block_id: Identifier
    hotel_code: HotelCode
    group: GroupKind
    name: Name
    parent_block_id: Identifier | None = None
    planner: Identifier | None = None
    first_night: date
    last_night: date
    rooms: dict[RoomType, SomeRooms]
    cut_off_at: AwareDatetime

    def night_keys(self) -> list[tuple[str, date]]:
        """Every (room type, night) the block is to hold rooms for."""
        stay = nights(self.first_night, self.last_night)
        return [(room_type, night) for room_type in sorted(self.rooms) for night in stay]

    @model_validator(mode="after")
    def _valid(self) -> CreateBlock:
        _check_range(self.first_night, self.last_night, MAX_RANGE_NIGHTS, "block")
        if not self.rooms:
            raise ValueError("a block holds rooms of at least one room type")
        return self


class CarveSubBlock(Command):
    """Carve a delegation's sub-block from `parent_block_id`, in the parent's hotel and group
    (known once the parent is read); it becomes a `CreateBlock` then."""

    block_id: Identifier
    parent_block_id: Identifier
    name: Name
    planner: Identifier
    first_night: date
    last_night: date
    rooms: dict[RoomType, SomeRooms]
    cut_off_at: AwareDatetime


class ReleaseBlock(Command):
    """Give the block's unbooked rooms back; at cut-off (the clock) or on request (ops)."""

    block_id: Identifier
    at_cut_off: bool


class NewGuest(Command):
    """A guest's personal data, already sealed under the new guest key `key_id`."""

    key_id: Identifier
    key: bytes = Field(repr=False, exclude=True)
    """The key itself: kept in `guest_keys` with the booking, never in an event."""
    name: Sealed
    phone: Sealed | None = None
    id_document: Sealed | None = None


class MakeBooking(Command):
    booking_id: Identifier
    hotel_code: HotelCode
    block_id: Identifier | None = None
    room_type: RoomType
    arrival: date
    departure: date
    board: Board = "breakfast"
    requests: list[RequestCode] = Field(default_factory=list)
    guest_id: Identifier
    new_guest: NewGuest | None = None
    """Set when the guest is new; otherwise `guest_id` names a guest recorded before."""
    planner: Identifier | None = None
    """Set when a delegation planner books: only into a block that they plan."""

    def night_keys(self) -> list[tuple[str, date]]:
        return [(self.room_type, night) for night in stay_nights(self.arrival, self.departure)]

    @model_validator(mode="after")
    def _stay(self) -> MakeBooking:
        _check_stay(self.arrival, self.departure)
        return self


def _check_stay(arrival: date, departure: date) -> None:
    if departure <= arrival:
        raise ValueError("departure must come after arrival")
    if (departure - arrival).days > MAX_STAY_NIGHTS:
        raise ValueError(f"a stay is at most {MAX_STAY_NIGHTS} nights")


class ModifyBooking(Command):
    """Change some terms; fields left as None stay as they are."""

    booking_id: Identifier
    room_type: RoomType | None = None
    arrival: date | None = None
    departure: date | None = None
    board: Board | None = None
    requests: list[RequestCode] | None = None
    planner: Identifier | None = None


class CancelBooking(Command):
    booking_id: Identifier
    planner: Identifier | None = None


class RecordNoShow(Command):
    booking_id: Identifier


class EraseGuest(Command):
    guest_id: Identifier


class CreateSponsorBlock(Command):
    """The sponsorship service asks a sponsor's room block for a package (its policy's
    command). Plain values: whatever the request holds, the rules answer it (a refusal names
    why); `block_id` is `sponsorship:<package>:<benefit>`."""

    block_id: str
    attempt: int
    name: str
    hotel_code: str
    room_type: str
    rooms: int
    first_night: date
    last_night: date
