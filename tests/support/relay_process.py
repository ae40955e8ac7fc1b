"""One relay in a process of its own, for a test to SIGKILL.

Usage: python relay_process.py DSN KAFKA_BOOTSTRAP TOPIC (credentials: KAFKA_SASL_* env)
"""

from __future__ import annotations

import asyncio
import sys

from fairline_events.db import create_pool
from fairline_events.relay import Relay
from fairline_events.settings import ServiceSettings
from fairline_events.store import EventStore

from support.sample_events import registry


async def main(dsn: str, bootstrap: str, topic: str) -> None:
    pool = await create_pool(dsn)
    kafka = ServiceSettings(kafka_bootstrap_servers=bootstrap).kafka
    relay = Relay(EventStore(pool, registry), kafka, topic, batch_size=20)
    await relay.run(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
