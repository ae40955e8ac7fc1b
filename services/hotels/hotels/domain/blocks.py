"""Room blocks (团队房) for staff, delegations, media, exhibitors and sponsors.

    new ─create─▶ open ─release (at cut-off, or by operations)─▶ released

A block holds rooms per room type for a range of nights, carved from general inventory.
A delegation's sub-block is carved from a block, with its own planner and an earlier (or the
same) cut-off. At cut-off the unbooked rooms go back on their own: a sub-block's to its
parent block, a block's to general inventory. A block waits for its open sub-blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Literal

from fairline_events.decider import Fold
from fairline_events.errors import Conflict, DomainError, NotFound
from fairline_events.registry import DomainEvent

from .commands import CarveSubBlock, CreateBlock, ReleaseBlock
from .events import BlockCreated, BlockReleased, RoomsAllocated, RoomsReleased, SubBlockCarved
from .hotel import Hotel
from .inventory import Nights
from .values import nights

BlockStatus = Literal["new", "open", "released"]


@dataclass(frozen=True)
class Block:
    block_id: str
    status: BlockStatus = "new"
    hotel_code: str = ""
    group: str = ""
    name: str = ""
    parent_block_id: str | None = None
    planner: str | None = None
    first_night: date = date.min
    last_night: date = date.min
    rooms: Mapping[str, int] = field(default_factory=dict)
    cut_off_at: datetime | None = None
    sub_blocks: tuple[str, ...] = ()

    def nights(self) -> list[date]:
        return nights(self.first_night, self.last_night) if self.status != "new" else []

    def night_keys(self) -> list[tuple[str, date]]:
        """Every (room type, night) the block holds rooms for."""
        return [(room_type, night) for room_type in sorted(self.rooms) for night in self.nights()]

    def covers(self, room_type: str, stay: list[date]) -> None:
        """Refuses a room type or a night the block holds nothing for."""
        if room_type not in self.rooms:
            raise DomainError(
                f"block {self.block_id} holds no {room_type} rooms",
                code="room_type_not_in_block",
                room_type=room_type,
                room_types=sorted(self.rooms),
            )
        outside = [d for d in stay if not self.first_night <= d <= self.last_night]
        if outside:
            raise DomainError(
                f"block {self.block_id} holds rooms from {self.first_night} to {self.last_night}"
                " only",
                code="outside_block_dates",
                nights=[d.isoformat() for d in outside],
                first_night=self.first_night.isoformat(),
                last_night=self.last_night.isoformat(),
            )


def block_stream(block_id: str) -> str:
    return f"block-{block_id}"


def initial_block(stream_id: str) -> Block:
    return Block(stream_id.removeprefix("block-"))


def existing(block: Block) -> Block:
    if block.status == "new":
        raise NotFound(f"block {block.block_id} not found", code="block_not_found")
    return block


def open_block(block: Block) -> Block:
    if existing(block).status == "released":
        raise Conflict(
            f"block {block.block_id} was released at its cut-off; its rooms went back",
            code="block_released",
        )
    return block


def sub_block(command: CarveSubBlock, *, parent: Block) -> CreateBlock:
    """The sub-block to create: in its parent's hotel and group."""
    existing(parent)
    return CreateBlock(hotel_code=parent.hotel_code, group=parent.group, **command.model_dump())


