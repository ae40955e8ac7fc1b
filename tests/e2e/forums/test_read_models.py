"""The published agenda by day, venue, kind, topic and language; the contracts."""

from __future__ import annotations

import pytest
from fairline_events.consistency import TOKEN_HEADER
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


async def test_the_agenda_is_revalidated_by_etag_and_a_change_shows_at_once_with_its_token(
    api: Api,
) -> None:
    """The agenda is rendered once per change and kept; a visitor's copy revalidates (304),
    and a read that sends a command's consistency token back sees that command, even right
    after the agenda was rendered without it."""
    first = await api.published(room_code="hall-a", starts_at=at(1, 9))
    path = f"/editions/{EDITION}/agenda"
    shown = await eventually(
        lambda: api.call("GET", path, "visitor-1"),
        lambda r: first in [f["forum_id"] for f in r.json()],
        within=30,
        what="the first forum on the agenda",
    )
    etag = shown.headers["etag"]
    again = await api.call("GET", path, "visitor-1", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag

    second = await api.approved()
    assert (await api.schedule(second, room_code="hall-a", starts_at=at(1, 14))).status_code == 200
    published = await api.call(
        "POST", f"/forums/{second}/publish", "team", json={"reason": "ready"}
    )
    token = {TOKEN_HEADER: published.headers[TOKEN_HEADER]}
    for who in ("visitor-1", "visitor-2"):  # the same rendering for every visitor
        seen = await api.call("GET", path, who, headers={"If-None-Match": etag, **token})
        assert seen.status_code == 200, seen.text
        assert [f["forum_id"] for f in seen.json()] == [first, second]
        assert seen.headers["etag"] != etag

    # a revoked invitee no longer finds a closed-door meeting, at once with the token
    meeting = await api.published(
        kind="side", access="invitation", room_code="hall-b", starts_at=at(3, 10)
    )
    invited = await api.call(
        "POST",
        f"/forums/{meeting}/invitations",
        "team",
        json={"person": "envoy-2", "why": "delegation head"},
    )
    listed = await api.call(
        "GET", path, "envoy-2", headers={TOKEN_HEADER: invited.headers[TOKEN_HEADER]}
    )
    assert meeting in [f["forum_id"] for f in listed.json()]
    outsider = await api.call(
        "GET", path, "visitor-1", headers={TOKEN_HEADER: invited.headers[TOKEN_HEADER]}
    )
    assert meeting not in [f["forum_id"] for f in outsider.json()]
    revoked = await api.call(
        "POST",
        f"/forums/{meeting}/invitations/envoy-2/revoke",
        "team",
        json={"why": "delegation changed"},
    )
    assert revoked.status_code == 200, revoked.text
    unlisted = await api.call(
        "GET", path, "envoy-2", headers={TOKEN_HEADER: revoked.headers[TOKEN_HEADER]}
    )
    assert meeting not in [f["forum_id"] for f in unlisted.json()]
