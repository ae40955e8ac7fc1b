"""The published agenda by day, venue, kind, topic and language; the contracts."""

from __future__ import annotations

import pytest
from support.waiting import eventually

from .conftest import EDITION, FAIR, Api, at

pytestmark = pytest.mark.infra


async def test_the_agenda_filters_by_day_venue_kind_topic_and_language(api: Api) -> None:
    cncc = await api.published(room_code="hall-a", starts_at=at(1, 9))
    shougang = await api.published(kind="side", room_code="sg-hall", starts_at=at(1, 14))
    online = await api.published(format="online", starts_at=at(2, 10))
    hidden = await api.approved()  # approved, never published: not on the agenda
    every = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/agenda", "visitor-1"),
        lambda rows: len(rows) == 3,
        within=30,
        what="three published forums",
    )
    assert [r["forum_id"] for r in every] == [cncc, shougang, online]
    assert hidden not in [r["forum_id"] for r in every]

    async def ids(query: str) -> list[str]:
        rows = await api.ok("GET", f"/editions/{EDITION}/agenda?{query}", "visitor-1")
        return [r["forum_id"] for r in rows]

    assert await ids(f"day={FAIR.isoformat()}") == [cncc, shougang]
    assert await ids("venue=shougang") == [shougang]
    assert await ids("kind=themed") == [cncc, online]
    assert await ids("topic=digital%20trade") == [cncc, shougang, online]
    assert await ids("topic=fintech") == []
    assert await ids("language=en") == []
    assert await ids("language=zh") == [cncc, shougang, online]
    schedule = await api.ok("GET", f"/editions/{EDITION}/rooms/hall-a/schedule", "team")
    assert [r["forum_id"] for r in schedule] == [cncc]
    kinds = await api.ok("GET", f"/editions/{EDITION}/kinds", "visitor-1")
    assert {k["kind"] for k in kinds} == {"themed", "side", "launch"}


async def test_the_contracts_name_every_event(api: Api) -> None:
    openapi = (await api.client.get("/openapi.json")).json()
    assert "/forums/{forum_id}/schedule" in openapi["paths"]
    asyncapi = (await api.client.get("/asyncapi.json")).json()
    text = str(asyncapi)
    for event in ("ForumScheduled", "SeatRegistered", "AccessRefused", "KindPolicySet"):
        assert f"forums.{event}" in text
