"""The review workflow over HTTP: assignment, deadlines in the queue, the audit trail,
withdrawal reaching other services, placements and the directory's filters."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from support.kafka_read import read_topic
from support.waiting import eventually

from .conftest import Service, User, credit_code, error, ok

pytestmark = pytest.mark.infra

CONTACT = {"name": "Wang Fang", "email": "wang.fang@example.com", "phone": "+86 10 1234 5678"}


def edition() -> str:
    return f"fair{uuid.uuid4().hex[:6]}-2021"


async def register(
    owner: User, edition_code: str, *, name: str = "Huawei", country: str = "CN", mode: str = "both"
) -> dict[str, Any]:
    body = {
        "company": {
            "name_zh": name,
            "name_en": name,
            "country_or_region": country,
            "sector": "digital services",
            "participation_mode": mode,
        },
        "contact": CONTACT,
        "identity": {"credit_code": credit_code()},
    }
    return ok(await owner.post(f"/editions/{edition_code}/applications", body), 201)  # type: ignore[no-any-return]


async def test_assignment_deadline_decision_and_audit_trail(service: Service) -> None:
    lead, li, zhang = (service.user("recruitment", subject=n) for n in ("lead", "li", "zhang"))
    owner = service.user("exhibitor")
    code = edition()
    ok(await lead.put(f"/editions/{code}/review-sla", {"hours": 48}))
    app = await register(owner, code)
    app_id = app["application_id"]
    assert app["company_id"].startswith("co-")
    ok(await owner.post(f"/applications/{app_id}/submit"))

    assigned = ok(await lead.post(f"/applications/{app_id}/assign", {"reviewer": "li"}))
    assert assigned["reviewer"] == "li" and assigned["status"] == "submitted"
    assert error(await zhang.post(f"/applications/{app_id}/review")) == (
        403,
        "assigned_to_another_reviewer",
    )
    ok(await li.post(f"/applications/{app_id}/review"))
    # Handed over to zhang: li may no longer decide, zhang may.
    ok(await lead.post(f"/applications/{app_id}/assign", {"reviewer": "zhang"}))
    assert error(await li.post(f"/applications/{app_id}/approve", {})) == (403, "not_the_reviewer")

    queue = await eventually(
        lambda: lead.get(f"/review-queue?edition_code={code}&reviewer=zhang"),
        lambda r: len(r.json()) == 1 and r.json()[0]["status"] == "under_review",
        what="the application in zhang's queue",
    )
    [entry] = queue.json()
    assert entry["overdue"] is False and entry["company_id"] == app["company_id"]
    due = datetime.fromisoformat(entry["due_at"]) - datetime.fromisoformat(entry["waiting_since"])
    assert due.total_seconds() == 48 * 3600

    ok(await zhang.post(f"/applications/{app_id}/return", {"reason": "add the booth contact"}))
    ok(await owner.post(f"/applications/{app_id}/submit"))
    ok(await li.post(f"/applications/{app_id}/review"))
    ok(await li.post(f"/applications/{app_id}/approve", {"note": "welcome"}))

    trail = await eventually(
        lambda: lead.get(f"/review-audit?application_id={app_id}"),
        lambda r: len(r.json()) == 8,
        what="eight steps in the audit trail",
    )
    assert [(e["action"], e["actor"], e["reviewer"], e["reason"]) for e in trail.json()] == [
        ("submitted", f"user:{owner.subject}", None, None),
        ("assigned", "user:lead", "li", None),
        ("review_started", "user:li", "li", None),
        ("assigned", "user:lead", "zhang", None),
        ("returned", "user:zhang", "zhang", "add the booth contact"),
        ("submitted", f"user:{owner.subject}", None, None),
        ("review_started", "user:li", "li", None),
        ("approved", "user:li", "li", "welcome"),
    ]
    assert all(e["edition_code"] == code for e in trail.json())
    by_zhang = ok(await lead.get(f"/review-audit?edition_code={code}&actor=zhang"))
    assert [e["action"] for e in by_zhang] == ["returned"]
    assert error(await owner.get("/review-audit")) == (403, "missing_role")


async def test_overdue_applications_show_in_the_queue(service: Service) -> None:
    lead = service.user("recruitment")
    owner = service.user("exhibitor")
    code = edition()
    app = await register(owner, code)
    ok(await owner.post(f"/applications/{app['application_id']}/submit"))
    # An SLA set later applies to waiting applications too; pretend a day passed.
    ok(await lead.put(f"/editions/{code}/review-sla", {"hours": 1}))

    def one_hour_to_decide(response: Any) -> bool:
        [entry] = response.json() or [None]
        return (
            entry is not None
            and entry["status"] == "submitted"
            and (
                datetime.fromisoformat(entry["due_at"])
                - datetime.fromisoformat(entry["waiting_since"])
            ).total_seconds()
            == 3600
        )

    await eventually(
        lambda: lead.get(f"/review-queue?edition_code={code}"),
        one_hour_to_decide,
        what="the application waiting, due an hour after its submission",
    )
    # Rather than wait an hour, move the submission back in the read model.
    pool = service.app.state.runtime.pool
    await pool.execute(
        "UPDATE proj_review_queue.applications SET waiting_since = now() - interval '2 hours'"
        " WHERE application_id = $1",
        app["application_id"],
    )
    overdue = await eventually(
        lambda: lead.get(f"/review-queue?edition_code={code}&overdue=true"),
        lambda r: len(r.json()) == 1,
        what="the application overdue",
    )
    assert overdue.json()[0]["overdue"] is True
    assert ok(await lead.get(f"/review-queue?edition_code={code}&overdue=false")) == []
    assert error(await lead.put(f"/editions/{code}/review-sla", {"hours": 0})) == (
        422,
        "invalid_request",
    )
    assert ok(await lead.get(f"/editions/{code}/review-sla")) == {"edition_code": code, "hours": 1}


async def test_withdrawal_reaches_other_services_through_the_topic(service: Service) -> None:
    owner = service.user("exhibitor")
    app = await register(owner, edition())
    app_id = app["application_id"]
    ok(await owner.post(f"/applications/{app_id}/withdraw", {"reason": "budget cut"}))
    topic = service.settings.topic("exhibitors.events")

    async def events_of_app() -> list[dict[str, Any]]:
        records = await read_topic(service.settings.kafka, topic)
        found = [json.loads(r.value or b"{}") for r in records]
        return [e for e in found if e["stream_id"] == f"application-{app_id}"]

    published = await eventually(
        events_of_app, lambda es: len(es) == 2, what="both events on the topic"
    )
    registered, withdrawn = published
    assert registered["event_type"] == "exhibitors.ExhibitorRegistered"
    assert set(registered["data"]) >= {
        "application_id",
        "applicant",
        "edition_code",
        "company",
        "contact",
    }
    assert withdrawn["event_type"] == "exhibitors.ApplicationWithdrawn"
    assert withdrawn["schema_version"] == 1
    assert withdrawn["data"] == {"application_id": app_id, "reason": "budget cut"}
    assert error(await owner.post(f"/applications/{app_id}/submit")) == (422, "illegal_transition")


async def test_placements_keep_their_history_and_filter_the_directory(service: Service) -> None:
    lead = service.user("recruitment")
    visitor = service.user("visitor")
    code = edition()
    apps = {}
    for name, country, mode in [
        ("Qi An Xin", "CN", "both"),
        ("Meituan", "CN", "offline"),
        ("PwC", "GB", "online"),
    ]:
        owner = service.user("exhibitor")
        app = await register(owner, code, name=name, country=country, mode=mode)
        app_id = app["application_id"]
        ok(await owner.post(f"/applications/{app_id}/submit"))
        ok(await lead.post(f"/applications/{app_id}/review"))
        ok(await lead.post(f"/applications/{app_id}/approve", {}))
        apps[name] = app_id

    trust = {"venue": "cncc", "zone": "digital-services", "theme": "trust"}
    ok(await lead.patch(f"/applications/{apps['Qi An Xin']}/participation", trust))
    ok(
        await lead.patch(
            f"/applications/{apps['Meituan']}/participation",
            {"venue": "shougang", "zone": "digital-services", "theme": "experience"},
        )
    )
    # Meituan moves to both, then out of the zone: each change kept.
    moved = ok(
        await lead.patch(
            f"/applications/{apps['Meituan']}/participation",
            {"participation_mode": "both", "zone": "laozihao", "theme": None},
        )
    )
    assert (moved["zone"], moved["theme"], moved["venue"]) == ("laozihao", None, "shougang")
    history = ok(await lead.get(f"/applications/{apps['Meituan']}/participation-history"))
    assert [(h["participation_mode"], h["zone"], h["theme"]) for h in history] == [
        ("offline", None, None),
        ("offline", "digital-services", "experience"),
        ("both", "laozihao", None),
    ]
    assert all(h["actor"].startswith("user:") for h in history)

    async def names(query: str) -> list[str]:
        listing = ok(await visitor.get(f"/directory?edition_code={code}&{query}"))
        return sorted(e["name_en"] for e in listing)

    await eventually(
        lambda: names("zone=laozihao"), lambda n: n == ["Meituan"], what="Meituan's move listed"
    )
    assert await names("zone=digital-services") == ["Qi An Xin"]
    assert await names("theme=trust") == ["Qi An Xin"]
    assert await names("theme=experience") == []
    assert await names("participation_mode=online") == ["PwC"]
    assert await names("country_or_region=gb") == ["PwC"]
    assert await names("venue=shougang") == ["Meituan"]
    assert await names("q=an") == ["Meituan", "Qi An Xin"]

    bad = [
        ({"theme": "trust", "zone": "laozihao"}, (422, "theme_outside_digital_services_zone")),
        ({"venue": "cncc"}, (422, "venue_for_online_only")),
        ({"venue": "the moon"}, (422, "invalid_request")),
        ({"unknown": 1}, (422, "invalid_request")),
    ]
    for body, expected in bad:
        response = await lead.patch(f"/applications/{apps['PwC']}/participation", body)
        assert error(response) == expected, body
    assert error(await visitor.get("/directory?theme=fun")) == (422, "invalid_request")
    assert error(
        await service.user("exhibitor").patch(
            f"/applications/{apps['PwC']}/participation", {"zone": "x"}
        )
    ) == (403, "missing_role")
    assert error(await lead.patch("/applications/app-nope/participation", {"zone": "x"})) == (
        404,
        "application_not_found",
    )


async def test_statistics_of_an_edition_over_http(service: Service) -> None:
    series = f"stats{uuid.uuid4().hex[:6]}"
    lead = service.user("recruitment")
    for edition_code, country, mode in [
        (f"{series}-2020", "CN", "offline"),
        (f"{series}-2021", "CN", "both"),
        (f"{series}-2021", "US", "online"),
    ]:
        app = await register(service.user("exhibitor"), edition_code, country=country, mode=mode)
        ok(await lead.post(f"/applications/{app['application_id']}/submit"))
        ok(await lead.post(f"/applications/{app['application_id']}/review"))
        ok(await lead.post(f"/applications/{app['application_id']}/approve", {}))
    visitor = service.user("visitor")
    stats = await eventually(
        lambda: visitor.get(f"/editions/{series}-2021/statistics"),
        lambda r: (
            r.json()["current"]["exhibitors"] == 2 and r.json()["previous"]["exhibitors"] == 1
        ),
        what="both editions counted",
    )
    body = stats.json()
    assert body["current"]["online_only"] == 1 and body["current"]["countries_and_regions"] == 2
    assert body["growth"]["exhibitors"] == 1 and body["growth"]["exhibitors_percent"] == 100.0
    assert error(await visitor.get("/editions/NOT AN EDITION/statistics")) == (
        422,
        "invalid_request",
    )
