"""Business-card exchange over HTTP: privacy of contact details, and the rate limit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from support.waiting import eventually

from .conftest import Service, User, error, new_company, ok

pytestmark = pytest.mark.infra


def card(name: str, email: str) -> dict[str, Any]:
    return {
        "name": name,
        "title": "director",
        "organisation": "Example Ltd",
        "country_or_region": "CN",
        "email": email,
        "phone": "+86 10 5555 6666",
    }


async def with_card(user: User, name: str) -> User:
    ok(await user.put("/me/card", card(name, f"{user.subject}@example.com")))
    return user


async def test_contact_details_travel_only_along_accepted_exchanges(service: Service) -> None:
    staff = await with_card(service.user("exhibitor"), "Wang Fang")
    company_id, _ = await new_company(service, staff)
    visitor = await with_card(service.user("visitor"), "Li Lei")
    outsider = await with_card(service.user("visitor"), "Zhao Min")

    asked = ok(
        await visitor.post(
            "/card-exchanges",
            {"recipient": staff.subject, "company_id": company_id, "message": "met at E1"},
        ),
        201,
    )
    xid = asked["exchange_id"]
    # Before the answer: the requester sees nothing of the staff member's card …
    assert asked["counterpart"] == staff.subject and asked["counterpart_card"] is None
    # … the staff member sees who asks, without contact details …
    seen = ok(await staff.get(f"/card-exchanges/{xid}"))["counterpart_card"]
    assert seen["name"] == "Li Lei" and seen["email"] is None and seen["phone"] is None
    # … and nobody else sees the exchange at all.
    assert error(await outsider.get(f"/card-exchanges/{xid}")) == (403, "not_a_party")
    assert error(await outsider.post(f"/card-exchanges/{xid}/accept")) == (403, "not_a_party")
    assert error(await visitor.post(f"/card-exchanges/{xid}/accept")) == (422, "not_awaiting_you")

    accepted = ok(await staff.post(f"/card-exchanges/{xid}/accept"))
    assert accepted["status"] == "accepted"
    assert accepted["counterpart_card"]["email"] == f"{visitor.subject}@example.com"
    mine = ok(await visitor.get(f"/card-exchanges/{xid}"))["counterpart_card"]
    assert mine["email"] == f"{staff.subject}@example.com" and mine["name"] == "Wang Fang"

    contacts = await eventually(
        lambda: visitor.get("/me/contacts"),
        lambda r: len(r.json()) == 1,
        what="the staff member in the visitor's contacts",
    )
    assert contacts.json()[0]["counterpart_card"]["phone"] == "+86 10 5555 6666"
    assert ok(await outsider.get("/me/contacts")) == []
    assert error(await staff.post(f"/card-exchanges/{xid}/decline")) == (
        422,
        "illegal_transition",
    )


async def test_pending_and_declined_requests_reveal_nothing_to_the_requester(
    service: Service,
) -> None:
    staff = await with_card(service.user("exhibitor"), "Wang Fang")
    company_id, _ = await new_company(service, staff)
    visitor = await with_card(service.user("visitor"), "Li Lei")
    xid = ok(
        await visitor.post(
            "/card-exchanges", {"recipient": staff.subject, "company_id": company_id}
        ),
        201,
    )["exchange_id"]
    lists = await eventually(
        lambda: asyncio.gather(
            visitor.get("/me/card-exchanges"), staff.get("/me/card-exchanges?status=pending")
        ),
        lambda rs: all(len(r.json()) == 1 for r in rs),
        what="the request listed for both",
    )
    sent, received = (r.json()[0] for r in lists)
    assert sent["counterpart_card"] is None
    assert received["counterpart_card"] == {
        "name": "Li Lei",
        "title": "director",
        "organisation": "Example Ltd",
        "country_or_region": None,
        "email": None,
        "phone": None,
    }
    ok(await staff.post(f"/card-exchanges/{xid}/decline"))
    assert ok(await visitor.get(f"/card-exchanges/{xid}"))["counterpart_card"] is None
    again = await visitor.post(
        "/card-exchanges", {"recipient": staff.subject, "company_id": company_id}
    )
    assert error(again) == (403, "request_declined")
    # The staff member changes their mind: they may ask, and the visitor may accept.
    back = ok(
        await staff.post(
            "/card-exchanges", {"recipient": visitor.subject, "company_id": company_id}
        ),
        201,
    )
    assert back["exchange_id"] == xid
    ok(await visitor.post(f"/card-exchanges/{xid}/accept"))


async def test_bad_card_requests_get_clear_codes(service: Service) -> None:
    staff = await with_card(service.user("exhibitor"), "Wang Fang")
    company_id, _ = await new_company(service, staff)
    no_card = service.user("visitor")
    visitor = await with_card(service.user("visitor"), "Li Lei")
    other_visitor = await with_card(service.user("visitor"), "Zhao Min")
    body = {"recipient": staff.subject, "company_id": company_id}
    assert error(await no_card.get("/me/card")) == (404, "card_not_found")
    assert error(await no_card.post("/card-exchanges", body)) == (404, "card_required")
    assert error(
        await visitor.post(
            "/card-exchanges", {"recipient": other_visitor.subject, "company_id": company_id}
        )
    ) == (403, "no_company_staff")
    assert error(await visitor.post("/card-exchanges", {**body, "company_id": "co-x"})) == (
        404,
        "company_not_found",
    )
    assert error(await staff.post("/card-exchanges", {**body})) == (422, "own_card")
    assert error(await visitor.put("/me/card", {"name": "X", "email": "nope"})) == (
        422,
        "invalid_request",
    )
    assert error(await visitor.post("/card-exchanges/cx-nope/accept")) == (
        404,
        "exchange_not_found",
    )
    ok(await visitor.post("/card-exchanges", body), 201)
    assert error(await visitor.post("/card-exchanges", body)) == (409, "already_requested")
    assert error(await staff.post("/card-exchanges", {**body, "recipient": visitor.subject})) == (
        409,
        "awaiting_your_answer",
    )
    # The recipient needs a card to give one.
    bare = service.user("exhibitor")
    company2, _ = await new_company(service, bare)
    xid = ok(
        await visitor.post("/card-exchanges", {"recipient": bare.subject, "company_id": company2}),
        201,
    )["exchange_id"]
    assert error(await bare.post(f"/card-exchanges/{xid}/accept")) == (404, "card_required")


async def test_requests_are_rate_limited_per_requester_even_in_parallel(service: Service) -> None:
    """Twenty requests an hour: 25 sent at once to 25 staff members, 20 pass, 5 get 429."""
    staff = [service.user("exhibitor") for _ in range(25)]
    company_id, _ = await new_company(service, *staff)
    visitor = await with_card(service.user("visitor"), "Li Lei")
    results = await asyncio.gather(
        *(
            visitor.post("/card-exchanges", {"recipient": s.subject, "company_id": company_id})
            for s in staff
        )
    )
    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] * 20 + [429] * 5, [r.text for r in results if r.status_code >= 400]
    limited = next(r for r in results if r.status_code == 429)
    assert error(limited) == (429, "rate_limited")
    assert 0 < limited.json()["error"]["details"]["retry_after_seconds"] <= 3601
    # Another requester is not affected.
    other = await with_card(service.user("visitor"), "Zhao Min")
    ok(
        await other.post(
            "/card-exchanges", {"recipient": staff[0].subject, "company_id": company_id}
        ),
        201,
    )
