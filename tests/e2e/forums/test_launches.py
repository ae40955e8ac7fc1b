"""Launches (成果发布): a company proposes one only as an approved exhibitor of the edition,
which the forums service learns from the exhibitors service's events on Kafka."""

from __future__ import annotations

from typing import Any

import pytest
from fairline_events.settings import ServiceSettings
from support.waiting import eventually

from .conftest import EDITION, Api, ExhibitorFeed, at

pytestmark = pytest.mark.infra

TENCENT = {
    "kind": "company",
    "name_zh": "腾讯",
    "name_en": "Tencent",
    "exhibitor_id": "app-tencent",
}


async def test_a_company_proposes_a_launch_once_the_exhibitors_service_approves_it(
    api: Api, settings: ServiceSettings
) -> None:
    staff = "staff:tencent-staff"
    launch: dict[str, Any] = {
        "kind": "launch",
        "organiser": TENCENT,
        "topics": ["digital currency"],
    }

    refused = await api.call("POST", "/forums", staff, json=_proposal(launch))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_an_approved_exhibitor"
    assert await api.event_count() == _setup_events()

    feed = ExhibitorFeed(settings)
    await feed.approve("app-tencent", staff="tencent-staff")

    response = await eventually(
        lambda: api.call("POST", "/forums", staff, json=_proposal(launch)),
        lambda r: r.status_code == 201,
        within=60,
        what="the approval to arrive through Kafka",
    )
    forum_id = response.json()["forum_id"]
    assert response.json()["organiser"]["exhibitor_id"] == "app-tencent"
    # another company's staff cannot propose in Tencent's name
    other = await api.call("POST", "/forums", "staff:someone-else", json=_proposal(launch))
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "not_your_company"
    # nor can company staff pass themselves off as a government organiser
    government = {"kind": "government", "name_zh": "商务部", "name_en": "MOFCOM"}
    posing = await api.call(
        "POST", "/forums", staff, json=_proposal(launch | {"organiser": government})
    )
    assert posing.status_code == 403
    assert posing.json()["error"]["code"] == "not_your_organisation"

    # the launch goes into a launch hall, never an ordinary room, and onto the agenda
    await api.ok("POST", f"/forums/{forum_id}/approve", "team", json={})
    unfit = await api.schedule(forum_id, room_code="hall-a", starts_at=at(2, 15))
    assert unfit.status_code == 422
    assert unfit.json()["error"]["code"] == "room_unfit"
    placed = await api.schedule(forum_id, room_code="launch-hall", starts_at=at(2, 15))
    assert placed.status_code == 200, placed.text
    assert placed.json()["ends_at"] == at(2, 15, 45)  # the launch kind's 45 minutes
    await api.ok("POST", f"/forums/{forum_id}/publish", "team", json={"reason": "ready"})
    agenda = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/agenda?kind=launch", "visitor-1"),
        lambda rows: len(rows) == 1,
        within=30,
        what="the launch on the agenda",
    )
    assert agenda[0]["organiser"]["exhibitor_id"] == "app-tencent"
    assert agenda[0]["topics"] == ["digital currency"]

    # withdrawn at the exhibitors service: no new proposals; the published launch stays
    await feed.withdraw("app-tencent", reason="left the fair")
    await eventually(
        lambda: api.call("POST", "/forums", staff, json=_proposal(launch)),
        lambda r: r.status_code == 403,
        within=60,
        what="the withdrawal to arrive through Kafka",
    )


def _proposal(extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "edition_code": EDITION,
        "title_zh": "数字人民币成果发布",
        "title_en": "Digital currency launch",
    } | extra


def _setup_events() -> int:
    from .conftest import KINDS, ROOMS

    return len(KINDS) + len(ROOMS)
