"""A sponsor's room block, asked by the sponsorship service for a package.

The request names a hotel, a room type, the nights and how many rooms: a block for the
`sponsor` group with the id `sponsorship:<package>:<benefit>` (so the sponsorship service
knows which benefit a `BlockCreated` serves), made by the same rules as any block
(`blocks.create`: the allotment must have the rooms, the hotel the room type), released a
week before its first night, or the evening before it when that week is already past.

One stream per request (`sponsor-request-<block id>`) holds its refusals,
`SponsorBlockRefused` with the rules' reason, per attempt; the block itself is the grant.
Answered once by the core's `fairline_events.answers.answer_once`: a redelivered request
finds its block or its refusal and changes nothing; a new attempt after a refusal is tried
afresh; once made, the block is the answer for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fairline_events.answers import answer_once
from fairline_events.decider import Fold
from fairline_events.registry import DomainEvent
from pydantic import ValidationError

from . import blocks
from .blocks import Block
from .commands import CreateBlock, CreateSponsorBlock
from .events import SponsorBlockRefused
from .hotel import Hotel
from .inventory import NightKey, Nights
from .values import HOTEL_TIME

CUT_OFF_DAYS = 7
"""A sponsor's block is released a week before its first night, unless that is past."""


@dataclass(frozen=True)
class SponsorBlock:
    refused: frozenset[int] = frozenset()
    """The attempts refused."""


def sponsor_block_stream(block_id: str) -> str:
    return f"sponsor-request-{block_id}"


def _evolve(state: SponsorBlock, event: DomainEvent) -> SponsorBlock:
    if isinstance(event, SponsorBlockRefused):
        return SponsorBlock(state.refused | {event.attempt})
    return state


SPONSOR_BLOCK: Fold[SponsorBlock] = Fold(lambda stream_id: SponsorBlock(), _evolve)


def cut_off(first_night: date, now: datetime) -> datetime:
    at = datetime.combine(first_night - timedelta(days=CUT_OFF_DAYS), time(18), HOTEL_TIME)
    if at > now:
        return at
    return datetime.combine(first_night - timedelta(days=1), time(18), HOTEL_TIME)


def wanted(command: CreateSponsorBlock, now: datetime) -> CreateBlock:
    """The block asked for, as any block is created (pydantic refuses what no block may be)."""
    return CreateBlock(
        block_id=command.block_id, hotel_code=command.hotel_code, group="sponsor",
        name=command.name[:200], first_night=command.first_night,
        last_night=command.last_night, rooms={command.room_type: command.rooms},
        cut_off_at=cut_off(command.first_night, now),
    )  # fmt: skip


def night_keys(command: CreateSponsorBlock, now: datetime) -> list[NightKey]:
    """The nights the block would hold: none for a block the rules refuse anyway (an unknown
    room type's name, a reversed or too long stay), so nothing is locked for it."""
    try:
        return wanted(command, now).night_keys()
    except ValidationError:
        return []


def make(
    command: CreateSponsorBlock,
    *,
    request: SponsorBlock,
    block: Block,
    hotel: Hotel,
    nights: Nights,
    now: datetime,
) -> list[DomainEvent]:
    """Make the block, or record why not: either way, the sponsorship service gets an answer.
    `nights` holds the states of `night_keys(command, now)`."""

    def create() -> list[DomainEvent]:
        return blocks.create(
            wanted(command, now), block=block, parent=None, hotel=hotel, nights=nights, now=now
        )

    made = block.status != "new"
    return answer_once(
        command.attempt,
        refused=request.refused,
        granted=command.attempt if made else 0,  # a block stands for good: the answer
        standing=made,
        grant=create,
        refuse=lambda reason, code: SponsorBlockRefused(
            block_id=command.block_id, reason=reason, code=code, attempt=command.attempt
        ),
    )
