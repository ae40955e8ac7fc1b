"""Edition statistics against a hand-counted fixture: two editions, every kind of exhibitor
that must (and must not) be counted, applied through the real directory projection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from exhibitors.api.statistics import edition_statistics
from exhibitors.domain import application
from exhibitors.domain.application import APPLICATION
from exhibitors.domain.commands import (
    ApproveApplication,
    ChangeParticipation,
    Command,
    RegisterExhibitor,
    RejectApplication,
    StartReview,
    SubmitApplication,
    WithdrawApplication,
)
from exhibitors.domain.values import CompanyProfile, ContactPerson
from exhibitors.projections import directory
from exhibitors.service import definition
from fairline_events.context import CommandContext
from fairline_events.db import migrate
from fairline_events.projection import ProjectionRunner
from fairline_events.store import Checkpoint, EventStore
from fairline_events.transact import Streams, command_handler
from support.waiting import eventually

pytestmark = pytest.mark.infra

CTX = CommandContext(actor="user:fixture")


@command_handler
async def write_history(command: Command, streams: Streams) -> dict[str, Any]:
    """The fixture's application histories, each command decided on its application alone."""
    stream = APPLICATION.stream(command.application_id)
    return {stream: application.decide(command, await streams(APPLICATION, stream))}


# (edition, country, mode, what happens) — counted only when approved and not withdrawn.
FIXTURE: list[tuple[str, str, str, str]] = [
    ("ciftis-2020", "CN", "offline", "approved"),
    ("ciftis-2020", "CN", "online", "approved"),
    ("ciftis-2020", "US", "both", "approved"),
    ("ciftis-2020", "GB", "online", "approved"),
    ("ciftis-2020", "HK", "offline", "approved"),
    ("ciftis-2020", "DE", "online", "withdrawn after approval"),
    ("ciftis-2020", "FR", "offline", "rejected"),
    ("ciftis-2021", "CN", "both", "approved"),
    ("ciftis-2021", "CN", "online", "approved"),
    ("ciftis-2021", "CN", "online", "approved"),
    ("ciftis-2021", "US", "online", "approved"),
    ("ciftis-2021", "GB", "both", "approved"),
    ("ciftis-2021", "JP", "offline", "approved"),
    ("ciftis-2021", "SG", "online", "approved, then both"),
    ("ciftis-2021", "MO", "online", "approved"),
    ("ciftis-2021", "DE", "offline", "submitted"),
    ("ciftis-2021", "KR", "online", "withdrawn after approval"),
    ("ciftis-2021", "TW", "both", "draft"),
]


async def _register(store: EventStore, edition: str, country: str, mode: str, fate: str) -> None:
    app_id = f"app-{uuid.uuid4().hex[:10]}"
    commands: list[Any] = [
        RegisterExhibitor(
            application_id=app_id,
            edition_code=edition,
            company=CompanyProfile(
                name_zh="公司",
                name_en=f"{country} company",
                country_or_region=country,
                sector="services",
                participation_mode=mode,
            ),
            contact=ContactPerson(name="X", email="x@example.com", phone="+86 10 1234 5678"),
            company_id=f"co-{app_id}",
        )
    ]
    if fate != "draft":
        commands.append(SubmitApplication(application_id=app_id))
    if fate not in ("draft", "submitted"):
        commands.append(StartReview(application_id=app_id, reviewer="rev"))
        commands.append(
            RejectApplication(application_id=app_id, reviewer="rev", reason="out of scope")
            if fate == "rejected"
            else ApproveApplication(application_id=app_id, reviewer="rev")
        )
    if fate == "withdrawn after approval":
        commands.append(WithdrawApplication(application_id=app_id, reason="budget"))
    if fate == "approved, then both":
        commands.append(ChangeParticipation(application_id=app_id, participation_mode="both"))
    for command in commands:
        await write_history(store, command, CTX)


