"""Meetings over HTTP: slots, invitations, answers, new times, agendas, and never a person in
two meetings at once, even when the requests race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from support.waiting import eventually

from .conftest import Service, User, error, new_company, ok

pytestmark = pytest.mark.infra

DAY = (datetime.now(UTC) + timedelta(days=30)).replace(hour=1, minute=0, second=0, microsecond=0)


def period(hour: float, minutes: int = 30) -> dict[str, str]:
    start = DAY + timedelta(hours=hour)
    return {"start": start.isoformat(), "end": (start + timedelta(minutes=minutes)).isoformat()}


def invitation(company_id: str, invitee: User, hour: float, minutes: int = 30) -> dict[str, Any]:
    return {
        "company_id": company_id,
        "invitee": invitee.subject,
        "kind": "booth",
        "subject": "cloud services for a bank",
        **period(hour, minutes),
    }


def overlapping(entries: list[dict[str, Any]]) -> list[tuple[str, str]]:
    spans = [
        (datetime.fromisoformat(e["start"]), datetime.fromisoformat(e["end"]), e["meeting_id"])
        for e in entries
        if e["status"] == "confirmed"
    ]
    return [
        (a[2], b[2])
        for i, a in enumerate(spans)
        for b in spans[i + 1 :]
        if a[0] < b[1] and b[0] < a[1]
    ]


async def agenda_of(user: User, *statuses: str) -> list[dict[str, Any]]:
    query = "&".join(f"status={s}" for s in statuses)
    return ok(await user.get(f"/me/agenda?{query}"))  # type: ignore[no-any-return]


async def test_invite_accept_reschedule_decline_and_cancel(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    visitor = service.user("visitor")

    meeting = ok(await visitor.post("/meetings", invitation(company_id, staff, 2)), 201)
    mid = meeting["meeting_id"]
    assert (meeting["status"], meeting["awaiting"]) == ("pending", staff.subject)
    # The organiser holds the time already: a second request for 2:15 is a double booking.
    clash = await visitor.post("/meetings", invitation(company_id, staff, 2.25))
    assert error(clash) == (409, "double_booked")
    assert clash.json()["error"]["details"]["meeting_id"] == mid

    assert error(await visitor.post(f"/meetings/{mid}/accept")) == (422, "not_awaiting_you")
    accepted = ok(await staff.post(f"/meetings/{mid}/accept"))
    assert accepted["status"] == "confirmed" and accepted["awaiting"] is None

    moved = ok(await staff.post(f"/meetings/{mid}/reschedule", period(4)))
    assert (moved["status"], moved["awaiting"]) == ("pending", visitor.subject)
    ok(await visitor.post(f"/meetings/{mid}/accept"))

    entries = await eventually(
        lambda: agenda_of(staff),
        lambda es: (
            [(e["meeting_id"], e["status"]) for e in es] == [(mid, "confirmed")]
            and es[0]["start"] == period(4)["start"].replace("+00:00", "Z")
        ),
        what="the moved meeting on the staff member's agenda",
    )
    assert entries[0]["organiser"] == visitor.subject

    # The old time is free again for the staff member.
    other = service.user("visitor")
    second = ok(await other.post("/meetings", invitation(company_id, staff, 2)), 201)
    ok(await staff.post(f"/meetings/{second['meeting_id']}/decline", {"reason": "on leave"}))
    assert error(await staff.post(f"/meetings/{second['meeting_id']}/accept")) == (
        422,
        "illegal_transition",
    )
    cancelled = ok(await visitor.post(f"/meetings/{mid}/cancel", {"reason": "flight delayed"}))
    assert cancelled["status"] == "cancelled"
    await eventually(
        lambda: agenda_of(staff), lambda es: es == [], what="an empty agenda after cancelling"
    )
    history = await eventually(
        lambda: agenda_of(staff, "declined", "cancelled"),
        lambda es: len(es) == 2,
        what="the declined and the cancelled meeting",
    )
    assert {e["status"] for e in history} == {"declined", "cancelled"}


async def test_meetings_refuse_bad_requests_with_clear_codes(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    visitor, stranger = service.user("visitor"), service.user("visitor")
    body = invitation(company_id, staff, 6)
    cases: list[tuple[dict[str, Any], tuple[int, str]]] = [
        ({**body, **period(6, 0)}, (422, "invalid_request")),
        ({**body, "start": "2021-09-03T09:00:00"}, (422, "invalid_request")),
        ({**body, "kind": "party"}, (422, "invalid_request")),
        ({**body, "invitee": stranger.subject}, (403, "no_company_staff")),
        ({**body, "company_id": "co-nope"}, (404, "company_not_found")),
        ({**body, **period(-24 * 60)}, (422, "meeting_in_the_past")),
    ]
    for request, expected in cases:
        assert error(await visitor.post("/meetings", request)) == expected, request
    assert error(await staff.post("/meetings", {**body, "invitee": staff.subject})) == (
        422,
        "meeting_with_oneself",
    )
    mid = ok(await visitor.post("/meetings", body), 201)["meeting_id"]
    assert error(await stranger.post(f"/meetings/{mid}/accept")) == (403, "not_a_party")
    assert error(await stranger.get(f"/meetings/{mid}")) == (403, "not_a_party")
    assert ok(await staff.get(f"/meetings/{mid}"))["meeting_id"] == mid
    assert error(await visitor.post("/meetings/mtg-nope/accept")) == (404, "meeting_not_found")
    assert error(await visitor.post(f"/meetings/{mid}/cancel", {})) == (422, "invalid_request")
    assert error(await service.client.get("/me/agenda")) == (401, "unauthenticated")


async def test_racing_bookings_of_one_slot_have_one_winner(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    slot = ok(
        await staff.post(
            f"/companies/{company_id}/slots", {"kind": "online", "location": "room 1", **period(8)}
        ),
        201,
    )
    visitors = [service.user("visitor") for _ in range(8)]
    results = await asyncio.gather(
        *(v.post(f"/slots/{slot['slot_id']}/book", {"subject": "a demo"}) for v in visitors)
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * 7, [r.text for r in results]
    assert {error(r)[1] for r in results if r.status_code == 409} == {"slot_taken"}
    [won] = [r.json() for r in results if r.status_code == 201]
    assert won["status"] == "confirmed" and won["invitee"] == staff.subject

    assert error(await staff.delete(f"/slots/{slot['slot_id']}")) == (409, "slot_taken")
    slots = await eventually(
        lambda: visitors[0].get(f"/companies/{company_id}/slots?status=taken"),
        lambda r: len(r.json()) == 1,
        what="the slot listed as taken",
    )
    assert slots.json()[0]["slot_id"] == slot["slot_id"]
    # Cancelling frees the slot for the next visitor.
    winner = next(v for v in visitors if v.subject == won["organiser"])
    ok(await winner.post(f"/meetings/{won['meeting_id']}/cancel", {"reason": "changed plans"}))
    ok(await visitors[1].post(f"/slots/{slot['slot_id']}/book", {"subject": "a demo"}), 201)


async def test_racing_acceptances_never_double_book_a_staff_member(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    visitors = [service.user("visitor") for _ in range(8)]
    # Eight invitations for overlapping times (10:00 to 10:52 in steps of 7 minutes).
    meetings = [
        ok(await v.post("/meetings", invitation(company_id, staff, 10 + i * 7 / 60, 45)), 201)
        for i, v in enumerate(visitors)
    ]
    results = await asyncio.gather(
        *(staff.post(f"/meetings/{m['meeting_id']}/accept") for m in meetings)
    )
    statuses = [r.status_code for r in results]
    assert all(s in (200, 409) for s in statuses), [r.text for r in results]
    assert all(error(r)[1] == "double_booked" for r in results if r.status_code == 409)
    accepted = [m for m, r in zip(meetings, results, strict=True) if r.status_code == 200]
    assert accepted, "at least one acceptance wins"

    entries = await eventually(
        lambda: agenda_of(staff, "confirmed"),
        lambda es: len(es) == len(accepted),
        what="the accepted meetings on the agenda",
    )
    assert overlapping(entries) == []


async def test_racing_requests_by_many_for_one_person_at_one_time(service: Service) -> None:
    """Staff of one company each invite the same visitor to the same hour; she accepts all
    at once, while booking herself a slot at that hour too: one meeting wins."""
    colleagues = [service.user("exhibitor") for _ in range(5)]
    company_id, owner = await new_company(service, *colleagues)
    visitor = service.user("visitor")
    invites = [
        ok(await c.post("/meetings", invitation(company_id, visitor, 12, 60)), 201)
        for c in colleagues
    ]
    slot = ok(
        await owner.post(f"/companies/{company_id}/slots", {"kind": "booth", **period(12.5)}),
        201,
    )
    results = await asyncio.gather(
        *(visitor.post(f"/meetings/{m['meeting_id']}/accept") for m in invites),
        visitor.post(f"/slots/{slot['slot_id']}/book", {"subject": "walk-in"}),
    )
    wins = [r for r in results if r.status_code in (200, 201)]
    assert len(wins) == 1, [r.text for r in results]
    assert all(error(r) == (409, "double_booked") for r in results if r not in wins)
    await eventually(
        lambda: agenda_of(visitor, "confirmed"),
        lambda es: len(es) == 1,
        what="exactly one confirmed meeting for the visitor",
    )
