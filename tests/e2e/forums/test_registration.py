"""Registration over HTTP: capacity, a waitlist in arrival order, offers with a claim window
that pass on, cancellation, check-in, overlapping seats, personal join links."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from forums.jobs import lapse_due_offers
from support.waiting import eventually

from .conftest import EDITION, Api, at

pytestmark = pytest.mark.infra


async def test_300_concurrent_registrations_for_100_seats(api: Api) -> None:
    forum = await api.published(room_code="hall-b", starts_at=at(1, 10))  # Hall B seats 100
    people = [f"p{i:03}" for i in range(300)]
    for person in people:
        api.token(person)  # signed before the race, so the race is only registrations

    responses = await asyncio.gather(
        *(api.call("POST", f"/forums/{forum}/registrations", p, json={}) for p in people)
    )

    assert {r.status_code for r in responses} == {201}, [
        r.text for r in responses if r.status_code != 201
    ][:3]
    answers = {r.json()["person"]: r.json() for r in responses}
    standings = Counter(a["standing"] for a in answers.values())
    assert standings == {"registered": 100, "waitlisted": 200}
    line = sorted(
        (a for a in answers.values() if a["standing"] == "waitlisted"),
        key=lambda a: a["position"],
    )
    assert [a["position"] for a in line] == list(range(1, 201))
    # arrival order: the line is the order in which the registrations were decided
    stored = await api.runtime.pool.fetch(
        """SELECT data->>'person' AS person FROM events WHERE stream_id = $1
           AND event_type = 'forums.Waitlisted' ORDER BY stream_version""",
        f"attendance-{forum}",
    )
    assert [r["person"] for r in stored] == [a["person"] for a in line]

    # A seat freed goes to the first in line, held for the kind's claim window (120 min)
    seated = next(p for p, a in answers.items() if a["standing"] == "registered")
    first, second = line[0]["person"], line[1]["person"]
    await api.ok("POST", f"/forums/{forum}/registrations/cancel", seated, json={})
    offer = await api.ok("GET", f"/forums/{forum}/registrations/me", first)
    assert offer["standing"] == "offered"
    window = datetime.fromisoformat(offer["claim_until"]) - datetime.now(UTC)
    assert timedelta(minutes=115) < window <= timedelta(minutes=120)
    assert (await api.ok("GET", f"/forums/{forum}/registrations/me", second))["position"] == 1

    # Unclaimed when the window closes, it passes to the next in line (the offer-lapse job)
    await eventually(
        lambda: api.ok("GET", f"/forums/{forum}/attendees", "team"),
        lambda rows: any(r["standing"] == "offered" for r in rows),
        within=30,
        what="the offer in the read model",
    )
    later = datetime.now(UTC) + timedelta(minutes=121)
    assert await lapse_due_offers(api.runtime, clock=lambda: later) == 1
    assert (await api.ok("GET", f"/forums/{forum}/registrations/me", first))["standing"] is None
    passed = await api.ok("GET", f"/forums/{forum}/registrations/me", second)
    assert passed["standing"] == "offered"
    late = await api.call("POST", f"/forums/{forum}/registrations/claim", first, json={})
    assert late.status_code == 409
    claimed = await api.ok("POST", f"/forums/{forum}/registrations/claim", second, json={})
    assert claimed["standing"] == "registered"

    # Never more than 100 seats, and the dashboard agrees
    dashboard = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/dashboard", "team"),
        lambda rows: bool(rows) and rows[0]["waitlisted"] == 198 and rows[0]["offered"] == 0,
        within=30,
        what="the dashboard to count the line",
    )
    assert dashboard[0]["registered"] == 100
    assert dashboard[0]["seats_left"] == 0


async def test_overlapping_seats_need_confirmation_and_check_in_needs_a_seat(api: Api) -> None:
    morning = await api.published(room_code="hall-a", starts_at=at(1, 9), ends_at=at(1, 11))
    overlapping = await api.published(room_code="hall-b", starts_at=at(1, 10), ends_at=at(1, 12))
    await api.ok("POST", f"/forums/{morning}/registrations", "li-lei", json={})

    refused = await api.call("POST", f"/forums/{overlapping}/registrations", "li-lei", json={})
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "overlapping_seat"
    assert error["details"]["other"]["forum_id"] == morning
    both = await api.ok(
        "POST", f"/forums/{overlapping}/registrations", "li-lei", json={"confirm_overlap": True}
    )
    assert both["standing"] == "registered"
    assert both["join_link"] is None  # in person only: no link

    # at the door: a seat holder is checked in once; someone without a seat is not
    checked = await api.ok(
        "POST", f"/forums/{morning}/check-ins", "team", json={"person": "li-lei"}
    )
    assert checked["checked_in"] is True
    stranger = await api.call(
        "POST", f"/forums/{morning}/check-ins", "team", json={"person": "han-mei"}
    )
    assert stranger.status_code == 409

    agenda = await eventually(
        lambda: api.ok("GET", f"/me/agenda?edition_code={EDITION}", "li-lei"),
        lambda rows: len(rows) == 2,
        within=30,
        what="li-lei's own agenda",
    )
    assert [r["forum_id"] for r in agenda] == [morning, overlapping]
    stats = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/statistics", "team"),
        lambda rows: bool(rows) and rows[0]["attended"] == 1,
        within=30,
        what="the statistics to count the check-in",
    )
    assert stats[0]["kind"] == "themed"
    assert stats[0]["registrations"] == 2


async def test_online_registrants_get_a_personal_link_that_only_they_can_use(api: Api) -> None:
    forum = await api.published(format="hybrid", room_code="hall-a", starts_at=at(2, 9))
    mine = await api.ok("POST", f"/forums/{forum}/registrations", "wang-fang", json={})
    link = mine["join_link"]
    assert link.startswith(f"/forums/{forum}/join?link=")
    assert (await api.ok("POST", link, "wang-fang"))["joined"] is True
    # forwarded to someone else, it is refused (and the refusal recorded)
    forwarded = await api.call("POST", link, "zhang-san")
    assert forwarded.status_code == 403
    assert forwarded.json()["error"]["code"] == "access_refused"
    # a cancelled seat's link is dead; a new seat has a new link
    await api.ok("POST", f"/forums/{forum}/registrations/cancel", "wang-fang", json={})
    assert (await api.call("POST", link, "wang-fang")).status_code == 403
    again = await api.ok("POST", f"/forums/{forum}/registrations", "wang-fang", json={})
    assert again["join_link"] != link
    assert (await api.call("POST", link, "wang-fang")).status_code == 403
    assert (await api.ok("POST", again["join_link"], "wang-fang"))["joined"] is True


async def test_one_person_racing_for_two_overlapping_forums_in_a_crowd_gets_one_seat(
    api: Api,
) -> None:
    """Registrations for a forum are decided in batches; a person's two registrations at
    once, each in another forum's batch among a crowd, still see each other."""
    first = await api.published(room_code="hall-a", starts_at=at(3, 9), ends_at=at(3, 11))
    second = await api.published(room_code="hall-b", starts_at=at(3, 10), ends_at=at(3, 12))
    crowd = [f"c{i:02}" for i in range(40)]
    for person in [*crowd, "wang-fang"]:
        api.token(person)
    calls = [
        api.call("POST", f"/forums/{forum}/registrations", person, json={})
        for person in crowd[:20]
        for forum in (first, second)
    ]
    calls[10:10] = [
        api.call("POST", f"/forums/{first}/registrations", "wang-fang", json={}),
        api.call("POST", f"/forums/{second}/registrations", "wang-fang", json={}),
    ]
    answers = await asyncio.gather(*calls)

    hers = answers[10:12]
    assert sorted(a.status_code for a in hers) == [201, 409], [a.text for a in hers]
    refused = next(a for a in hers if a.status_code == 409).json()["error"]
    assert refused["code"] == "overlapping_seat"
    # the crowd held the same two overlapping seats each: one each too
    assert sorted(a.status_code for a in answers[:10] + answers[12:]) == [201] * 20 + [409] * 20
