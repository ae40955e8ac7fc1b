"""The broker as a trust boundary: every client authenticates (SASL/SCRAM) and may do only
what its ACLs allow. Each test gets principals of its own, with the grants the platform
derives from the service definitions (`fairline_events.access`) for the test's topic prefix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import pytest
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)
from fairline_events.kafka import KafkaAccess, KafkaAccessDenied, ensure_topics, producer
from fairline_events.settings import ServiceSettings
from pydantic import SecretStr
from support.kafka_access import run_kcat
from support.kafka_read import read_topic
from support.waiting import eventually

from .conftest import Principals, running

pytestmark = pytest.mark.infra


async def refused(attempt: Awaitable[object]) -> BaseException:
    """The broker's refusal of `attempt` (fails the test if it is allowed)."""
    try:
        await asyncio.wait_for(attempt, 30)
    except (KafkaError, KafkaAccessDenied, TimeoutError) as exc:
        return exc
    raise AssertionError("the broker allowed it")


async def send(kafka: KafkaAccess, topic: str, value: bytes = b"{}") -> None:
    client = producer(kafka, request_timeout_ms=5000)
    try:
        await client.start()
        await client.send_and_wait(topic, value, key=b"k")
    finally:
        await client.stop()


async def test_each_partner_hotel_reads_only_its_own_feed_from_the_service_run_as_its_principal(
    principals: Principals, settings: ServiceSettings
) -> None:
    as_hotels = settings.model_copy(
        update={
            "kafka_sasl_username": principals.services["hotels"].username,
            "kafka_sasl_password": SecretStr(principals.services["hotels"].password),
        }
    )
    # The sponsorship service's topic, which hotels consumes, is its owner's to create.
    await ensure_topics(principals.admin, [settings.topic("sponsorship.events")])
    # The whole service (relay, projections, partner-feed publisher) under its own principal.
    async with running(as_hotels) as api:
        for hotel in ("cncc-grand", "continental"):
            await api.hotel(hotel)
            await api.allot(10, 1, 3, hotel_code=hotel)
            made = await api.book(1, 2, hotel_code=hotel, guest={"name": "Li Na"})
            assert made.status_code == 201, made.text
        for hotel in ("cncc-grand", "continental"):
            feed = principals.feed(hotel)

            async def published(feed: str = feed) -> int:
                return len(await read_topic(principals.admin, feed))

            await eventually(published, bool, what=f"{hotel}'s feed sent as the hotels principal")
    cncc = principals.partners["cncc-grand"]
    own = await read_topic(cncc, principals.feed("cncc-grand"))
    assert own and all(b"cncc-grand" in (r.value or b"") for r in own)
    # Another hotel's feed: refused to the partner, with kcat as with aiokafka.
    assert await read_topic(cncc, principals.feed("continental")) == []
    theirs = await asyncio.to_thread(
        run_kcat, cncc, "-C", "-t", principals.feed("continental"), "-o", "beginning", "-e"
    )
    assert theirs.returncode != 0 and "authoriz" in theirs.stderr.lower(), theirs.stderr
    assert "Li Na" not in theirs.stdout and not theirs.stdout.strip()
    mine = await asyncio.to_thread(
        run_kcat, cncc, "-C", "-t", principals.feed("cncc-grand"), "-o", "beginning", "-e", "-q"
    )
    assert mine.returncode == 0, mine.stderr
    assert len(mine.stdout.splitlines()) == len(own)
    # Nor any service's topic.
    listed = await asyncio.to_thread(run_kcat, cncc, "-L")
    assert principals.topic("hotels.events") not in listed.stdout


async def test_a_partner_cannot_produce_anywhere(principals: Principals) -> None:
    feed = principals.feed("cncc-grand")
    await ensure_topics(principals.services["hotels"], [feed, principals.topic("hotels.events")])
    cncc = principals.partners["cncc-grand"]
    for topic in (feed, principals.feed("continental"), principals.topic("hotels.events")):
        error = await refused(send(cncc, topic))
        # No write right anywhere, so not even an idempotent producer id (a cluster right).
        refusals = TopicAuthorizationFailedError | ClusterAuthorizationFailedError
        assert isinstance(error, refusals), repr(error)
    assert await refused(ensure_topics(cncc, [principals.topic("partner.cncc-grand.x")]))
    assert await read_topic(principals.admin, feed) == [], "nothing the partner sent arrived"


async def test_a_service_cannot_write_another_services_topic(principals: Principals) -> None:
    exhibitors_topic = principals.topic("exhibitors.events")
    await ensure_topics(principals.services["exhibitors"], [exhibitors_topic])
    booths_ = principals.services["booths"]
    # What booths may do: write its own topic, read what it consumes.
    await ensure_topics(booths_, [principals.topic("booths.events")])
    await send(booths_, principals.topic("booths.events"))
    await send(principals.services["exhibitors"], exhibitors_topic, b'{"real": true}')
    assert len(await read_topic(booths_, exhibitors_topic)) == 1
    # What it may not: write, or create, another service's topics.
    error = await refused(send(booths_, exhibitors_topic, b'{"forged": true}'))
    assert isinstance(error, TopicAuthorizationFailedError), repr(error)
    assert await refused(send(booths_, principals.topic("hotels.events")))
    denied = await refused(ensure_topics(booths_, [principals.topic("exhibitors.other")]))
    assert isinstance(denied, KafkaAccessDenied)
    # Nor read what it does not consume.
    await ensure_topics(principals.services["hotels"], [principals.topic("hotels.events")])
    await send(principals.services["hotels"], principals.topic("hotels.events"))
    assert await read_topic(booths_, principals.topic("hotels.events")) == []
    records = await read_topic(principals.admin, exhibitors_topic)
    assert [r.value for r in records] == [b'{"real": true}']


async def test_an_anonymous_or_unknown_client_is_refused(principals: Principals) -> None:
    topic = principals.topic("exhibitors.events")
    await ensure_topics(principals.services["exhibitors"], [topic])
    anonymous = KafkaAccess.plain(principals.admin.bootstrap_servers)
    error = await refused(send(anonymous, topic))
    assert isinstance(error, KafkaConnectionError | TimeoutError | KafkaError), repr(error)
    wrong = principals.services["exhibitors"].as_user(
        principals.services["exhibitors"].username, "not-the-password"
    )
    assert await refused(send(wrong, topic))
    listed = await asyncio.to_thread(run_kcat, anonymous, "-L")
    assert listed.returncode != 0 and topic not in listed.stdout
    assert await read_topic(principals.admin, topic) == []
