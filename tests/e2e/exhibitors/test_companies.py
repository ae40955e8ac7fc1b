"""Companies outlive editions; a credit code or registration number names one company only."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from .conftest import Service, credit_code, error, ok

pytestmark = pytest.mark.infra


def details(name: str = "Huawei", country: str = "CN") -> dict[str, Any]:
    return {
        "name_zh": "华为",
        "name_en": name,
        "country_or_region": country,
        "sector": "digital transformation",
    }


CONTACT = {"name": "Wang Fang", "email": "wang.fang@example.com", "phone": "+86 10 1234 5678"}


async def test_a_company_is_registered_once_per_credit_code(service: Service) -> None:
    owner = service.user("exhibitor")
    code = credit_code()
    created = await owner.post(
        "/companies", {"identity": {"credit_code": code}, "details": details()}
    )
    company = ok(created, 201)
    assert created.headers["Location"] == f"/companies/{company['company_id']}"
    assert company["staff"] == [owner.subject]
    assert company["identity"]["credit_code"] == code

    # The same code, spelled with spaces and lower case, from someone else: a conflict.
    other = service.user("exhibitor")
    spaced = " ".join([code[:6], code[6:12], code[12:]]).lower()
    again = await other.post(
        "/companies", {"identity": {"credit_code": spaced}, "details": details("Huawei Tech")}
    )
    assert error(again) == (409, "company_exists")
    assert again.json()["error"]["details"]["company_id"] == company["company_id"]

    # The inline registration of an edition application meets the same rule.
    inline = await other.post(
        "/editions/ciftis-2021/applications",
        {
            "company": {**details(), "participation_mode": "both"},
            "contact": CONTACT,
            "identity": {"credit_code": code},
        },
    )
    assert error(inline) == (409, "company_exists")


async def test_concurrent_registrations_of_one_code_make_one_company(service: Service) -> None:
    code = credit_code()
    users = [service.user("exhibitor") for _ in range(8)]
    responses = await asyncio.gather(
        *(
            u.post("/companies", {"identity": {"credit_code": code}, "details": details()})
            for u in users
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, statuses
    assert {r.json()["error"]["code"] for r in responses if r.status_code == 409} == {
        "company_exists"
    }


async def test_registration_numbers_are_unique_per_country(service: Service) -> None:
    owner = service.user("exhibitor")
    number = f"HRB-{abs(hash(owner.subject)) % 10**8}"
    body = {"identity": {"registration_number": number}, "details": details("Acme", "DE")}
    ok(await owner.post("/companies", body), 201)
    assert error(await owner.post("/companies", body)) == (409, "company_exists")
    elsewhere = {"identity": {"registration_number": number}, "details": details("Acme", "FR")}
    ok(await owner.post("/companies", elsewhere), 201)


@pytest.mark.parametrize(
    ("identity", "problem"),
    [
        ({}, "credit code or a registration number"),
        ({"credit_code": "91440300192203821X"}, "check character"),
        ({"credit_code": "9144030019220382"}, "18 characters"),
        ({"registration_number": "#"}, "registration number"),
    ],
)
async def test_malformed_identities_are_refused(
    service: Service, identity: dict[str, str], problem: str
) -> None:
    response = await service.user("exhibitor").post(
        "/companies", {"identity": identity, "details": details()}
    )
    assert error(response) == (422, "invalid_request")
    assert problem in response.text


async def test_a_company_takes_part_edition_after_edition(service: Service) -> None:
    owner = service.user("exhibitor")
    company = ok(
        await owner.post(
            "/companies", {"identity": {"credit_code": credit_code()}, "details": details()}
        ),
        201,
    )
    cid = company["company_id"]
    path = f"/companies/{cid}/participations"
    first = ok(
        await owner.post(
            path,
            {"edition_code": "ciftis-2020", "participation_mode": "online", "contact": CONTACT},
        ),
        201,
    )
    second = ok(
        await owner.post(
            path,
            {"edition_code": "ciftis-2021", "participation_mode": "both", "contact": CONTACT},
        ),
        201,
    )
    assert first["company_id"] == second["company_id"] == cid
    assert first["company"]["participation_mode"] == "online"
    assert second["company"]["name_en"] == "Huawei" and second["status"] == "draft"

    again = await owner.post(
        path, {"edition_code": "ciftis-2021", "participation_mode": "online", "contact": CONTACT}
    )
    assert error(again) == (409, "already_participating")
    assert again.json()["error"]["details"]["application_id"] == second["application_id"]

    view = ok(await owner.get(f"/companies/{cid}"))
    assert view["participations"] == [
        {"edition_code": "ciftis-2020", "application_id": first["application_id"]},
        {"edition_code": "ciftis-2021", "application_id": second["application_id"]},
    ]


async def test_staff_act_for_the_company_and_outsiders_do_not(service: Service) -> None:
    owner, colleague, outsider = (service.user("exhibitor") for _ in range(3))
    company = ok(
        await owner.post(
            "/companies", {"identity": {"credit_code": credit_code()}, "details": details()}
        ),
        201,
    )
    cid = company["company_id"]
    assert error(await outsider.get(f"/companies/{cid}")) == (403, "not_company_staff")
    assert error(await outsider.post(f"/companies/{cid}/staff", {"person": "x"})) == (
        403,
        "not_company_staff",
    )
    ok(await owner.post(f"/companies/{cid}/staff", {"person": colleague.subject}))
    app = ok(
        await colleague.post(
            f"/companies/{cid}/participations",
            {"edition_code": "ciftis-2021", "participation_mode": "offline", "contact": CONTACT},
        ),
        201,
    )
    # The owner may submit what the colleague drafted: both are the company's staff.
    submitted = ok(await owner.post(f"/applications/{app['application_id']}/submit"))
    assert submitted["status"] == "submitted"
    assert error(await outsider.post(f"/applications/{app['application_id']}/withdraw", {})) == (
        422,
        "invalid_request",
    )
    assert error(
        await outsider.post(f"/applications/{app['application_id']}/withdraw", {"reason": "x"})
    ) == (403, "not_the_applicant")

    changed = ok(await colleague.patch(f"/companies/{cid}", {"name_en": "Huawei Technologies"}))
    assert changed["details"]["name_en"] == "Huawei Technologies"
    ok(await owner.delete(f"/companies/{cid}/staff/{colleague.subject}"))
    assert error(await owner.delete(f"/companies/{cid}/staff/{owner.subject}")) == (
        422,
        "last_staff_member",
    )
    assert error(await owner.delete(f"/companies/{cid}/staff/nobody")) == (
        404,
        "staff_member_not_found",
    )
    assert error(await owner.get("/companies/co-unknown")) == (404, "company_not_found")
    visitor = service.user("visitor")
    assert error(await visitor.get(f"/companies/{cid}")) == (403, "missing_role")


async def test_a_removed_staff_member_loses_the_applications_they_filed(
    service: Service,
) -> None:
    owner, leaver = service.user("exhibitor"), service.user("exhibitor")
    company = ok(
        await owner.post(
            "/companies", {"identity": {"credit_code": credit_code()}, "details": details()}
        ),
        201,
    )
    cid = company["company_id"]
    ok(await owner.post(f"/companies/{cid}/staff", {"person": leaver.subject}))
    app = ok(
        await leaver.post(
            f"/companies/{cid}/participations",
            {"edition_code": "ciftis-2021", "participation_mode": "offline", "contact": CONTACT},
        ),
        201,
    )
    application = f"/applications/{app['application_id']}"
    assert ok(await leaver.get(application))["applicant"] == leaver.subject
    ok(await owner.delete(f"/companies/{cid}/staff/{leaver.subject}"))

    assert error(await leaver.get(application)) == (403, "not_the_applicant")
    assert error(await leaver.get(f"{application}/participation-history")) == (
        403,
        "not_the_applicant",
    )
    assert error(await leaver.patch(application, {"name_en": "Mine now"})) == (
        403,
        "not_the_applicant",
    )
    assert error(await leaver.post(f"{application}/submit")) == (403, "not_the_applicant")
    assert error(await leaver.post(f"{application}/withdraw", {"reason": "leaving"})) == (
        403,
        "not_the_applicant",
    )
    still = ok(await owner.get(application))
    assert still["status"] == "draft" and still["company"]["name_en"] != "Mine now"
    ok(await owner.post(f"{application}/submit"))


async def test_ids_and_fields_the_domain_refuses_are_422_never_500(service: Service) -> None:
    recruiter = service.user("recruitment")
    long_id = "x" * 80
    for method, path, body in [
        ("POST", f"/applications/{long_id}/submit", None),
        ("POST", f"/meetings/{long_id}/accept", None),
        ("POST", f"/card-exchanges/{long_id}/accept", None),
        ("PATCH", "/applications/app-1/participation", {"participation_mode": None}),
    ]:
        response = await recruiter.call(method, path, json=body)
        assert error(response) == (422, "invalid_request"), (path, response.text)
    assert error(await recruiter.post(f"/leads/{long_id}/notes", {"text": "x"})) == (
        404,
        "lead_not_found",
    )
    long_subject = service.user("exhibitor", subject="s" * 80)
    response = await long_subject.post(
        "/companies", {"identity": {"credit_code": credit_code()}, "details": details()}
    )
    assert error(response) == (422, "invalid_request")


async def test_what_the_database_cannot_hold_is_a_422_never_a_500(service: Service) -> None:
    recruiter, owner = service.user("recruitment"), service.user("exhibitor")
    for hours in ("1e300", "inf", "nan", "-1"):
        assert error(await recruiter.get(f"/review-queue?waiting_longer_than_hours={hours}")) == (
            422,
            "invalid_request",
        ), hours
    assert ok(await recruiter.get("/review-queue?waiting_longer_than_hours=48")) is not None
    assert error(await owner.get("/applications/app%00x")) == (422, "invalid_request")
    assert error(await recruiter.get("/review-queue?sector=a%00b")) == (422, "invalid_request")
    for name in ("Hua\u0000wei", "\u200b\u200b", "\ufeffHuawei", "Huawei\u202eexe.gpj"):
        refused = await owner.post(
            "/companies",
            {"identity": {"credit_code": credit_code()}, "details": details(name=name)},
        )
        assert error(refused) == (422, "invalid_request"), name
