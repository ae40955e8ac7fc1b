"""The bench's peer: the hold a team would write without event sourcing.

One FastAPI route over one table, `UPDATE booth SET holder = … WHERE status = 'free'`, with
the booths route's authentication (the same JWT issuer and role check) and validation (the
same path types and request body), served by uvicorn like the booths service. No events, no
outbox, no read model: what Fairline's hold is measured against in `bench.commands`.

Run as `python -m bench.plain --port P` with DATABASE_URL and FAIRLINE_AUTH_SECRET set.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
from booths.api.sales import HoldRequest
from booths.domain.values import Code, EditionCode
from fairline_events.api import install_error_handlers
from fairline_events.auth import Principal, require
from fairline_events.db import create_pool
from fairline_events.errors import DomainError
from fairline_events.service import token_verification
from fairline_events.settings import ServiceSettings
from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel

SCHEMA = """
CREATE TABLE IF NOT EXISTS booth (
  edition_code text NOT NULL,
  booth_code text NOT NULL,
  status text NOT NULL DEFAULT 'free',
  holder text,
  PRIMARY KEY (edition_code, booth_code)
)
"""

SalesOrExhibitor = Annotated[Principal, Depends(require("sales", "exhibitor"))]


class BoothTaken(DomainError):
    status = 409
    code = "booth_unavailable"


class PlainBooth(BaseModel):
    edition_code: str
    booth_code: str
    status: str
    holder: str | None


async def add_booths(url: str, edition_code: str, booth_codes: list[str]) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(SCHEMA)
        await conn.execute(
            "INSERT INTO booth (edition_code, booth_code)"
            " SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
            edition_code,
            booth_codes,
        )
    finally:
        await conn.close()


def build(database_url: str, secret: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(database_url)
        try:
            yield
        finally:
            await app.state.pool.close()

    app = FastAPI(title="plain hold (bench peer)", lifespan=lifespan)
    # the booths service's own token checks (its audience, lifetime bound and key)
    settings = ServiceSettings(database_url=database_url, fairline_auth_secret=secret)
    app.state.token_issuer, app.state.token_verifier = token_verification(settings, "booths")
    install_error_handlers(app)

    @app.get("/readyz")
    async def readyz(request: Request) -> dict[str, str]:
        await request.app.state.pool.fetchval("SELECT 1")
        return {"status": "ready"}

    @app.post("/editions/{edition_code}/booths/{booth_code}/hold")
    async def hold(
        edition_code: EditionCode,
        booth_code: Code,
        body: HoldRequest,
        who: SalesOrExhibitor,
        request: Request,
    ) -> PlainBooth:
        row = await request.app.state.pool.fetchrow(
            "UPDATE booth SET holder = $3, status = 'held'"
            " WHERE edition_code = $1 AND booth_code = $2 AND status = 'free'"
            " RETURNING edition_code, booth_code, status, holder",
            edition_code,
            booth_code,
            body.exhibitor_id,
        )
        if row is None:
            raise BoothTaken(f"booth {booth_code} is not free")
        return PlainBooth(**dict(row))

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.plain")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    if args.workers > 1:
        uvicorn.run(
            "bench.plain:from_environment",
            factory=True,
            host="127.0.0.1",
            port=args.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
        )
        return
    app = from_environment()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_config=None, access_log=False)


def from_environment() -> FastAPI:
    return build(os.environ["DATABASE_URL"], os.environ["FAIRLINE_AUTH_SECRET"])


if __name__ == "__main__":
    main()
