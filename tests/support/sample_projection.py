"""A small read model over the sample events, deliberately sensitive to double application."""

from __future__ import annotations

import asyncpg
from fairline_events.envelope import Envelope
from fairline_events.projection import Projection

from .sample_events import BoothHeld, BoothReleased, registry

booth_board = Projection(
    name="booth_board",
    topics=["booths.events"],
    registry=registry,
    tables_sql="""
    CREATE TABLE IF NOT EXISTS booths (
        booth     text PRIMARY KEY,
        exhibitor text,
        hall      text NOT NULL,
        status    text NOT NULL,
        holds     integer NOT NULL  -- counts applications: a redelivery would show here
    );
    """,
)


@booth_board.on(BoothHeld)
async def held(e: BoothHeld, env: Envelope, tx: asyncpg.Connection) -> None:
    if e.exhibitor == "poison":
        raise ValueError("this exhibitor makes the handler fail")
    await tx.execute(
        """INSERT INTO booths VALUES ($1, $2, $3, 'held', 1)
           ON CONFLICT (booth) DO UPDATE
           SET exhibitor = $2, status = 'held', holds = booths.holds + 1""",
        e.booth,
        e.exhibitor,
        e.hall,
    )


@booth_board.on(BoothReleased)
async def released(e: BoothReleased, env: Envelope, tx: asyncpg.Connection) -> None:
    await tx.execute(
        "UPDATE booths SET status = 'free', exhibitor = NULL WHERE booth = $1", e.booth
    )
