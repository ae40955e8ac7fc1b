"""Hotels, blocks, guests and bookings as the desk and the planners see them.

Personal fields stay sealed here; the API opens them with the guest's key while it exists.
This is also where the cut-off job finds the blocks that are due.
"""

from __future__ import annotations

import json
from typing import Any

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel, Sql, sql

from ..domain.events import (
    BlockCreated,
    BlockReleased,
    BookingCancelled,
    BookingMade,
    BookingModified,
    GuestRecorded,
    HotelRegistered,
    NoShowRecorded,
    registry,
)

rooming = Projection(
    name="rooming",
    topics=["hotels.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS hotels (
        hotel_code text PRIMARY KEY,
        name_zh    text NOT NULL,
        name_en    text NOT NULL,
        room_types jsonb NOT NULL
    );
    CREATE TABLE IF NOT EXISTS blocks (
        block_id        text PRIMARY KEY,
        hotel_code      text NOT NULL,
        group_kind      text NOT NULL,
        name            text NOT NULL,
        parent_block_id text,
        planner         text,
        first_night     date NOT NULL,
        last_night      date NOT NULL,
        rooms           jsonb NOT NULL,
        cut_off_at      timestamptz NOT NULL,
        status          text NOT NULL,
        released_room_nights integer,
        released_at     timestamptz
    );
    CREATE INDEX IF NOT EXISTS blocks_due ON blocks (cut_off_at) WHERE status = 'open';
    CREATE INDEX IF NOT EXISTS blocks_planner ON blocks (planner);
    CREATE INDEX IF NOT EXISTS blocks_parent ON blocks (parent_block_id);
    CREATE TABLE IF NOT EXISTS guests (
        guest_id    text PRIMARY KEY,
        key_id      text NOT NULL,
        name        jsonb NOT NULL,
        phone       jsonb,
        id_document jsonb
    );
    CREATE TABLE IF NOT EXISTS bookings (
        booking_id  text PRIMARY KEY,
        hotel_code  text NOT NULL,
        block_id    text,
        room_type   text NOT NULL,
        arrival     date NOT NULL,
        departure   date NOT NULL,
        board       text NOT NULL,
        requests    text[] NOT NULL,
        guest_id    text NOT NULL,
        status      text NOT NULL,
        total       integer NOT NULL,
        made_at     timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL
    );
    CREATE INDEX IF NOT EXISTS bookings_block ON bookings (block_id, arrival);
    """,
)


def _json_dict(value: dict[str, int]) -> str:
    return json.dumps(value, sort_keys=True)


def _json(model: Any) -> str | None:
    return model.model_dump_json() if model is not None else None


@rooming.on(HotelRegistered)
async def hotel_registered(e: HotelRegistered, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "INSERT INTO hotels VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT DO NOTHING",
        e.hotel_code,
        e.name_zh,
        e.name_en,
        _json_dict(e.room_types),
    )


@rooming.on(BlockCreated)
async def block_created(e: BlockCreated, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO blocks VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, 'open',
             NULL, NULL) ON CONFLICT DO NOTHING""",
        e.block_id,
        e.hotel_code,
        e.group,
        e.name,
        e.parent_block_id,
        e.planner,
        e.first_night,
        e.last_night,
        _json_dict(e.rooms),
        e.cut_off_at,
    )


@rooming.on(BlockReleased)
async def block_released(e: BlockReleased, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE blocks SET status = 'released', released_room_nights = $2, released_at = $3
           WHERE block_id = $1""",
        e.block_id,
        e.room_nights,
        env.occurred_at,
    )


@rooming.on(GuestRecorded)
async def guest_recorded(e: GuestRecorded, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "INSERT INTO guests VALUES ($1, $2, $3::jsonb, $4::jsonb, $5::jsonb)"
        " ON CONFLICT DO NOTHING",
        e.guest_id,
        e.key_id,
        _json(e.name),
        _json(e.phone),
        _json(e.id_document),
    )


@rooming.on(BookingMade)
async def booking_made(e: BookingMade, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """INSERT INTO bookings VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'confirmed', $10,
             $11, $11) ON CONFLICT DO NOTHING""",
        e.booking_id,
        e.hotel_code,
        e.block_id,
        e.room_type,
        e.arrival,
        e.departure,
        e.board,
        list(e.requests),
        e.guest_id,
        e.total,
        env.occurred_at,
    )


@rooming.on(BookingModified)
async def booking_modified(e: BookingModified, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        """UPDATE bookings SET room_type = $2, arrival = $3, departure = $4, board = $5,
             requests = $6, total = $7, updated_at = $8 WHERE booking_id = $1""",
        e.booking_id,
        e.room_type,
        e.arrival,
        e.departure,
        e.board,
        list(e.requests),
        e.total,
        env.occurred_at,
    )


@rooming.on(BookingCancelled)
async def booking_cancelled(e: BookingCancelled, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE bookings SET status = 'cancelled', total = 0, updated_at = $2"
        " WHERE booking_id = $1",
        e.booking_id,
        env.occurred_at,
    )


@rooming.on(NoShowRecorded)
async def no_show(e: NoShowRecorded, env: Envelope, tx: ReadModel) -> Sql:
    return sql(
        "UPDATE bookings SET status = 'no_show', total = $2, updated_at = $3 WHERE booking_id = $1",
        e.booking_id,
        e.charged,
        env.occurred_at,
    )