def create(
    command: CreateBlock,
    *,
    block: Block,
    parent: Block | None,
    hotel: Hotel,
    nights: Nights,
    now: datetime,
) -> list[DomainEvent]:
    """`parent` is the block named by `command.parent_block_id` (None for a block)."""
    if block.status != "new":
        raise Conflict(f"block {command.block_id} already exists", code="block_exists")
    for room_type in command.rooms:
        hotel.physical_rooms(room_type)
    if command.cut_off_at <= now:
        raise DomainError(
            "the cut-off must lie in the future", code="cut_off_in_past", now=now.isoformat()
        )
    events: list[DomainEvent] = [
        BlockCreated(
            block_id=command.block_id,
            hotel_code=command.hotel_code,
            group=command.group,
            name=command.name,
            parent_block_id=command.parent_block_id,
            planner=command.planner,
            first_night=command.first_night,
            last_night=command.last_night,
            rooms=command.rooms,
            cut_off_at=command.cut_off_at,
        )
    ]
    if parent is not None:
        open_block(parent)
        _fits_in_parent(command, parent)
        events.append(SubBlockCarved(block_id=parent.block_id, sub_block_id=command.block_id))
    missing: list[dict[str, Any]] = []
    short: list[dict[str, Any]] = []
    for room_type, night_date in command.night_keys():
        night = nights[room_type, night_date]
        rooms = command.rooms[room_type]
        where = {"room_type": room_type, "night": night_date.isoformat()}
        if night.allotment is None:
            missing.append(where)
        elif night.free(command.parent_block_id) < rooms:
            short.append({**where, "free": night.free(command.parent_block_id)})
        events.append(
            RoomsAllocated(
                hotel_code=command.hotel_code,
                room_type=room_type,
                night=night_date,
                block_id=command.block_id,
                parent_block_id=command.parent_block_id,
                rooms=rooms,
            )
        )
    if missing:
        raise DomainError(
            "the hotel gave the fair no rooms for some of these nights",
            code="no_allotment",
            nights=missing,
        )
    if short:
        source = f"block {command.parent_block_id}" if command.parent_block_id else "inventory"
        raise Conflict(
            f"not enough free rooms in {source} for the block",
            code="not_enough_rooms",
            nights=short,
        )
    return events


def _fits_in_parent(command: CreateBlock, parent: Block) -> None:
    if parent.parent_block_id is not None:
        raise DomainError(
            f"block {parent.block_id} is itself a sub-block; sub-blocks are one level deep",
            code="sub_block_too_deep",
        )
    if parent.hotel_code != command.hotel_code or parent.group != command.group:
        raise DomainError(
            f"a sub-block stays in its parent's hotel ({parent.hotel_code}) and group"
            f" ({parent.group})",
            code="sub_block_mismatch",
            hotel_code=parent.hotel_code,
            group=parent.group,
        )
    for room_type in command.rooms:
        parent.covers(room_type, nights(command.first_night, command.last_night))
    assert parent.cut_off_at is not None
    if command.cut_off_at > parent.cut_off_at:
        raise DomainError(
            "a sub-block's cut-off may not come after its parent's",
            code="cut_off_after_parent",
            parent_cut_off_at=parent.cut_off_at.isoformat(),
        )


def release(
    command: ReleaseBlock,
    *,
    block: Block,
    sub_blocks: Sequence[Block],
    nights: Nights,
    now: datetime,
) -> list[DomainEvent]:
    """`sub_blocks` are the block's own; `nights` every night it holds rooms on."""
    existing(block)
    if block.status == "released":
        return []
    assert block.cut_off_at is not None
    if command.at_cut_off and now < block.cut_off_at:
        raise DomainError(
            f"block {block.block_id} reaches its cut-off at {block.cut_off_at.isoformat()}",
            code="before_cut_off",
        )
    still_open = [s.block_id for s in sub_blocks if s.status == "open"]
    if still_open:
        raise Conflict(
            f"block {block.block_id} has open sub-blocks; release them first",
            code="sub_blocks_still_open",
            sub_blocks=still_open,
        )
    events: list[DomainEvent] = []
    for room_type, night_date in block.night_keys():
        free = nights[room_type, night_date].free(block.block_id)
        if free > 0:
            events.append(
                RoomsReleased(
                    hotel_code=block.hotel_code,
                    room_type=room_type,
                    night=night_date,
                    block_id=block.block_id,
                    to_block_id=block.parent_block_id,
                    rooms=free,
                )
            )
    released = sum(e.rooms for e in events if isinstance(e, RoomsReleased))
    events.append(
        BlockReleased(
            block_id=block.block_id,
            hotel_code=block.hotel_code,
            to_block_id=block.parent_block_id,
            room_nights=released,
            at_cut_off=command.at_cut_off,
        )
    )
    return events


def evolve(block: Block, event: DomainEvent) -> Block:
    match event:
        case BlockCreated():
            return replace(
                block,
                status="open",
                hotel_code=event.hotel_code,
                group=event.group,
                name=event.name,
                parent_block_id=event.parent_block_id,
                planner=event.planner,
                first_night=event.first_night,
                last_night=event.last_night,
                rooms=dict(event.rooms),
                cut_off_at=event.cut_off_at,
            )
        case SubBlockCarved():
            return replace(block, sub_blocks=(*block.sub_blocks, event.sub_block_id))
        case BlockReleased():
            return replace(block, status="released")
        case _:
            return block


BLOCK: Fold[Block] = Fold(initial_block, evolve)
