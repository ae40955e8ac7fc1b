"""The group's hotels (北辰旗下酒店) and the rooms each gives the fair, night by night."""

from __future__ import annotations

import json
from datetime import date

from fairline_events.dependencies import Body, Pool, Store
from fairline_events.errors import NotFound
from fastapi import APIRouter, Response
from pydantic import BaseModel

from ..domain.commands import RegisterHotel, SetAllotment
from ..domain.events import AllotmentSet
from ..domain.hotel import HOTEL, Hotel, hotel_stream
from ..domain.values import HotelCode, Name, Rate, Rooms, RoomType, SomeRooms
from ..handlers import register_hotel, set_allotment
from ..projections import rooming
from .common import Anyone, AsDesk, AsOps, current

router = APIRouter(tags=["hotels"])


class HotelIn(Body):
    hotel_code: HotelCode
    name_zh: Name
    name_en: Name
    room_types: dict[RoomType, SomeRooms]


class HotelView(BaseModel):
    hotel_code: str
    name_zh: str
    name_en: str
    room_types: dict[str, int]


class AllotmentIn(Body):
    room_type: RoomType
    first_night: date
    last_night: date
    rooms: Rooms
    rate: Rate
    """CNY per room and night."""


class AllotmentResult(BaseModel):
    hotel_code: str
    room_type: str
    nights_changed: list[date]


def hotel_view(state: Hotel) -> HotelView:
    return HotelView(
        hotel_code=state.hotel_code,
        name_zh=state.name_zh,
        name_en=state.name_en,
        room_types=dict(state.room_types),
    )


@router.post("/hotels", status_code=201, summary="register a hotel of the group")
async def register(body: HotelIn, acting: AsOps, response: Response) -> HotelView:
    command = RegisterHotel(**body.model_dump())
    outcome = await register_hotel(acting.store, command, acting.context)
    response.headers["Location"] = f"/hotels/{command.hotel_code}"
    return hotel_view(outcome.state(hotel_stream(command.hotel_code), Hotel))


@router.get("/hotels", summary="the group's hotels")
async def list_hotels(who: Anyone, pool: Pool) -> list[HotelView]:
    rows = await pool.fetch(f"SELECT * FROM {rooming.schema}.hotels ORDER BY hotel_code")
    return [
        HotelView(
            hotel_code=r["hotel_code"],
            name_zh=r["name_zh"],
            name_en=r["name_en"],
            room_types=json.loads(r["room_types"]),
        )
        for r in rows
    ]


@router.get("/hotels/{hotel_code}", summary="one hotel and its room types")
async def get_hotel(hotel_code: str, who: Anyone, store: Store) -> HotelView:
    state, _ = await current(store, HOTEL, hotel_stream(hotel_code.lower()))
    if not state.registered:
        raise NotFound(f"hotel {hotel_code} not found", code="hotel_not_found")
    return hotel_view(state)


@router.put(
    "/hotels/{hotel_code}/allotments",
    summary="the rooms of a type the hotel gives the fair on a range of nights, and their rate",
)
async def put_allotment(
    hotel_code: HotelCode,
    body: AllotmentIn,
    acting: AsDesk,
) -> AllotmentResult:
    command = SetAllotment(hotel_code=hotel_code, **body.model_dump())
    outcome = await set_allotment(acting.store, command, acting.context)
    return AllotmentResult(
        hotel_code=hotel_code,
        room_type=body.room_type,
        nights_changed=[e.night for e in outcome.events if isinstance(e, AllotmentSet)],
    )
