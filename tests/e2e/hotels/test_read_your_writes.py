"""Read your writes: a command's consistency token, sent back on a read, makes the read
reflect that command, or answers 503 not_yet_consistent with Retry-After; never stale."""

from __future__ import annotations

import base64
import json

import pytest
from fairline_events.consistency import TOKEN_HEADER
from fairline_events.settings import ServiceSettings

from .conftest import night, running

pytestmark = pytest.mark.infra


async def test_each_allotment_shows_on_the_very_next_read_that_sends_its_token(
    settings: ServiceSettings,
) -> None:
    async with running(settings) as api:
        await api.hotel()
        for rooms in range(1, 31):
            changed = await api.call(
                "PUT",
                "/hotels/cncc-grand/allotments",
                "desk",
                json={
                    "room_type": "standard",
                    "first_night": night(1),
                    "last_night": night(1),
                    "rooms": rooms,
                    "rate": 800,
                },
            )
            assert changed.status_code == 200, changed.text
            token = changed.headers[TOKEN_HEADER]
            read = await api.call(
                "GET", "/occupancy?hotel_code=cncc-grand", "desk", headers={TOKEN_HEADER: token}
            )
            assert read.status_code == 200, read.text
            [first_night] = [n for n in read.json() if n["night"] == night(1)]
            assert first_night["allotment"] == rooms


async def test_a_token_the_read_models_never_reach_answers_503_with_retry_after(
    settings: ServiceSettings,
) -> None:
    settings = settings.model_copy(update={"read_your_writes_wait_seconds": 0.3})
    async with running(settings) as api:
        ahead = {"service": "hotels", "streams": {"hotel-nowhere": 99}}
        token = base64.urlsafe_b64encode(json.dumps(ahead).encode()).decode()
        read = await api.call("GET", "/occupancy", "desk", headers={TOKEN_HEADER: token})
        assert read.status_code == 503
        assert read.headers["Retry-After"] == "1"
        assert read.json()["error"]["code"] == "not_yet_consistent"

        forged = await api.call("GET", "/occupancy", "desk", headers={TOKEN_HEADER: "%%%"})
        assert forged.status_code == 422
        assert forged.json()["error"]["code"] == "invalid_consistency_token"


async def test_the_token_is_in_the_openapi_document(settings: ServiceSettings) -> None:
    async with running(settings) as api:
        document = (await api.call("GET", "/openapi.json", None)).json()
    occupancy = document["paths"]["/occupancy"]["get"]
    assert TOKEN_HEADER in [p["name"] for p in occupancy["parameters"]]
