"""What every benchmark shares: a fresh database and topic, timing, progress, results."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
from fairline_events.db import create_pool, drop_database, ensure_database, migrate, with_database
from fairline_events.settings import ServiceSettings, kafka_fields
from fairline_stack.resolve import Infra


def say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline: float | None = None
    target: str | None = None
    met: bool | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio}


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


@asynccontextmanager
async def scratch_database(server_url: str, label: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    url = with_database(server_url, f"bench_{label}_{uuid.uuid4().hex[:6]}")
    await ensure_database(url)
    pool = await create_pool(url, min_size=2, max_size=40)
    await migrate(pool)
    try:
        yield url, pool
    finally:
        await pool.close()
        await drop_database(url)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def service_settings(infra: Infra, unique: str) -> ServiceSettings:
    """A service under bench: its own databases and topics, the stack's Kafka identity, a
    fresh signing key."""
    return ServiceSettings(
        database_url=infra.database_url,
        **kafka_fields(infra.kafka),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret=secrets.token_urlsafe(48),
    )


def service_env(settings: ServiceSettings) -> dict[str, str]:
    """A service process's environment: the bench's databases, topics and Kafka identity."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        **settings.kafka.env(),
        "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
        "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
        "FAIRLINE_AUTH_SECRET": settings.fairline_auth_secret,
        "LOG_LEVEL": "WARNING",
    }


def _command(service: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), f"fairline-{service}")


def migrate_service(service: str, settings: ServiceSettings) -> None:
    subprocess.run(
        [_command(service), "migrate"], env=service_env(settings), check=True, capture_output=True
    )


def service_process(service: str, settings: ServiceSettings, *args: str) -> subprocess.Popen[bytes]:
    """`fairline-<service> <args>` as a process tree of its own, as in production."""
    return subprocess.Popen(
        [_command(service), *args], env=service_env(settings), stderr=subprocess.DEVNULL
    )


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """SIGINT, as Ctrl-C or an orchestrator would; a minute to finish, then SIGKILL."""
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def api_processes(default: str) -> list[int]:
    """BENCH_API_PROCESSES (else `default`, e.g. "1,2"): the HTTP processes measured, one
    after the other; the relay, the projections and the jobs run in one `work` process."""
    return [int(n) for n in os.environ.get("BENCH_API_PROCESSES", default).split(",")]


class Served:
    """A service as production runs it: its HTTP API (`serve --no-relay --no-projections`)
    and its worker (`work`: relay, projections, jobs), each a process tree of its own, so
    the API's load never competes with the read side inside one event loop."""

    def __init__(
        self, service: str, settings: ServiceSettings, port: int, api_processes: int = 1
    ) -> None:
        migrate_service(service, settings)
        self.worker = service_process(service, settings, "work")
        api = ["serve", "--no-relay", "--no-projections", "--port", str(port)]
        # more than one: uvicorn's workers share the port, as replicas share a Service
        api += ["--workers", str(api_processes)]
        self.api = service_process(service, settings, *api)
        self.api_processes = api_processes

    @property
    def pid(self) -> int:
        """The API's: what the load meets (and py-spy samples)."""
        return self.api.pid

    @property
    def pids(self) -> tuple[int, int]:
        """The API's and the worker's: the service's CPU is both."""
        return self.api.pid, self.worker.pid

    def stop(self) -> None:
        stop(self.api, self.worker)
