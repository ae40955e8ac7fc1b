"""The forgery of issue 11, replayed: an `exhibitors.ApplicationApproved` nobody decided,
written straight onto `exhibitors.events` with version 2 of a draft application's stream.
The broker's ACLs keep anyone but the exhibitors principal off that topic; here the forgery is
sent with the broker's admin credentials, as a stolen credential (or a broker without ACLs)
would allow, to prove the consumers refuse it on their own."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fairline_events.kafka import producer
from support.kafka_read import read_topic
from support.waiting import eventually

from .conftest import Service, ok
from .test_review_workflow import edition, register

pytestmark = pytest.mark.infra


async def test_a_forged_approval_is_dead_lettered_and_store_and_read_models_agree(
    service: Service,
) -> None:
    lead = service.user("recruitment")
    owner = service.user("exhibitor")
    code = edition()
    app = await register(owner, code)  # a draft: version 1 of its stream
    app_id = app["application_id"]
    stream = f"application-{app_id}"
    kafka = service.settings.kafka
    topic = service.settings.topic("exhibitors.events")

    async def envelopes_of_app() -> list[dict[str, Any]]:
        found = [json.loads(r.value or b"{}") for r in await read_topic(kafka, topic)]
        return [e for e in found if e["stream_id"] == stream]

    [registered] = await eventually(envelopes_of_app, bool, what="the draft on the topic")
    assert registered["service"] == "exhibitors", "envelopes name the service that wrote them"
    forged = registered | {
        "event_id": str(uuid.uuid4()),
        "event_type": "exhibitors.ApplicationApproved",
        "stream_version": 2,
        "position": None,
        "actor": "user:lead",
        "data": {"application_id": app_id, "reviewer": "lead", "note": "forged"},
    }
    send = producer(kafka)
    await send.start()
    try:
        await send.send_and_wait(topic, json.dumps(forged).encode(), key=stream.encode())
    finally:
        await send.stop()
    ok(await owner.post(f"/applications/{app_id}/submit"))  # the real version 2

    # Every projection of the service sets the forgery aside, with the reason ...
    for projection in ("review_queue", "directory", "review_audit"):
        dead_letters = service.settings.topic(f"exhibitors.{projection}.dlq")

        async def forgeries(dead_letters: str = dead_letters) -> list[Any]:
            records = await read_topic(kafka, dead_letters)
            return [r for r in records if forged["event_id"].encode() in (r.value or b"")]

        [dead] = await eventually(forgeries, bool, what=f"the forgery dead-lettered ({projection})")
        headers = dict(dead.headers)
        assert headers["dlq.error_type"] == b"WrongOrigin"
        assert b"not in the event store" in headers["dlq.reason"]
    # ... and applies the real version 2: store and read models agree, now and later.
    await eventually(
        lambda: lead.get(f"/review-queue?edition_code={code}"),
        lambda r: [e["status"] for e in r.json()] == ["submitted"],
        what="the real submission in the review queue",
    )
    stored = ok(await owner.get(f"/applications/{app_id}"))
    assert stored["status"] == "submitted"
    assert [h["event_type"] for h in stored["history"]] == [
        "exhibitors.ExhibitorRegistered",
        "exhibitors.ApplicationSubmitted",
    ]
    assert ok(await lead.get(f"/directory?edition_code={code}")) == [], "not approved, not listed"
    ok(await lead.post(f"/applications/{app_id}/review"))  # version 3 applies after 2
    await eventually(
        lambda: lead.get(f"/review-queue?edition_code={code}"),
        lambda r: [e["status"] for e in r.json()] == ["under_review"],
        what="the review started",
    )
