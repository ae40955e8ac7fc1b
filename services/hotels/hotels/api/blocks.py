"""Room blocks for groups, delegations' sub-blocks, and releasing them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime

from fairline_events.auth import Principal
from fairline_events.dependencies import Body, Store, new_id
from fairline_events.errors import Forbidden, NotFound
from fairline_events.transact import Outcome
from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel

from ..domain.blocks import BLOCK, Block, block_stream
from ..domain.commands import CarveSubBlock, CreateBlock, ReleaseBlock
from ..domain.values import GroupKind, HotelCode, Identifier, Name, RoomType, SomeRooms
from ..handlers import carve_sub_block, create_block, release_block
from .common import AsDesk, AsOps, DeskOrPlanner, current, planner_of

router = APIRouter(tags=["blocks"])


class BlockIn(Body):
    group: GroupKind
    name: Name
    planner: Identifier | None = None
    first_night: date
    last_night: date
    rooms: dict[RoomType, SomeRooms]
    """Rooms held per room type, on every night from the first to the last."""
    cut_off_at: AwareDatetime
    """When unbooked rooms go back on their own, e.g. 2021-08-18T23:59:59+08:00."""


class SubBlockIn(Body):
    name: Name
    planner: Identifier
    first_night: date
    last_night: date
    rooms: dict[RoomType, SomeRooms]
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
    return BlockView(**asdict(state), version=version)  # the state's fields, one for one


async def visible_block(store: Store, block_id: str, who: Principal) -> tuple[Block, int]:
    """The block, if it exists and the caller may see it (planners: only their own)."""
    state, version = await current(store, BLOCK, block_stream(block_id))
    if state.status == "new":
        raise NotFound(f"block {block_id} not found", code="block_not_found")
    planner = planner_of(who)
    if planner is not None and state.planner != planner:
        raise Forbidden(f"block {block_id} is planned by someone else", code="not_your_block")
    return state, version


def _after(outcome: Outcome, block_id: str, response: Response | None = None) -> BlockView:
    """The block as the command left it; `response` gets its Location when it is new."""
    if response is not None:
        response.headers["Location"] = f"/blocks/{block_id}"
    stream_id = block_stream(block_id)
    return block_view(outcome.state(stream_id, Block), outcome.versions[stream_id])


@router.post(
    "/hotels/{hotel_code}/blocks",
    status_code=201,
    summary="hold rooms for a group (staff, delegations, media, exhibitors, sponsors)",
)
async def create(
    hotel_code: HotelCode,
    body: BlockIn,
    acting: AsDesk,
    response: Response,
) -> BlockView:
    command = CreateBlock(block_id=new_id("blk"), hotel_code=hotel_code, **body.model_dump())
    return _after(
        await create_block(acting.store, command, acting.context), command.block_id, response
    )


@router.post(
    "/blocks/{block_id}/sub-blocks",
    status_code=201,
    summary="carve a delegation's sub-block, with its own planner and cut-off",
)
async def create_sub_block(
    block_id: str,
    body: SubBlockIn,
    acting: AsDesk,
    response: Response,
) -> BlockView:
    command = CarveSubBlock(block_id=new_id("blk"), parent_block_id=block_id, **body.model_dump())
    return _after(
        await carve_sub_block(acting.store, command, acting.context), command.block_id, response
    )


@router.get("/blocks/{block_id}", summary="a block as it stands")
async def get_block(block_id: str, who: DeskOrPlanner, store: Store) -> BlockView:
    state, version = await visible_block(store, block_id, who)
    return block_view(state, version)


@router.post(
    "/blocks/{block_id}/release",
    summary="release the block's unbooked rooms now, before its cut-off",
)
async def release(block_id: str, acting: AsOps) -> BlockView:
    command = ReleaseBlock(block_id=block_id, at_cut_off=False)
    outcome = await release_block(acting.store, command, acting.context.because("released by ops"))
    return _after(outcome, block_id)
