"""The booths edition both A/B harnesses hold booths in (`ab_hold`, in process; `ab_serve`,
over HTTP): scratch database and topics, an edition open with its booths in hall E1 and its
exhibitors approved and admitted. Imported after the harness put the checkout under test
first on `sys.path`, so each side sets up with its own code."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from e2e.booths.harness import ExhibitorFeed, add_booths, admitted, open_edition, running
from fairline_events.db import drop_database
from fairline_events.kafka import delete_topics
from fairline_events.settings import ServiceSettings
from fairline_stack.resolve import infrastructure

from bench.common import migrate_service, service_settings


@asynccontextmanager
async def scratch_booths(prefix: str) -> AsyncIterator[ServiceSettings]:
    """The booths service's settings on a scratch database and topics, dropped after."""
    settings = service_settings(await infrastructure(), f"{prefix}{uuid.uuid4().hex[:6]}")
    migrate_service("booths", settings)
    try:
        yield settings
    finally:
        await drop_database(settings.service_database_url("booths"))
        await delete_topics(settings.kafka, settings.fairline_topic_prefix)


async def booths_on_sale(
    settings: ServiceSettings, booths: Sequence[str], exhibitors: Sequence[str]
) -> str:
    """The edition open, `booths` in hall E1, `exhibitors` admitted: a sales desk's token."""
    async with running(settings) as api:
        await open_edition(api, max_concurrent_holds=10)
        for start in range(0, len(booths), 1000):
            await add_booths(api, "E1", list(booths[start : start + 1000]))
        await ExhibitorFeed(settings).approve(*exhibitors)
        await admitted(api, len(exhibitors), within=180)
        token: str = api.app.state.token_issuer.issue("ab-sales", ["sales"])
        return f"Bearer {token}"
