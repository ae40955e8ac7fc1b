"""Leads over HTTP: opened from a card exchange or a meeting, followed along the pipeline."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from support.waiting import eventually

from .conftest import Service, User, error, new_company, ok

pytestmark = pytest.mark.infra


async def exchanged(staff: User, visitor: User, company_id: str) -> str:
    for user in (staff, visitor):
        ok(await user.put("/me/card", {"name": user.subject, "email": "x@example.com"}))
    xid: str = ok(
        await visitor.post(
            "/card-exchanges", {"recipient": staff.subject, "company_id": company_id}
        ),
        201,
    )["exchange_id"]
    return xid


async def test_a_card_exchange_becomes_a_lead_and_moves_along(service: Service) -> None:
    staff, colleague = service.user("exhibitor"), service.user("exhibitor")
    company_id, _ = await new_company(service, staff, colleague)
    visitor = service.user("visitor")
    xid = await exchanged(staff, visitor, company_id)
    source = {"source": {"kind": "card_exchange", "ref": xid}}

    path = f"/companies/{company_id}/leads"
    assert error(await staff.post(path, source)) == (422, "source_not_eligible")  # not accepted
    ok(await staff.post(f"/card-exchanges/{xid}/accept"))
    created = await staff.post(path, source)
    lead = ok(created, 201)
    lid = lead["lead_id"]
    assert created.headers["Location"] == f"/leads/{lid}"
    assert (lead["contact"], lead["owner"], lead["stage"]) == (
        visitor.subject,
        staff.subject,
        "new",
    )
    again = await colleague.post(path, source)
    assert (
        error(again) == (409, "lead_exists") and again.json()["error"]["details"]["lead_id"] == lid
    )

    ok(await staff.post(f"/leads/{lid}/stage", {"stage": "contacted"}))
    ok(await staff.post(f"/leads/{lid}/notes", {"text": "wants the cloud pricing"}))
    ok(await staff.put(f"/leads/{lid}/owner", {"owner": colleague.subject}))
    due = (datetime.now(UTC) + timedelta(days=2)).date()
    planned = ok(
        await colleague.put(
            f"/leads/{lid}/next-action", {"due_on": due.isoformat(), "action": "send pricing"}
        )
    )
    assert planned["next_action_on"] == due.isoformat() and planned["owner"] == colleague.subject
    ok(await colleague.post(f"/leads/{lid}/stage", {"stage": "negotiating"}))

    pipeline = await eventually(
        lambda: staff.get(f"{path}?owner={colleague.subject}"),
        lambda r: r.json()["leads"] and r.json()["leads"][0]["stage"] == "negotiating",
        what="the lead negotiating in the pipeline",
    )
    body = pipeline.json()
    assert body["stages"]["negotiating"] == 1 and body["stages"]["new"] == 0
    [entry] = body["leads"]
    assert (entry["notes"], entry["next_action"], entry["source_kind"]) == (
        1,
        "send pricing",
        "card_exchange",
    )
    due_soon = ok(await staff.get(f"{path}?due_by={(due + timedelta(days=1)).isoformat()}"))
    assert [e["lead_id"] for e in due_soon["leads"]] == [lid]
    assert ok(await staff.get(f"{path}?stage=won"))["leads"] == []

    ok(await colleague.post(f"/leads/{lid}/stage", {"stage": "won"}))
    assert error(await colleague.post(f"/leads/{lid}/stage", {"stage": "contacted"})) == (
        422,
        "illegal_transition",
    )
    detail = ok(await staff.get(f"/leads/{lid}"))
    assert detail["stage"] == "won" and detail["next_action_on"] is None
    assert detail["notes"] == [{"by": staff.subject, "text": "wants the cloud pricing"}]


async def test_a_confirmed_meeting_becomes_a_lead(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    visitor = service.user("visitor")
    start = datetime.now(UTC) + timedelta(days=40)
    meeting = ok(
        await visitor.post(
            "/meetings",
            {
                "company_id": company_id,
                "invitee": staff.subject,
                "kind": "online",
                "subject": "fintech",
                "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
            },
        ),
        201,
    )
    source = {"source": {"kind": "meeting", "ref": meeting["meeting_id"]}}
    path = f"/companies/{company_id}/leads"
    assert error(await staff.post(path, source)) == (422, "source_not_eligible")  # pending
    ok(await staff.post(f"/meetings/{meeting['meeting_id']}/accept"))
    lead = ok(await staff.post(path, source), 201)
    assert lead["contact"] == visitor.subject and lead["source"]["kind"] == "meeting"


async def test_leads_are_the_companys_own(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, _ = await new_company(service, staff)
    rival_staff = service.user("exhibitor")
    rival_id, _ = await new_company(service, rival_staff)
    visitor = service.user("visitor")
    xid = await exchanged(staff, visitor, company_id)
    ok(await staff.post(f"/card-exchanges/{xid}/accept"))
    source = {"source": {"kind": "card_exchange", "ref": xid}}

    assert error(await rival_staff.post(f"/companies/{company_id}/leads", source)) == (
        403,
        "not_company_staff",
    )
    assert error(await rival_staff.post(f"/companies/{rival_id}/leads", source)) == (
        422,
        "source_of_another_company",
    )
    cases = [
        ({"source": {"kind": "card_exchange", "ref": "cx-nope"}}, (404, "source_not_found")),
        ({"source": {"kind": "meeting", "ref": "mtg-nope"}}, (404, "source_not_found")),
        ({"source": {"kind": "download", "ref": "dl-nope"}}, (404, "source_not_found")),
        ({"source": {"kind": "rumour", "ref": "x"}}, (422, "invalid_request")),
        ({**source, "owner": rival_staff.subject}, (422, "owner_not_staff")),
    ]
    for body, expected in cases:
        assert error(await staff.post(f"/companies/{company_id}/leads", body)) == expected, body
    lid = ok(await staff.post(f"/companies/{company_id}/leads", source), 201)["lead_id"]
    assert error(await rival_staff.get(f"/leads/{lid}")) == (403, "not_company_staff")
    assert error(await rival_staff.post(f"/leads/{lid}/notes", {"text": "x"})) == (
        403,
        "not_company_staff",
    )
    assert error(await rival_staff.get(f"/companies/{company_id}/leads")) == (
        403,
        "not_company_staff",
    )
    assert error(await visitor.get(f"/leads/{lid}")) == (403, "missing_role")
    assert error(await staff.get("/leads/ld-nope")) == (404, "lead_not_found")
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    assert error(
        await staff.put(f"/leads/{lid}/next-action", {"due_on": yesterday, "action": "call"})
    ) == (422, "next_action_in_the_past")
    ok(await staff.post(f"/leads/{lid}/stage", {"stage": "qualified"}))
    assert error(await staff.post(f"/leads/{lid}/stage", {"stage": "new"})) == (
        422,
        "illegal_transition",
    )
    assert error(await staff.post(f"/leads/{lid}/stage", {"stage": "closed"})) == (
        422,
        "invalid_request",
    )
