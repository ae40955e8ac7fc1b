"""The admissions policy against the real database: approvals from the exhibitors' topic
become admissions in booths' own event store, once, even when redelivered or replayed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from booths.domain.account import account_stream
from booths.domain.events import ExhibitorAdmitted, registry
from booths.policies import admissions
from exhibitors.domain.events import ApplicationApproved, ExhibitorRegistered
from exhibitors.domain.events import registry as exhibitors_registry
from exhibitors.domain.values import CompanyProfile, ContactPerson
from fairline_events.db import migrate
from fairline_events.envelope import Envelope
from fairline_events.projection import ProjectionRunner
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore

pytestmark = pytest.mark.infra

TOPIC = "x.exhibitors.events"


def record(offset: int, version: int, event: DomainEvent) -> ConsumerRecord[bytes, bytes]:
    name, schema, data = exhibitors_registry.encode(event)
    envelope = Envelope(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{offset}"),
        event_type=name,
        schema_version=schema,
        stream_id="application-app-huawei",
        stream_version=version,
        occurred_at=datetime.now(UTC),
        actor="user:recruiter-1",
        correlation_id=uuid.uuid4(),
        data={**data, "field_added_later": "ignored by booths"},
    )
    value = envelope.to_json()
    return ConsumerRecord(TOPIC, 0, offset, 0, 0, b"k", value, None, 1, len(value), [])


RECORDS = [
    record(
        0,
        1,
        ExhibitorRegistered(
            application_id="app-huawei",
            applicant="wang.fang",
            edition_code="ciftis-2021",
            company=CompanyProfile(
                name_zh="华为",
                name_en="Huawei",
                country_or_region="CN",
                sector="digital transformation",
                participation_mode="both",
            ),
            contact=ContactPerson(
                name="Wang Fang", email="w@example.com", phone="+86 10 1234 5678"
            ),
        ),
    ),
    record(1, 2, ApplicationApproved(application_id="app-huawei", reviewer="zhao.min")),
]


async def test_an_approval_admits_once_even_when_redelivered_or_replayed(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool)
    store = EventStore(pool, registry)
    runner = ProjectionRunner(admissions, pool, "unused:9092", "x.")
    await runner.create_schema()

    first = await runner.apply(RECORDS)
    assert (first.applied, first.dead) == (2, [])
    again = await runner.apply(RECORDS)  # Kafka hands the batch over once more
    assert again.duplicates == 2

    await runner.create_schema("proj_replay")  # a rebuild replays into a fresh schema
    replay = await runner.apply(RECORDS, schema="proj_replay")
    assert (replay.applied, replay.dead) == (2, [])

    history = await store.read_stream(account_stream("app-huawei"))
    assert [e.event_type for e in history] == ["booths.ExhibitorAdmitted"]
    admitted = history[0].event(registry)
    assert isinstance(admitted, ExhibitorAdmitted)
    assert (admitted.applicant, admitted.name_zh, admitted.edition_code) == (
        "wang.fang",
        "华为",
        "ciftis-2021",
    )
    assert history[0].actor == "system:admissions"
    assert history[0].causation_id == uuid.uuid5(uuid.NAMESPACE_URL, "1")
