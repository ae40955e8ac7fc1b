"""No two forums in one room at once, no speaker in two places at once, even when schedulers
race; kind policies are versioned and a scheduled forum keeps its version (over HTTP)."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from .conftest import EDITION, Api, at

pytestmark = pytest.mark.infra


async def test_concurrent_scheduling_into_one_room_lets_exactly_one_win(api: Api) -> None:
    forums = [await api.approved() for _ in range(6)]
    # six schedulers at once, every slot overlapping every other in Hall A
    responses = await asyncio.gather(
        *(
            api.schedule(f, room_code="hall-a", starts_at=at(1, 10, 5 * i), ends_at=at(1, 12))
            for i, f in enumerate(forums)
        )
    )
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 409: 5}, [r.text for r in responses]
    [winner] = [f for f, r in zip(forums, responses, strict=True) if r.status_code == 200]
    for response in responses:
        if response.status_code == 409:
            error = response.json()["error"]
            assert error["code"] == "room_taken"
            assert error["details"]["other"]["forum_id"] == winner  # names the other forum
            assert winner in error["message"]

    # the room's schedule (the read model) holds the winner alone
    schedule = await _eventually_schedule(api, "hall-a", 1)
    assert [row["forum_id"] for row in schedule] == [winner]


async def test_concurrent_scheduling_of_one_speaker_into_two_rooms_lets_exactly_one_win(
    api: Api,
) -> None:
    for attempt in range(3):  # three independent races, each with its own speaker
        speaker = f"sp-race-{attempt}"
        a = await api.approved(speakers=[speaker])
        b = await api.approved(speakers=[speaker, "sp-other"])
        day = attempt + 1
        responses = await asyncio.gather(
            api.schedule(a, room_code="hall-a", starts_at=at(day, 14), ends_at=at(day, 15)),
            api.schedule(b, room_code="hall-b", starts_at=at(day, 14, 30), ends_at=at(day, 16)),
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        won = a if responses[0].status_code == 200 else b
        lost = next(r for r in responses if r.status_code == 409).json()["error"]
        assert lost["code"] == "speaker_busy"
        assert lost["details"]["speaker_id"] == speaker
        assert lost["details"]["other"]["forum_id"] == won


async def test_set_up_buffer_and_travel_between_venues_count(api: Api) -> None:
    first = await api.approved(speakers=["sp-wang"])
    assert (
        await api.schedule(first, room_code="hall-a", starts_at=at(2, 9), ends_at=at(2, 10))
    ).status_code == 200

    # Hall A needs 15 minutes of set-up between forums
    tight = await api.approved()
    response = await api.schedule(tight, room_code="hall-a", starts_at=at(2, 10, 10))
    assert response.status_code == 409
    assert response.json()["error"]["details"]["other"]["forum_id"] == first
    assert (
        await api.schedule(tight, room_code="hall-a", starts_at=at(2, 10, 15))
    ).status_code == 200

    # CNCC to Shougang Park takes an hour: 10:30 is too soon for Wang, 11:00 is not
    far = await api.approved(speakers=["sp-wang"])
    response = await api.schedule(far, room_code="sg-hall", starts_at=at(2, 10, 30))
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "speaker_busy"
    assert "60 minutes away" in error["message"]
    assert (await api.schedule(far, room_code="sg-hall", starts_at=at(2, 11))).status_code == 200

    # in the same venue, right after, is fine; and online needs no journey
    near = await api.approved(speakers=["sp-wang"])
    online = await api.schedule(near, format="online", starts_at=at(2, 10), ends_at=at(2, 10, 45))
    assert online.status_code == 200, online.text

    # rescheduling frees the old slot: `tight` moves away and `first`'s neighbour fits
    moved = await api.schedule(tight, room_code="hall-b", starts_at=at(2, 10, 10))
    assert moved.status_code == 200
    late = await api.approved()
    assert (
        await api.schedule(late, room_code="hall-a", starts_at=at(2, 10, 20))
    ).status_code == 200

    # cancelling frees the room and the speaker, with a reason
    cancelled = await api.ok(
        "POST", f"/forums/{far}/cancel", "team", json={"reason": "speaker ill"}
    )
    assert cancelled["status"] == "cancelled"
    again = await api.approved(speakers=["sp-wang"])
    assert (await api.schedule(again, room_code="sg-hall", starts_at=at(2, 11))).status_code == 200


async def test_a_kind_policy_change_is_a_new_version_and_scheduled_forums_keep_theirs(
    api: Api,
) -> None:
    before = await api.published(room_code="hall-a", starts_at=at(3, 9))
    changed = {
        "name_zh": "专题论坛",
        "name_en": "themed forum",
        "default_minutes": 90,
        "min_capacity": 200,
        "formats": ["online"],
        "reason": "only online this year",
    }
    kind = await api.ok("PUT", f"/editions/{EDITION}/kinds/themed", "team", json=changed)
    assert kind["version"] == 2

    # the forum approved under version 1 is still held in person, for 120 minutes
    moved = await api.schedule(before, room_code="hall-b", starts_at=at(3, 14))
    assert moved.status_code == 200, moved.text
    view = moved.json()
    assert view["policy_version"] == 1
    assert view["ends_at"] == at(3, 16)
    # a forum approved now gets version 2: online only, 90 minutes
    after = await api.approved()
    refused = await api.schedule(after, room_code="hall-a", starts_at=at(3, 14))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "format_not_allowed"
    online = await api.schedule(after, format="online", starts_at=at(3, 14))
    assert online.json()["policy_version"] == 2
    assert online.json()["ends_at"] == at(3, 15, 30)


async def test_a_summit_needs_every_step_of_its_approval_chain(api: Api) -> None:
    policy = {
        "name_zh": "高峰论坛",
        "name_en": "summit forum",
        "default_minutes": 180,
        "approval_chain": ["forums_team", "organising_committee"],
    }
    await api.ok("PUT", f"/editions/{EDITION}/kinds/summit", "team", json=policy)
    forum_id = await api.propose(kind="summit")
    # the committee cannot go before the team
    early = await api.call("POST", f"/forums/{forum_id}/approve", "committee", json={})
    assert early.status_code == 403
    assert early.json()["error"]["details"]["next_step"] == "forums_team"
    first = await api.ok("POST", f"/forums/{forum_id}/approve", "team", json={})
    assert first["status"] == "proposed"
    second = await api.ok("POST", f"/forums/{forum_id}/approve", "committee", json={})
    assert second["status"] == "approved"


async def _eventually_schedule(api: Api, room: str, day: int) -> list[dict[str, object]]:
    from support.waiting import eventually

    return await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/rooms/{room}/schedule", "team"),
        lambda rows: len(rows) >= 1,
        within=30,
        what=f"{room}'s schedule",
    )