async def project_everything(store: EventStore, runner: ProjectionRunner) -> None:
    """Feed every stored event to the projection, as the relay and Kafka would."""
    # Readers see only transactions older than every one still running, in any database of
    # the server: wait until every committed event is past that horizon.
    total = await store.pool.fetchval("SELECT count(*) FROM events")
    stored = await eventually(
        lambda: store.read_all(Checkpoint.start(), limit=100_000),
        lambda found: len(found) == total,
        within=30,
        what="every committed event readable",
    )
    records = [
        ConsumerRecord(
            topic="exhibitors.events",
            partition=0,
            offset=i,
            timestamp=int(datetime.now(UTC).timestamp() * 1000),
            timestamp_type=0,
            key=s.envelope.stream_id.encode(),
            value=s.envelope.to_json(),
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=0,
            headers=[],
        )
        for i, s in enumerate(stored)
    ]
    result = await runner.apply(records)
    assert not result.dead, result.dead


@pytest.fixture
async def projected(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    await migrate(pool)
    store = EventStore(pool, definition.registry)
    for row in FIXTURE:
        await _register(store, *row)
    runner = ProjectionRunner(directory, pool, "unused:9092", "t.")
    await runner.create_schema()
    await project_everything(store, runner)
    yield pool


async def test_statistics_match_the_hand_count(projected: asyncpg.Pool) -> None:
    stats = await edition_statistics(projected, "ciftis-2021")
    assert stats.previous is not None and stats.growth is not None
    # ciftis-2020 by hand: 5 listed (DE withdrew, FR was rejected) from CN, US, GB, HK;
    # at the venues: the two offline and the one "both"; online: two online, one "both".
    assert stats.previous.model_dump() == {
        "edition_code": "ciftis-2020",
        "exhibitors": 5,
        "countries_and_regions": 4,
        "offline": 3,
        "online": 3,
        "online_only": 2,
        "by_country_or_region": {"CN": 2, "GB": 1, "HK": 1, "US": 1},
    }
    # ciftis-2021 by hand: 8 listed (DE only submitted, KR withdrew, TW a draft) from
    # CN, US, GB, JP, SG, MO; SG moved from online to both after approval.
    # Offline: CN both, GB both, JP offline, SG both = 4.
    # Online: CN both, CN online x2, US online, GB both, SG both, MO online = 7.
    # Online only: CN x2, US, MO = 4.
    assert stats.current.model_dump() == {
        "edition_code": "ciftis-2021",
        "exhibitors": 8,
        "countries_and_regions": 6,
        "offline": 4,
        "online": 7,
        "online_only": 4,
        "by_country_or_region": {"CN": 3, "GB": 1, "JP": 1, "MO": 1, "SG": 1, "US": 1},
    }
    assert stats.growth.model_dump() == {
        "exhibitors": 3,
        "exhibitors_percent": 60.0,
        "countries_and_regions": 2,
        "countries_and_regions_percent": 50.0,
        "offline": 1,
        "offline_percent": 33.3,
        "online": 4,
        "online_percent": 133.3,
        "online_only": 2,
        "online_only_percent": 100.0,
    }


async def test_an_edition_without_a_previous_one_has_no_growth(projected: asyncpg.Pool) -> None:
    first = await edition_statistics(projected, "ciftis-2020")
    assert first.previous is not None and first.previous.exhibitors == 0
    assert first.growth is not None and first.growth.exhibitors_percent is None
    assert (await edition_statistics(projected, "expo")).growth is None
    back = await edition_statistics(projected, "ciftis-2020", compared_to="ciftis-2021")
    assert back.growth is not None and back.growth.exhibitors == -3


async def test_replaying_the_events_again_changes_nothing(projected: asyncpg.Pool) -> None:
    before = await edition_statistics(projected, "ciftis-2021")
    store = EventStore(projected, definition.registry)
    await project_everything(store, ProjectionRunner(directory, projected, "unused:9092", "t."))
    assert await edition_statistics(projected, "ciftis-2021") == before
