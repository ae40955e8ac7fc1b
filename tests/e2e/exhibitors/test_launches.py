"""Launches (成果发布) on the booth page: the exhibitors and forums services side by side, each
with its relay and projections and as its own Kafka principal, talking only through Kafka.
The exhibitors service approves a company; forums learns it and lets the company book a
launch; the exhibitors service learns the launch and shows it on the company's public booth
page as an activity, and follows its reschedule and cancellation."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from e2e.forums.conftest import ROOMS, Api, at
from exhibitors.service import definition as exhibitors_definition
from fairline_events.access import create_acls, new_password, service_grants, upsert_scram_users
from fairline_events.db import drop_databases
from fairline_events.kafka import ensure_topics, producer
from fairline_events.service import build_app
from fairline_events.settings import ServiceSettings, kafka_fields
from fairline_events.store import Checkpoint
from forums.service import definition as forums_definition
from pydantic import SecretStr
from support.serving import serving
from support.waiting import eventually

from .conftest import Service, ok
from .test_online_fair import anonymous, exhibit, public_page

pytestmark = pytest.mark.infra

LAUNCH_KIND = {
    "name_zh": "成果发布",
    "name_en": "launch",
    "default_minutes": 45,
    "equipment": ["launch-stage"],
    "formats": ["in_person", "hybrid"],
}


@dataclass
class Fair:
    exhibitors: Service
    forums: Api


async def own_principals(
    infra: Any, settings: ServiceSettings
) -> tuple[ServiceSettings, ServiceSettings]:
    """The two services' settings, each as its own Kafka principal with the grants the
    platform derives from its definition (where the broker authenticates)."""
    if not infra.authenticated:
        return settings, settings
    tag = uuid.uuid4().hex[:8]
    definitions = (exhibitors_definition, forums_definition)
    users = {d.name: f"{tag}.{d.name}" for d in definitions}
    passwords = {user: new_password() for user in users.values()}
    await upsert_scram_users(infra.kafka, passwords)
    prefix = settings.fairline_topic_prefix
    await create_acls(
        infra.kafka, [g for d in definitions for g in service_grants(d, prefix, users[d.name])]
    )
    as_exhibitors, as_forums = (
        settings.model_copy(
            update={
                "kafka_sasl_username": users[d.name],
                "kafka_sasl_password": SecretStr(passwords[users[d.name]]),
            }
        )
        for d in definitions
    )
    return as_exhibitors, as_forums


@pytest.fixture(scope="module")
async def fair(infra) -> AsyncIterator[Fair]:  # type: ignore[no-untyped-def]
    unique = f"l{uuid.uuid4().hex[:10]}"
    settings = ServiceSettings(
        database_url=infra.database_url,
        **kafka_fields(infra.kafka),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret="test-secret-" + "x" * 40,
    )
    as_exhibitors, as_forums = await own_principals(infra, settings)
    # Each consumes the other's topic, which only its owner may create: both made first, as
    # `make run` migrates every service before it starts any.
    await ensure_topics(as_exhibitors.kafka, [settings.topic("exhibitors.events")])
    await ensure_topics(as_forums.kafka, [settings.topic("forums.events")])
    # Both also read services not running here (booths, sponsorship): their topics are made
    # as those services' migrations would make them (by the admin, for this test).
    running = {"exhibitors.events", "forums.events"}
    others = {
        topic
        for definition in (exhibitors_definition, forums_definition)
        for projection in definition.projections
        for topic in projection.topics
    } - running
    await ensure_topics(settings.kafka, sorted(settings.topic(t) for t in others))
    exhibitors_app = build_app(exhibitors_definition, as_exhibitors)
    forums_app = build_app(forums_definition, as_forums)
    try:
        async with (
            serving(exhibitors_app, request_timeout=30) as exhibitors_client,
            serving(forums_app, request_timeout=30) as forums_client,
        ):
            yield Fair(
                Service(
                    exhibitors_client,
                    exhibitors_app.state.token_issuer,
                    exhibitors_app,
                    as_exhibitors,
                ),
                Api(forums_client, forums_app),
            )
    finally:
        await drop_databases(infra.database_url, f"{unique}_")


async def programme(forums: Api, edition: str) -> None:
    for room in ROOMS:
        await forums.ok("POST", f"/editions/{edition}/rooms", "team", json=room)
    await forums.ok("PUT", f"/editions/{edition}/kinds/launch", "team", json=LAUNCH_KIND)


def launch(edition: str, application_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "edition_code": edition,
        "kind": "launch",
        "title_zh": "鸿蒙数字服务成果发布",
        "title_en": "Digital services launch",
        "topics": ["IoT"],
        "organiser": {
            "kind": "company",
            "name_zh": "华为",
            "name_en": "Huawei",
            "exhibitor_id": application_id,
        },
    } | extra


def launches_on(page: httpx.Response) -> list[dict[str, Any]]:
    return [a for a in page.json()["activities"] if a.get("source") == "forums"]


async def test_a_launch_booked_in_forums_shows_on_the_public_booth_page_and_follows_it(
    fair: Fair,
) -> None:
    edition = f"ciftis-{uuid.uuid4().hex[:8]}"
    xs, forums = fair.exhibitors, fair.forums
    await programme(forums, edition)
    company_id, application_id, owner = await exhibit(xs, edition, name_zh="华为", name_en="Huawei")
    await public_page(xs, owner, company_id)
    staff = f"staff:{owner.subject}"

    # Forums learns the approval from the exhibitors service's relay, through Kafka.
    proposed = await eventually(
        lambda: forums.call("POST", "/forums", staff, json=launch(edition, application_id)),
        lambda r: r.status_code == 201,
        what="the approval to reach forums",
    )
    forum_id = proposed.json()["forum_id"]
    await forums.ok("POST", f"/forums/{forum_id}/approve", "team", json={})
    placed = await forums.schedule(forum_id, room_code="launch-hall", starts_at=at(2, 15))
    assert placed.status_code == 200, placed.text

    # Booked, not yet published: the company's staff see it coming; the public page does not.
    async def staff_view() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = ok(await owner.get(f"/companies/{company_id}/booth/forums"))
        return got

    coming = await eventually(
        staff_view,
        lambda rows: len(rows) == 1 and rows[0]["status"] == "scheduled",
        what="the booked launch in the staff's view",
    )
    assert (coming[0]["forum_id"], coming[0]["public"]) == (forum_id, False)
    page_path = f"/public/companies/{company_id}"
    before = await eventually(
        lambda: anonymous(xs, page_path), lambda r: r.status_code == 200, what="the page"
    )
    assert launches_on(before) == []
    outsider = xs.user("exhibitor")
    refused = await outsider.get(f"/companies/{company_id}/booth/forums")
    assert refused.status_code == 403

    # Published: on the public page, as an activity, in its launch hall.
    await forums.ok("POST", f"/forums/{forum_id}/publish", "team", json={"reason": "ready"})
    page = await eventually(
        lambda: anonymous(xs, page_path),
        lambda r: len(launches_on(r)) == 1,
        what="the published launch on the public page",
    )
    shown = launches_on(page)[0]
    assert shown == {
        "kind": "activity",
        "source": "forums",
        "forum_id": forum_id,
        "forum_kind": "launch",
        "edition_code": edition,
        "title_zh": "鸿蒙数字服务成果发布",
        "title_en": "Digital services launch",
        "topics": ["IoT"],
        "language": "zh",
        "format": "in_person",
        "venue": "cncc",
        "room_code": "launch-hall",
        "room_zh": "发布厅",
        "room_en": "Launch Hall",
        "starts_at": shown["starts_at"],
        "ends_at": shown["ends_at"],
        "rescheduled": False,
    }
    assert _same_moment(shown["starts_at"], at(2, 15))
    assert _same_moment(shown["ends_at"], at(2, 15, 45))
    signed_in = ok(await outsider.get(f"/companies/{company_id}/booth"))
    assert [a.get("forum_id") for a in signed_in["activities"]] == [forum_id]
    etag = page.headers["etag"]
    unchanged = await anonymous(xs, page_path, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304

    # A closed-door launch of the same company is never on the public page.
    closed = await forums.ok(
        "POST", "/forums", staff, json=launch(edition, application_id, access="invitation")
    )
    await forums.ok("POST", f"/forums/{closed['forum_id']}/approve", "team", json={})
    placed = await forums.schedule(closed["forum_id"], room_code="launch-hall", starts_at=at(2, 10))
    assert placed.status_code == 200, placed.text
    await forums.ok(
        "POST", f"/forums/{closed['forum_id']}/publish", "team", json={"reason": "invitees set"}
    )
    rows = await eventually(
        staff_view,
        lambda rows: any(r["forum_id"] == closed["forum_id"] and r["published"] for r in rows),
        what="the closed-door launch in the staff's view",
    )
    assert [r["public"] for r in rows if r["forum_id"] == closed["forum_id"]] == [False]
    untouched = await anonymous(xs, page_path, headers={"If-None-Match": etag})
    assert untouched.status_code == 304, "the public page did not change"

    # Rescheduled: the page follows, marked as moved, under a new ETag.
    moved = await forums.schedule(
        forum_id, room_code="launch-hall", starts_at=at(3, 10), reason="the minister's diary"
    )
    assert moved.status_code == 200, moved.text
    page = await eventually(
        lambda: anonymous(xs, page_path, headers={"If-None-Match": etag}),
        lambda r: r.status_code == 200 and launches_on(r)[0]["rescheduled"],
        what="the reschedule on the public page",
    )
    assert [a["forum_id"] for a in launches_on(page)] == [forum_id]
    assert _same_moment(launches_on(page)[0]["starts_at"], at(3, 10))
    assert page.headers["etag"] != etag
    etag, body = page.headers["etag"], page.content

    # Kafka hands the forum's events over again: nothing changes, not even the ETag.
    await redeliver(fair, f"forum-{forum_id}")
    again = await anonymous(xs, page_path)
    assert (again.headers["etag"], again.content) == (etag, body)
    assert (await anonymous(xs, page_path, headers={"If-None-Match": etag})).status_code == 304

    # Cancelled: gone from the page; the staff see why.
    await forums.ok(
        "POST", f"/forums/{forum_id}/cancel", "team", json={"reason": "the speaker fell ill"}
    )
    gone = await eventually(
        lambda: anonymous(xs, page_path),
        lambda r: launches_on(r) == [],
        what="the cancelled launch off the public page",
    )
    assert gone.headers["etag"] != etag
    cancelled = [r for r in await staff_view() if r["forum_id"] == forum_id]
    assert [(r["status"], r["reason"], r["public"]) for r in cancelled] == [
        ("cancelled", "the speaker fell ill", False)
    ]


def _same_moment(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


async def redeliver(fair: Fair, stream_id: str) -> None:
    """Send a stream's events again, byte for byte as the forums relay sent them (as the
    forums principal), and wait until the exhibitors service has consumed past them."""
    forums_runtime = fair.forums.runtime
    stored = await forums_runtime.store.read_all_encoded(Checkpoint.start(), 10_000)
    events = [e for e in stored if e.stream_id == stream_id]
    assert len(events) >= 4, events  # proposed, approved, scheduled, published, rescheduled
    topic = fair.exhibitors.settings.topic("forums.events")
    send = producer(forums_runtime.settings.kafka)
    await send.start()
    try:
        sent = [
            await send.send_and_wait(
                topic, e.value, key=e.stream_id.encode(), headers=e.kafka_headers()
            )
            for e in events
        ]
    finally:
        await send.stop()
    last = sent[-1]
    pool = fair.exhibitors.app.state.runtime.pool

    async def consumed() -> int:
        value = await pool.fetchval(
            """SELECT next_offset FROM proj_forum_activities.consumed_offsets
               WHERE topic = $1 AND partition = $2""",
            topic,
            last.partition,
        )
        return int(value or 0)

    await eventually(consumed, lambda n: n > last.offset, what="the redelivery consumed")
