"""Scratch topics (a test's, a bench run's) are deleted by their prefix, and only they."""

from __future__ import annotations

import pytest
from fairline_events.kafka import admin_client, delete_topics, ensure_topics
from fairline_stack.resolve import Infra
from support.waiting import eventually

pytestmark = pytest.mark.infra


async def _topics(infra: Infra) -> set[str]:
    admin = admin_client(infra.kafka)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_only_the_topics_under_a_prefix_are_deleted(infra: Infra, unique: str) -> None:
    scratch = [f"{unique}.run1.booths.events", f"{unique}.run1.booths.floor_plan.dlq"]
    kept = f"{unique}.run2.booths.events"
    await ensure_topics(infra.kafka, [*scratch, kept])
    try:
        assert sorted(await delete_topics(infra.kafka, f"{unique}.run1.")) == sorted(scratch)

        async def left() -> set[str]:  # the broker deletes a topic a moment after it answers
            return {t for t in await _topics(infra) if t.startswith(unique)}

        assert await eventually(left, lambda t: t == {kept}, within=30, what="run1 gone") == {kept}
    finally:
        await delete_topics(infra.kafka, f"{unique}.")
