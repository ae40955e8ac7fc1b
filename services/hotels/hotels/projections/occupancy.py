"""Occupancy and pickup per hotel, night and room type; contracted, picked-up and released
room-nights per block. Counts and revenue never need a guest's name, so erasure leaves them be.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    AllotmentSet,
    NightFreed,
    NightTaken,
    RoomsAllocated,
    RoomsReleased,
    registry,
)

occupancy = Projection(
    name="occupancy",
    topics=["hotels.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS nights (
        hotel_code text NOT NULL,
        room_type  text NOT NULL,
        night      date NOT NULL,
        allotment  integer NOT NULL,
        rate       integer NOT NULL,
        PRIMARY KEY (hotel_code, night, room_type)
    );
    CREATE TABLE IF NOT EXISTS room_nights (
        hotel_code text NOT NULL,
        room_type  text NOT NULL,
        night      date NOT NULL,
        booking_id text NOT NULL,
        block_id   text,
        rate       integer NOT NULL,
        PRIMARY KEY (hotel_code, night, room_type, booking_id)
    );
    CREATE INDEX IF NOT EXISTS room_nights_block ON room_nights (block_id);
    CREATE TABLE IF NOT EXISTS block_nights (
        block_id        text NOT NULL,
        hotel_code      text NOT NULL,
        room_type       text NOT NULL,
        night           date NOT NULL,
        parent_block_id text,
        contracted      integer NOT NULL,
        released        integer NOT NULL DEFAULT 0,
        PRIMARY KEY (block_id, room_type, night)
    );
    CREATE INDEX IF NOT EXISTS block_nights_night ON block_nights (hotel_code, night, room_type);
    """,
)


@occupancy.on(AllotmentSet)
async def allotment_set(e: AllotmentSet, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO nights VALUES ($1, $2, $3, $4, $5) ON CONFLICT (hotel_code, night, room_type)
           DO UPDATE SET allotment = excluded.allotment, rate = excluded.rate""",
        e.hotel_code,
        e.room_type,
        e.night,
        e.rooms,
        e.rate,
    )


@occupancy.on(RoomsAllocated)
async def rooms_allocated(e: RoomsAllocated, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO block_nights VALUES ($1, $2, $3, $4, $5, $6, 0)
           ON CONFLICT (block_id, room_type, night)
           DO UPDATE SET contracted = block_nights.contracted + excluded.contracted""",
        e.block_id,
        e.hotel_code,
        e.room_type,
        e.night,
        e.parent_block_id,
        e.rooms,
    )


@occupancy.on(RoomsReleased)
async def rooms_released(e: RoomsReleased, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE block_nights SET released = released + $4
           WHERE block_id = $1 AND room_type = $2 AND night = $3""",
        e.block_id,
        e.room_type,
        e.night,
        e.rooms,
    )


@occupancy.on(NightTaken)
async def night_taken(e: NightTaken, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "INSERT INTO room_nights VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        e.hotel_code,
        e.room_type,
        e.night,
        e.booking_id,
        e.block_id,
        e.rate,
    )


@occupancy.on(NightFreed)
async def night_freed(e: NightFreed, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """DELETE FROM room_nights
           WHERE hotel_code = $1 AND night = $2 AND room_type = $3 AND booking_id = $4""",
        e.hotel_code,
        e.night,
        e.room_type,
        e.booking_id,
    )
