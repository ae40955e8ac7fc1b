"""Kafka client settings that do not lose data, who a client is, and topic management.

aiokafka defaults to acks=1 without idempotence; every producer here waits for all in-sync
replicas and is idempotent, so a retried send never duplicates or reorders within a partition.

Every client is made from a `KafkaAccess`: where the brokers are and who connects. Without a
username it speaks PLAINTEXT (a broker without authentication, e.g. someone else's test
cluster); with one it authenticates with SASL/SCRAM, over TLS when the protocol says SASL_SSL.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

DEFAULT_PARTITIONS = 3

# Kafka protocol error codes ensure_topics tells apart.
_TOPIC_ALREADY_EXISTS = 36
_TOPIC_AUTHORIZATION_FAILED = 29
_CLUSTER_AUTHORIZATION_FAILED = 31


class KafkaAccessDenied(PermissionError):
    """The broker's ACLs refuse this principal the operation (not a transient failure)."""


@dataclass(frozen=True)
class KafkaAccess:
    """Where the brokers are and who connects: everything a Kafka client needs."""

    bootstrap_servers: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "SCRAM-SHA-256"
    username: str = ""
    password: str = ""
    ssl_cafile: str = ""

    def __post_init__(self) -> None:
        if self.security_protocol not in ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"):
            raise ValueError(f"unknown Kafka security protocol {self.security_protocol!r}")
        if self.security_protocol.startswith("SASL") and not self.username:
            raise ValueError(f"{self.security_protocol} needs a username and password")

    @classmethod
    def plain(cls, bootstrap_servers: str) -> KafkaAccess:
        return cls(bootstrap_servers)

    def as_user(self, username: str, password: str) -> KafkaAccess:
        """The same brokers, another principal (tests, provisioning)."""
        protocol = self.security_protocol
        if not protocol.startswith("SASL"):
            protocol = "SASL_SSL" if protocol == "SSL" else "SASL_PLAINTEXT"
        return KafkaAccess(
            self.bootstrap_servers,
            protocol,
            self.sasl_mechanism,
            username,
            password,
            self.ssl_cafile,
        )

    @property
    def uses_tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        return ssl.create_default_context(cafile=self.ssl_cafile or None)

    def client_config(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        config: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.uses_tls:
            config["ssl_context"] = self.ssl_context()
        if self.security_protocol.startswith("SASL"):
            config |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
            }
        return config

    def env(self) -> dict[str, str]:
        """The environment variables ServiceSettings reads this identity from."""
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "KAFKA_SECURITY_PROTOCOL": self.security_protocol,
        }
        if self.username:
            env |= {
                "KAFKA_SASL_MECHANISM": self.sasl_mechanism,
                "KAFKA_SASL_USERNAME": self.username,
                "KAFKA_SASL_PASSWORD": self.password,
            }
        if self.ssl_cafile:
            env["KAFKA_SSL_CAFILE"] = self.ssl_cafile
        return env

    def faststream_security(self) -> Any:
        """The same identity for a FastStream KafkaBroker (`security=`)."""
        from faststream.security import BaseSecurity, SASLScram256, SASLScram512

        if not self.security_protocol.startswith("SASL"):
            return BaseSecurity(ssl_context=self.ssl_context(), use_ssl=self.uses_tls)
        scram = SASLScram512 if self.sasl_mechanism == "SCRAM-SHA-512" else SASLScram256
        return scram(
            self.username, self.password, ssl_context=self.ssl_context(), use_ssl=self.uses_tls
        )

    def __repr__(self) -> str:  # never print the password
        who = self.username or "anonymous"
        return f"KafkaAccess({self.bootstrap_servers!r}, {self.security_protocol}, {who})"


def safe_producer_config() -> dict[str, Any]:
    return {
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "max_batch_size": 512 * 1024,  # the default 16 KiB batch caps throughput
        "request_timeout_ms": 15_000,
        "retry_backoff_ms": 200,
    }


def producer(access: KafkaAccess, **overrides: Any) -> AIOKafkaProducer:
    return AIOKafkaProducer(**access.client_config(), **(safe_producer_config() | overrides))


def consumer(access: KafkaAccess, **settings: Any) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(**access.client_config(), **settings)


def admin_client(access: KafkaAccess, **settings: Any) -> AIOKafkaAdminClient:
    return AIOKafkaAdminClient(**access.client_config(), **settings)


async def delete_topics(access: KafkaAccess, prefix: str) -> list[str]:
    """Delete every topic whose name starts with `prefix` (a test's or a bench run's own):
    each partition holds open files in the broker, and a dev stack left with thousands of
    scratch partitions reaches the open-file limit and slows down. Returns what it deleted."""
    admin = admin_client(access)
    await admin.start()
    try:
        mine = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if mine:
            await admin.delete_topics(mine)
        return mine
    finally:
        await admin.close()


async def ensure_topics(
    access: KafkaAccess,
    topics: list[str],
    partitions: int = DEFAULT_PARTITIONS,
    replication: int = 1,
) -> None:
    """Create the topics that do not exist yet (`replication` 1 suits one local broker only).

    The broker does not create topics on first use, so whoever owns a topic creates it here;
    a principal without the right gets KafkaAccessDenied.
    """
    admin = admin_client(access)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        t,
                        num_partitions=partitions,
                        replication_factor=replication,
                        # Kept forever: projections are rebuilt by replaying the topic.
                        topic_configs={"retention.ms": "-1", "retention.bytes": "-1"},
                    )
                    for t in missing
                ]
            )
            _raise_topic_errors(response)
    finally:
        await admin.close()


def _raise_topic_errors(response: Any) -> None:
    """aiokafka returns CreateTopics errors instead of raising them."""
    denied: list[str] = []
    failed: list[str] = []
    for result in response.topic_errors:
        name, code = result[0], result[1]
        if code in (0, _TOPIC_ALREADY_EXISTS):
            continue
        if code in (_TOPIC_AUTHORIZATION_FAILED, _CLUSTER_AUTHORIZATION_FAILED):
            denied.append(name)
        else:
            message = result[2] if len(result) > 2 else ""
            failed.append(f"{name} (error {code}: {message})")
    if denied:
        raise KafkaAccessDenied(f"not allowed to create topics {', '.join(denied)}")
    if failed:
        raise RuntimeError(f"creating topics failed: {', '.join(failed)}")


async def topic_partitions(access: KafkaAccess, topics: list[str]) -> list[TopicPartition]:
    """Every partition of `topics` (a consumer only learns them once it subscribed)."""
    admin = admin_client(access)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return sorted(
        TopicPartition(t["topic"], p["partition"])
        for t in described
        if t["error_code"] == 0
        for p in t["partitions"]
    )
