"""Room blocks for groups, delegations' sub-blocks, and releasing them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fairline_events.auth import Principal
from fairline_events.errors import Forbidden, NotFound
from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel

from ..domain.blocks import Block
from ..domain.commands import CreateBlock, ReleaseBlock
from ..domain.events import block_stream
from ..domain.values import GroupKind, HotelCode, Identifier, Name, PositiveRoomCount, RoomType
from ..handlers import clock, create_block, load, release_block
from .common import Body, Correlation, Desk, DeskOrPlanner, Ops, Store, build, context, planner_of

router = APIRouter(tags=["blocks"])


class BlockIn(Body):
    group: GroupKind
    name: Name
    planner: Identifier | None = None
    first_night: date
    last_night: date
    rooms: dict[RoomType, PositiveRoomCount]
    """Rooms held per room type, on every night from the first to the last."""
    cut_off_at: AwareDatetime
    """When unbooked rooms go back on their own, e.g. 2021-08-18T23:59:59+08:00."""


class SubBlockIn(Body):
    name: Name
    planner: Identifier
    first_night: date
    last_night: date
    rooms: dict[RoomType, PositiveRoomCount]
    cut_off_at: AwareDatetime


class BlockView(BaseModel):
    block_id: str
    status: str
    hotel_code: str
    group: str
    name: str
    parent_block_id: str | None
    planner: str | None
    first_night: date
    last_night: date
    rooms: dict[str, int]
    cut_off_at: datetime | None
    sub_blocks: list[str]
    version: int


def block_view(state: Block, version: int) -> BlockView:
    return BlockView(
        block_id=state.block_id,
        status=state.status,
        hotel_code=state.hotel_code,
        group=state.group,
        name=state.name,
        parent_block_id=state.parent_block_id,
        planner=state.planner,
        first_night=state.first_night,
        last_night=state.last_night,
        rooms=dict(state.rooms),
        cut_off_at=state.cut_off_at,
        sub_blocks=list(state.sub_blocks),
        version=version,
    )


async def visible_block(store: Store, block_id: str, who: Principal) -> tuple[Block, int]:
    """The block, if it exists and the caller may see it (planners: only their own)."""
    state, version = await load(store, block_stream(block_id))
    assert isinstance(state, Block)
    if state.status == "new":
        raise NotFound(f"block {block_id} not found", code="block_not_found")
    planner = planner_of(who)
    if planner is not None and state.planner != planner:
        raise Forbidden(f"block {block_id} is planned by someone else", code="not_your_block")
    return state, version


async def _created(store: Store, command: CreateBlock, response: Response) -> BlockView:
    state, version = await load(store, block_stream(command.block_id))
    assert isinstance(state, Block)
    response.headers["Location"] = f"/blocks/{command.block_id}"
    return block_view(state, version)


@router.post(
    "/hotels/{hotel_code}/blocks",
    status_code=201,
    summary="hold rooms for a group (staff, delegations, media, exhibitors, sponsors)",
)
async def create(
    hotel_code: HotelCode,
    body: BlockIn,
    who: Desk,
    store: Store,
    response: Response,
    correlation: Correlation = None,
) -> BlockView:
    command = build(
        CreateBlock,
        block_id=f"blk-{uuid.uuid4().hex[:12]}",
        hotel_code=hotel_code,
        **body.model_dump(),
    )
    await create_block(store, command, clock(), context(who, correlation))
    return await _created(store, command, response)


@router.post(
    "/blocks/{block_id}/sub-blocks",
    status_code=201,
    summary="carve a delegation's sub-block, with its own planner and cut-off",
)
async def create_sub_block(
    block_id: str,
    body: SubBlockIn,
    who: Desk,
    store: Store,
    response: Response,
    correlation: Correlation = None,
) -> BlockView:
    parent, _ = await visible_block(store, block_id, who)
    command = build(
        CreateBlock,
        block_id=f"blk-{uuid.uuid4().hex[:12]}",
        hotel_code=parent.hotel_code,
        group=parent.group,
        parent_block_id=block_id,
        **body.model_dump(),
    )
    await create_block(store, command, clock(), context(who, correlation))
    return await _created(store, command, response)


@router.get("/blocks/{block_id}", summary="a block as it stands")
async def get_block(block_id: str, who: DeskOrPlanner, store: Store) -> BlockView:
    state, version = await visible_block(store, block_id, who)
    return block_view(state, version)


@router.post(
    "/blocks/{block_id}/release",
    summary="release the block's unbooked rooms now, before its cut-off",
)
async def release(
    block_id: str, who: Ops, store: Store, correlation: Correlation = None
) -> BlockView:
    command = ReleaseBlock(block_id=block_id, at_cut_off=False)
    await release_block(store, command, clock(), context(who, correlation, "released by ops"))
    state, version = await load(store, block_stream(block_id))
    assert isinstance(state, Block)
    return block_view(state, version)
