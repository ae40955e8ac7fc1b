"""Occupancy and pickup, rooming lists, and the delegation planner's view."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated

import asyncpg
from fairline_events.auth import Principal, require
from fairline_events.dependencies import Pool, Store
from fairline_events.errors import DomainError, Forbidden
from fairline_events.shredding import Sealed
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from ..handlers import guest_keys
from ..projections import occupancy, rooming
from .blocks import visible_block
from .common import DESK, PLANNER, DeskOrPlanner, opened

router = APIRouter(tags=["read models"])

OccupancyReader = Annotated[Principal, Depends(require(*DESK, "partner_hotel"))]
Planner = Annotated[Principal, Depends(require(PLANNER))]


class NightOccupancy(BaseModel):
    hotel_code: str
    night: date
    room_type: str
    allotment: int
    rate: int
    booked: int
    occupancy: float
    """booked / allotment"""
    held_by_blocks: int
    general_free: int
    revenue: int
    """CNY: the rates of the room-nights booked (a no-show's first night stays charged)."""


class PickupNight(BaseModel):
    room_type: str
    night: date
    contracted: int
    picked_up: int
    released: int


class Pickup(BaseModel):
    block_id: str
    contracted: int
    picked_up: int
    released: int
    pickup_rate: float
    attrition: int
    """Contracted room-nights not picked up."""
    attrition_rate: float
    revenue: int
    nights: list[PickupNight]


class RoomingEntry(BaseModel):
    booking_id: str
    block_id: str | None
    guest_id: str
    guest_name: str | None
    guest_erased: bool
    phone: str | None
    room_type: str
    arrival: date
    departure: date
    nights: int
    board: str
    requests: list[str]
    status: str


class RoomingList(BaseModel):
    block_id: str
    name: str
    hotel_code: str
    entries: list[RoomingEntry]


class PlannerBlock(BaseModel):
    block_id: str
    name: str
    hotel_code: str
    status: str
    first_night: date
    last_night: date
    cut_off_at: datetime
    rooms: dict[str, int]
    pickup: Pickup
    rooming_list: list[RoomingEntry]


@router.get("/occupancy", summary="occupancy per hotel, night and room type")
async def get_occupancy(
    who: OccupancyReader,
    pool: Pool,
    hotel_code: str | None = None,
    room_type: str | None = None,
    first_night: Annotated[date | None, Query(alias="from")] = None,
    last_night: Annotated[date | None, Query(alias="to")] = None,
) -> list[NightOccupancy]:
    if not who.has_any(DESK) and (hotel_code is None or who.subject != f"hotel:{hotel_code}"):
        raise Forbidden("a partner hotel sees its own occupancy", code="not_your_hotel")
    rows = await pool.fetch(
        f"""
        SELECT n.hotel_code, n.night, n.room_type, n.allotment, n.rate,
               coalesce(r.booked, 0) AS booked, coalesce(r.revenue, 0) AS revenue,
               coalesce(r.general, 0) AS general_booked, coalesce(b.held, 0) AS held
        FROM {occupancy.schema}.nights n
        LEFT JOIN (
            SELECT hotel_code, night, room_type, count(*) AS booked, sum(rate) AS revenue,
                   count(*) FILTER (WHERE block_id IS NULL) AS general
            FROM {occupancy.schema}.room_nights GROUP BY 1, 2, 3
        ) r USING (hotel_code, night, room_type)
        LEFT JOIN (
            SELECT hotel_code, night, room_type, sum(contracted - released) AS held
            FROM {occupancy.schema}.block_nights WHERE parent_block_id IS NULL GROUP BY 1, 2, 3
        ) b USING (hotel_code, night, room_type)
        WHERE ($1::text IS NULL OR n.hotel_code = $1)
          AND ($2::text IS NULL OR n.room_type = $2)
          AND ($3::date IS NULL OR n.night >= $3)
          AND ($4::date IS NULL OR n.night <= $4)
        ORDER BY n.hotel_code, n.night, n.room_type
        LIMIT 5000
        """,
        hotel_code,
        room_type,
        first_night,
        last_night,
    )
    return [
        NightOccupancy(
            hotel_code=r["hotel_code"],
            night=r["night"],
            room_type=r["room_type"],
            allotment=r["allotment"],
            rate=r["rate"],
            booked=r["booked"],
            occupancy=round(r["booked"] / r["allotment"], 4) if r["allotment"] else 0.0,
            held_by_blocks=r["held"],
            general_free=r["allotment"] - r["held"] - r["general_booked"],
            revenue=r["revenue"],
        )
        for r in rows
    ]


async def pickup_of(pool: asyncpg.Pool, block_id: str) -> Pickup:
    rows = await pool.fetch(
        f"""
        SELECT bn.room_type, bn.night, bn.contracted, bn.released,
               (SELECT count(*) FROM {occupancy.schema}.room_nights rn
                 WHERE rn.room_type = bn.room_type AND rn.night = bn.night
                   AND rn.hotel_code = bn.hotel_code
                   AND (rn.block_id = bn.block_id OR rn.block_id IN (
                        SELECT c.block_id FROM {occupancy.schema}.block_nights c
                        WHERE c.parent_block_id = bn.block_id AND c.night = bn.night
                          AND c.room_type = bn.room_type))) AS picked_up,
               (SELECT coalesce(sum(rate), 0) FROM {occupancy.schema}.room_nights rn
                 WHERE rn.room_type = bn.room_type AND rn.night = bn.night
                   AND rn.hotel_code = bn.hotel_code
                   AND (rn.block_id = bn.block_id OR rn.block_id IN (
                        SELECT c.block_id FROM {occupancy.schema}.block_nights c
                        WHERE c.parent_block_id = bn.block_id AND c.night = bn.night
                          AND c.room_type = bn.room_type))) AS revenue
        FROM {occupancy.schema}.block_nights bn
        WHERE bn.block_id = $1
        ORDER BY bn.night, bn.room_type
        """,
        block_id,
    )
    nights = [
        PickupNight(
            room_type=r["room_type"],
            night=r["night"],
            contracted=r["contracted"],
            picked_up=r["picked_up"],
            released=r["released"],
        )
        for r in rows
    ]
    contracted = sum(n.contracted for n in nights)
    picked_up = sum(n.picked_up for n in nights)
    return Pickup(
        block_id=block_id,
        contracted=contracted,
        picked_up=picked_up,
        released=sum(n.released for n in nights),
        pickup_rate=round(picked_up / contracted, 4) if contracted else 0.0,
        attrition=contracted - picked_up,
        attrition_rate=round((contracted - picked_up) / contracted, 4) if contracted else 0.0,
        revenue=sum(r["revenue"] for r in rows),
        nights=nights,
    )


async def rooming_entries(pool: asyncpg.Pool, block_id: str, *, phones: bool) -> list[RoomingEntry]:
    """The block's live bookings (its sub-blocks' too), names opened while keys exist."""
    rows = await pool.fetch(
        f"""
        SELECT b.*, g.name AS sealed_name, g.phone AS sealed_phone
        FROM {rooming.schema}.bookings b
        LEFT JOIN {rooming.schema}.guests g USING (guest_id)
        WHERE b.status <> 'cancelled' AND (b.block_id = $1 OR b.block_id IN (
            SELECT block_id FROM {rooming.schema}.blocks WHERE parent_block_id = $1))
        ORDER BY b.arrival, b.booking_id
        """,
        block_id,
    )
    names = {r["booking_id"]: _sealed(r["sealed_name"]) for r in rows}
    phones_ = {r["booking_id"]: _sealed(r["sealed_phone"]) for r in rows}
    keys = await guest_keys.keys(pool, [s.key_id for s in names.values() if s is not None])
    erased = {b for b, s in names.items() if s is not None and s.key_id not in keys}
    return [
        RoomingEntry(
            booking_id=r["booking_id"],
            block_id=r["block_id"],
            guest_id=r["guest_id"],
            guest_name=opened(keys, names[r["booking_id"]], "name"),
            guest_erased=r["booking_id"] in erased,
            phone=opened(keys, phones_[r["booking_id"]], "phone") if phones else None,
            room_type=r["room_type"],
            arrival=r["arrival"],
            departure=r["departure"],
            nights=(r["departure"] - r["arrival"]).days,
            board=r["board"],
            requests=list(r["requests"]),
            status=r["status"],
        )
        for r in rows
    ]


def _sealed(raw: str | None) -> Sealed | None:
    return Sealed.model_validate_json(raw) if raw else None


@router.get("/blocks/{block_id}/pickup", summary="contracted, picked-up and released room-nights")
async def get_pickup(block_id: str, who: DeskOrPlanner, store: Store, pool: Pool) -> Pickup:
    await visible_block(store, block_id, who)
    return await pickup_of(pool, block_id)


@router.get("/blocks/{block_id}/rooming-list", summary="who sleeps where, night by night")
async def get_rooming_list(
    block_id: str, who: DeskOrPlanner, store: Store, pool: Pool
) -> RoomingList:
    block, _ = await visible_block(store, block_id, who)
    entries = await rooming_entries(pool, block_id, phones=True)
    return RoomingList(
        block_id=block_id, name=block.name, hotel_code=block.hotel_code, entries=entries
    )


@router.get("/planner/blocks", summary="the delegation planner's blocks, pickup and rooming lists")
async def planner_view(who: Planner, pool: Pool) -> list[PlannerBlock]:
    rows = await pool.fetch(
        f"SELECT * FROM {rooming.schema}.blocks WHERE planner = $1 ORDER BY first_night, block_id",
        who.subject,
    )
    if len(rows) > 50:
        raise DomainError("too many blocks for one planner view", code="too_many_blocks")
    return [
        PlannerBlock(
            block_id=r["block_id"],
            name=r["name"],
            hotel_code=r["hotel_code"],
            status=r["status"],
            first_night=r["first_night"],
            last_night=r["last_night"],
            cut_off_at=r["cut_off_at"],
            rooms=json.loads(r["rooms"]),
            pickup=await pickup_of(pool, r["block_id"]),
            rooming_list=await rooming_entries(pool, r["block_id"], phones=True),
        )
        for r in rows
    ]
