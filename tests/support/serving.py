"""A service under uvicorn on a loopback port, in this process or its own, as the e2e tests
and the bench run it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fairline_events.settings import ServiceSettings

from support.waiting import eventually


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(
    service: str, settings: ServiceSettings, port: int, *, workers: int = 1, quiet: bool = False
) -> subprocess.Popen[bytes]:
    """Migrate, then run `fairline-<service> serve` as a process tree of its own, as in
    production (SIGINT stops it)."""
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        **settings.kafka.env(),
        "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
        "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
        "FAIRLINE_AUTH_SECRET": settings.fairline_auth_secret,
        "LOG_LEVEL": "WARNING",
    }
    command = os.path.join(os.path.dirname(sys.executable), f"fairline-{service}")
    subprocess.run([command, "migrate"], env=env, check=True, capture_output=True)
    serve = [command, "serve", "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(serve, env=env, stderr=subprocess.DEVNULL if quiet else None)


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
    # Bound here and handed over: a port found free and bound later can be taken in between
    # (an outgoing connection's ephemeral port), and uvicorn then exits with "address in use".
    sockets: list[socket.socket] = []
    if port is None:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        port = int(listener.getsockname()[1])
        sockets.append(listener)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False
        )
    )
    task = asyncio.create_task(server.serve(sockets=sockets or None))
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
