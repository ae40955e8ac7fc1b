"""Issue 11, finding 4: one allotment whose rate no read-model column holds halted the
occupancy projection for good. The API now refuses such numbers (422); an event that carries
one anyway (stored before the bound, or by a bug) is dead-lettered and the projection goes on."""

from __future__ import annotations

from datetime import date

import pytest
from fairline_events.context import CommandContext
from fairline_events.settings import ServiceSettings
from hotels.domain.events import AllotmentSet
from support.kafka_read import read_topic
from support.waiting import eventually

from .conftest import Api, night

pytestmark = pytest.mark.infra

BEYOND_BIGINT = 9223372036854775808


async def test_numbers_no_column_holds_are_refused_with_422(api: Api) -> None:
    await api.hotel()
    base = {"room_type": "standard", "first_night": night(1), "last_night": night(2)}
    for body in (
        base | {"rooms": 10, "rate": BEYOND_BIGINT},
        base | {"rooms": 10, "rate": 2**31},
        base | {"rooms": 10, "rate": 1_000_001},
        base | {"rooms": 2**31, "rate": 800},
    ):
        response = await api.call("PUT", "/hotels/cncc-grand/allotments", "desk", json=body)
        assert response.status_code == 422, response.text
    for rooms in ({"standard": 2**31}, {"standard": 100_001}):
        refused = await api.call(
            "POST",
            "/hotels",
            "ops",
            json={"hotel_code": "big", "name_zh": "大", "name_en": "Big", "room_types": rooms},
        )
        assert refused.status_code == 422, refused.text
    ok = base | {"rooms": 10, "rate": 1_000_000}
    assert (await api.call("PUT", "/hotels/cncc-grand/allotments", "desk", json=ok)).is_success


async def test_an_allotment_the_database_refuses_is_dead_lettered_and_later_ones_show(
    api: Api, settings: ServiceSettings
) -> None:
    await api.hotel()
    # The poison, as the request stored it: in the event store, then relayed.
    poison = AllotmentSet.model_construct(
        hotel_code="cncc-grand",
        room_type="standard",
        night=date.fromisoformat(night(1)),
        rooms=10,
        rate=BEYOND_BIGINT,
    )
    store = api.runtime.store
    await store.append(poison.stream_id(), [poison], 0, CommandContext.system("test"))
    await api.allot(20, 2, 3, rate=900)  # a later allotment, after the poison

    async def nights() -> list[tuple[str, int, int]]:
        rows = await api.ok("GET", "/occupancy?hotel_code=cncc-grand", "desk")
        return [(r["night"], r["allotment"], r["rate"]) for r in rows]

    shown = await eventually(nights, lambda n: len(n) == 2, what="the later allotment shown")
    assert shown == [(night(2), 20, 900), (night(3), 20, 900)]
    dead_letters = settings.topic("hotels.occupancy.dlq")
    [dead] = await eventually(
        lambda: read_topic(settings.kafka, dead_letters), bool, what="the poison dead-lettered"
    )
    assert str(BEYOND_BIGINT).encode() in (dead.value or b"")
    assert dict(dead.headers)["dlq.reason"]
    # And the projection keeps going, for events after the dead letter too.
    await api.allot(5, 4, 4, rate=700)
    await eventually(nights, lambda n: (night(4), 5, 700) in n, what="a further allotment")
