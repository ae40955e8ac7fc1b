"""Cloud signing over HTTP: recorded by the exhibitor, announced by the organiser."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from support.waiting import eventually

from .conftest import Service, error, new_company, ok

pytestmark = pytest.mark.infra

CONTACT = {"name": "Wang Fang", "email": "wang.fang@example.com", "phone": "+86 10 1234 5678"}


async def test_signed_announced_and_listed_as_results(service: Service) -> None:
    staff = service.user("exhibitor")
    company_id, owner = await new_company(service, staff, name="Huawei")
    edition = f"sign{uuid.uuid4().hex[:6]}-2021"
    ok(
        await owner.post(
            f"/companies/{company_id}/participations",
            {"edition_code": edition, "participation_mode": "both", "contact": CONTACT},
        ),
        201,
    )
    today = datetime.now(UTC).date()
    body = {
        "edition_code": edition,
        "counterparties": [{"name": "Demo Bank", "country_or_region": "CN"}],
        "subject": "AI computing centre",
        "value": {"amount": "12500000.00", "currency": "CNY"},
        "signed_on": today.isoformat(),
    }
    signed = ok(await staff.post(f"/companies/{company_id}/agreements", body), 201)
    assert signed["status"] == "signed" and signed["value"]["amount"] == "12500000.00"
    visitor, ops = service.user("visitor"), service.user("recruitment")
    assert error(await visitor.get(f"/agreements/{signed['agreement_id']}")) == (
        404,
        "agreement_not_found",
    )
    assert error(await staff.post(f"/agreements/{signed['agreement_id']}/announce")) == (
        403,
        "missing_role",
    )
    ok(await ops.post(f"/agreements/{signed['agreement_id']}/announce"))
    assert error(await ops.post(f"/agreements/{signed['agreement_id']}/announce")) == (
        422,
        "illegal_transition",
    )
    second = ok(
        await staff.post(
            f"/companies/{company_id}/agreements",
            {**body, "value": {"amount": "500000", "currency": "CNY"}, "subject": "Cloud"},
        ),
        201,
    )
    ok(await ops.post(f"/agreements/{second['agreement_id']}/announce"))
    results = await eventually(
        lambda: visitor.get(f"/editions/{edition}/results"),
        lambda r: r.json()["agreements"] == 2,
        what="both agreements among the results",
    )
    assert results.json()["value_by_currency"] == {"CNY": "13000000.00"}
    assert {r["company_name"] for r in results.json()["results"]} == {"Huawei"}

    cases = [
        ({**body, "edition_code": "other-2021"}, (422, "not_participating")),
        (
            {**body, "signed_on": (today + timedelta(days=2)).isoformat()},
            (422, "signed_in_the_future"),
        ),
        ({**body, "counterparties": []}, (422, "invalid_request")),
        ({**body, "value": {"amount": "-1", "currency": "CNY"}}, (422, "invalid_request")),
        ({**body, "meeting_id": "mtg-nope"}, (422, "meeting_not_eligible")),
    ]
    for request, expected in cases:
        assert error(await staff.post(f"/companies/{company_id}/agreements", request)) == expected
    assert error(await visitor.post(f"/companies/{company_id}/agreements", body)) == (
        403,
        "missing_role",
    )
