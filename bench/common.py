"""What every benchmark shares: a fresh database and topic, timing, progress, results."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
from fairline_events.db import create_pool, drop_database, ensure_database, migrate, with_database
from fairline_events.settings import ServiceSettings
from fairline_stack.resolve import Infra
from pydantic import SecretStr


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
        kafka_bootstrap_servers=infra.kafka.bootstrap_servers,
        kafka_security_protocol=infra.kafka.security_protocol,
        kafka_sasl_username=infra.kafka.username,
        kafka_sasl_password=SecretStr(infra.kafka.password or ""),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret=secrets.token_urlsafe(48),
    )
