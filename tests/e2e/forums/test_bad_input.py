"""Bad input gets a 4xx with the error body and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import EDITION, Api, at

pytestmark = pytest.mark.infra


async def test_bad_input_is_refused_with_the_error_body_and_writes_nothing(api: Api) -> None:
    forum = await api.approved()
    before = await api.event_count()

    cases: list[tuple[str, str, dict[str, Any], int, str]] = [
        ("reversed times", f"/forums/{forum}/schedule",
         {"format": "in_person", "room_code": "hall-a", "starts_at": at(1, 12),
          "ends_at": at(1, 10), "reason": "x"}, 422, "invalid_request"),
        ("unknown room", f"/forums/{forum}/schedule",
         {"format": "in_person", "room_code": "hall-z", "starts_at": at(1, 10),
          "reason": "x"}, 404, "unknown_room"),
        ("capacity 0", f"/forums/{forum}/schedule",
         {"format": "online", "starts_at": at(1, 10), "capacity": 0, "reason": "x"},
         422, "invalid_request"),
        ("capacity past the column", f"/forums/{forum}/schedule",
         {"format": "online", "starts_at": at(1, 10), "capacity": 2**40, "reason": "x"},
         422, "invalid_request"),
        ("over the room's seats", f"/forums/{forum}/schedule",
         {"format": "in_person", "room_code": "hall-b", "starts_at": at(1, 10),
          "capacity": 101, "reason": "x"}, 422, "over_room_capacity"),
        ("naive time", f"/forums/{forum}/schedule",
         {"format": "online", "starts_at": "2030-09-02T10:00:00", "reason": "x"},
         422, "invalid_request"),
        ("across midnight", f"/forums/{forum}/schedule",
         {"format": "online", "starts_at": at(1, 23), "ends_at": at(2, 1), "reason": "x"},
         422, "spans_days"),
        ("no reason", f"/forums/{forum}/schedule",
         {"format": "online", "starts_at": at(1, 10)}, 422, "invalid_request"),
        ("a kind the edition lacks", "/forums",
         _proposal(kind="gala"), 422, "unknown_kind"),
        ("an edition without kinds", "/forums",
         _proposal(edition_code="ciftis-1999"), 422, "unknown_kind"),
        ("a NUL byte", "/forums", _proposal(title_en="bad\x00title"), 422, "invalid_request"),
        ("a company without its application", "/forums",
         _proposal(organiser={"kind": "company", "name_zh": "某", "name_en": "Some"}),
         422, "invalid_request"),
        ("a speaker twice", "/forums",
         _proposal(speakers=[{"speaker_id": "a", "name": "A"}, {"speaker_id": "a", "name": "A"}]),
         422, "invalid_request"),
        ("an unknown field", "/forums", _proposal(colour="red"), 422, "invalid_request"),
        ("room capacity 0", f"/editions/{EDITION}/rooms",
         {"room_code": "tiny", "venue": "cncc", "name_zh": "小", "name_en": "Tiny",
          "capacity": 0}, 422, "invalid_request"),
        ("an unknown venue", f"/editions/{EDITION}/rooms",
         {"room_code": "far", "venue": "shanghai", "name_zh": "远", "name_en": "Far",
          "capacity": 10}, 422, "invalid_request"),
        ("a room twice", f"/editions/{EDITION}/rooms",
         {"room_code": "hall-a", "venue": "cncc", "name_zh": "A", "name_en": "A",
          "capacity": 10}, 409, "room_exists"),
        ("a forum that does not exist", "/forums/nope/schedule",
         {"format": "online", "starts_at": at(1, 10), "reason": "x"}, 404, "unknown_forum"),
        ("publishing before scheduling", f"/forums/{forum}/publish", {"reason": "x"},
         409, "not_scheduled"),
        ("a NUL byte in the path", "/forums/x%00y/schedule",
         {"format": "online", "starts_at": at(1, 10), "reason": "x"}, 422, "invalid_request"),
        ("registering before publishing", f"/forums/{forum}/registrations", {}, 409, "not_open"),
    ]  # fmt: skip
    for what, path, body, status, code in cases:
        response = await api.call("POST", path, "team", json=body)
        assert response.status_code == status, (what, response.text)
        assert response.json()["error"]["code"] == code, (what, response.text)
        assert response.json()["error"]["message"], what
    nul = await api.call("GET", f"/editions/{EDITION}/agenda?topic=a%00b", "team")
    assert nul.status_code == 422, nul.text
    assert await api.event_count() == before


def _proposal(**fields: Any) -> dict[str, Any]:
    return {
        "edition_code": EDITION,
        "kind": "themed",
        "title_zh": "论坛",
        "title_en": "Forum",
        "organiser": {"kind": "government", "name_zh": "商务部", "name_en": "MOFCOM"},
    } | fields
