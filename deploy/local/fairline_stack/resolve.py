"""Where the tests' Kafka and PostgreSQL come from: env vars, else Docker, else the local stack."""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

from fairline_events.kafka import KafkaAccess
from fairline_events.settings import ServiceSettings

from . import credentials, stack
from .kafka import wait_for_kafka

log = logging.getLogger(__name__)

KAFKA_IMAGE = "apache/kafka:4.1.1"
POSTGRES_IMAGE = "postgres:15"


@dataclass(frozen=True)
class Infra:
    """Connection strings for the tests; `source` is "env", "testcontainers" or "local".

    `kafka` connects as the broker's admin (a super user), which provisions what tests need;
    a broker without authentication (testcontainers, someone else's) gives PLAINTEXT.
    """

    kafka: KafkaAccess
    database_url: str
    source: str

    @property
    def bootstrap_servers(self) -> str:
        return self.kafka.bootstrap_servers

    @property
    def authenticated(self) -> bool:
        return self.kafka.security_protocol.startswith("SASL")


_cached: Infra | None = None
_lock = threading.Lock()  # not asyncio.Lock: tests may call us from different event loops


async def infrastructure() -> Infra:
    """Resolve (once per process) the Kafka + PostgreSQL the tests should use."""
    return await asyncio.to_thread(_resolve_once)  # blocking work stays off the event loop


def _resolve_once() -> Infra:
    global _cached
    with _lock:
        if _cached is None:
            _cached = _resolve()
        return _cached


def _resolve() -> Infra:
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    database_url = os.environ.get("DATABASE_URL")
    if bootstrap and database_url:
        # KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* as `fairline-stack env` prints them
        return Infra(ServiceSettings().kafka, database_url, "env")
    if _docker_answers():
        return _start_containers()
    cfg = stack.up(say=log.info)  # idempotent: only waits when the stack is already up
    return Infra(credentials.access(cfg), cfg.database_url, "local")


def _docker_answers() -> bool:
    """Only a real engine ping counts: a docker CLI without a daemon proves nothing."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception as exc:  # no SDK, no socket, no permission: all mean "no Docker"
        log.debug("no usable Docker engine: %s", exc)
        return False


def _start_containers() -> Infra:
    """Kafka 4.1.1 (official image) + PostgreSQL 15 in containers, stopped at exit.

    testcontainers' KafkaContainer drives Confluent's cp-kafka start scripts, which
    apache/kafka lacks, so the broker is a plain container configured through the
    image's KAFKA_* variables, on a fixed host port so it can advertise it.
    """
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.docker_client import DockerClient
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:  # testcontainers < 4.14
        from testcontainers.postgres import PostgresContainer

    from ._proc import free_port

    host = DockerClient().host()
    port = free_port()
    kafka = (
        DockerContainer(KAFKA_IMAGE)
        .with_bind_ports(port, port)
        .with_envs(
            KAFKA_NODE_ID="1",
            KAFKA_PROCESS_ROLES="broker,controller",
            KAFKA_LISTENERS=f"PLAINTEXT://:{port},CONTROLLER://:9093",
            KAFKA_ADVERTISED_LISTENERS=f"PLAINTEXT://{host}:{port}",
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
            KAFKA_CONTROLLER_QUORUM_VOTERS="1@localhost:9093",
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR="1",
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0",
            KAFKA_AUTO_CREATE_TOPICS_ENABLE="true",
            KAFKA_NUM_PARTITIONS="3",
        )
        .waiting_for(LogMessageWaitStrategy("Kafka Server started").with_startup_timeout(120))
    )
    postgres = PostgresContainer(POSTGRES_IMAGE, driver=None)
    containers: list[Any] = []
    try:
        for container in (kafka, postgres):
            container.start()
            containers.append(container)
    except BaseException:
        for container in containers:
            container.stop()
        raise
    atexit.register(lambda: [c.stop() for c in reversed(containers)])
    bootstrap = f"{host}:{port}"
    asyncio.run(wait_for_kafka(bootstrap, max_wait=60))
    return Infra(KafkaAccess.plain(bootstrap), postgres.get_connection_url(), "testcontainers")
