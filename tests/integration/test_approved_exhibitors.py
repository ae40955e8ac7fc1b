"""The approved-exhibitors policy that booths and forums share (`fairline_events.
approved_exhibitors`), against the real database: a read model made before it was shared
(forums kept only the names) is upgraded in place and goes on admitting from where it was."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from exhibitors.domain.events import ApplicationApproved
from exhibitors.domain.events import registry as exhibitors_registry
from fairline_events.db import migrate
from fairline_events.envelope import Envelope
from fairline_events.kafka import KafkaAccess
from fairline_events.projection import ProjectionRunner
from fairline_events.store import EventStore
from forums.domain.company import exhibitor_stream
from forums.domain.events import ExhibitorApproved, registry
from forums.policies import exhibitors

pytestmark = pytest.mark.infra

LEGACY_TABLE = """
CREATE SCHEMA proj_forums_exhibitors;
CREATE TABLE proj_forums_exhibitors.applications (
    application_id text PRIMARY KEY,
    edition_code   text NOT NULL,
    applicant      text NOT NULL,
    name_zh        text NOT NULL,
    name_en        text NOT NULL
);
"""


def approval(offset: int, version: int) -> ConsumerRecord[bytes, bytes]:
    name, schema, data = exhibitors_registry.encode(
        ApplicationApproved(application_id="app-alibaba", reviewer="zhao.min")
    )
    envelope = Envelope(
        event_id=uuid.uuid4(),
        event_type=name,
        schema_version=schema,
        stream_id="application-app-alibaba",
        stream_version=version,
        occurred_at=datetime.now(UTC),
        actor="user:recruiter-1",
        correlation_id=uuid.uuid4(),
        data=data,
    )
    value = envelope.to_json()
    return ConsumerRecord(
        "x.exhibitors.events", 0, offset, 0, 0, b"k", value, None, 1, len(value), []
    )


async def test_a_registration_kept_before_the_policy_was_shared_is_still_approved(
    pool: asyncpg.Pool,
) -> None:
    await migrate(pool)
    await pool.execute(LEGACY_TABLE)
    await pool.execute(
        """INSERT INTO proj_forums_exhibitors.applications
           VALUES ('app-alibaba', 'ciftis-2021', 'li.wei', '阿里巴巴', 'Alibaba')"""
    )
    runner = ProjectionRunner(exhibitors, pool, KafkaAccess.plain("unused:9092"), "x.")
    await runner.create_schema()  # the shared table's columns added in place
    # The registration was applied as version 1 of its stream, before the upgrade.
    await pool.execute(
        """INSERT INTO proj_forums_exhibitors.applied_versions (stream_id, version)
           VALUES ('application-app-alibaba', 1)"""
    )

    approved_record = approval(1, 2)
    applied = await runner.apply([approved_record])
    assert (applied.applied, applied.dead) == (1, [])
    again = await runner.apply([approved_record])  # Kafka hands it over once more
    assert (again.applied, again.duplicates) == (0, 1)

    history = await EventStore(pool, registry).read_stream(exhibitor_stream("app-alibaba"))
    assert [e.event_type for e in history] == ["forums.ExhibitorApproved"]
    approved = history[0].event(registry)
    assert isinstance(approved, ExhibitorApproved)
    assert (approved.applicant, approved.name_zh, approved.edition_code) == (
        "li.wei",
        "阿里巴巴",
        "ciftis-2021",
    )
    assert history[0].actor == "system:exhibitors-policy"
