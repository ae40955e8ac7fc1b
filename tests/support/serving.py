"""A service's app under uvicorn on a loopback port, as the e2e tests and the bench run it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from support.waiting import eventually


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def ready(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/readyz")).status_code == 200
    except httpx.TransportError:
        return False


@asynccontextmanager
async def serving(
    app: Any, *, port: int | None = None, request_timeout: float = 60, max_connections: int = 100
) -> AsyncIterator[httpx.AsyncClient]:
    """Serve `app` until the block ends (a clean shutdown); yield a client once it is ready."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False
        )
    )
    task = asyncio.create_task(server.serve())
    limits = httpx.Limits(
        max_connections=max_connections, max_keepalive_connections=max_connections
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=request_timeout, limits=limits
        ) as client:
            await eventually(lambda: ready(client), bool, within=60, what="the service ready")
            yield client
    finally:
        server.should_exit = True
        await task
