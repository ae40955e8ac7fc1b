"""Service settings from the environment (12-factor); one class for every service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from .kafka import KafkaAccess


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    database_url: str = Field(
        default="postgresql://fairline@127.0.0.1:15432/postgres",
        description="server and credentials; each service uses its own database on it",
    )
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    kafka_security_protocol: str = Field(
        default="",
        description="PLAINTEXT, SASL_PLAINTEXT, SASL_SSL or SSL; unset: SASL_PLAINTEXT when a"
        " username is set, else PLAINTEXT (a broker without authentication)",
    )
    kafka_sasl_mechanism: str = "SCRAM-SHA-256"
    kafka_sasl_username: str = Field(default="", description="the service's Kafka principal")
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = Field(
        default="", description="CA bundle that signed the brokers' certificates (TLS only)"
    )
    fairline_topic_prefix: str = Field(
        default="fairline.", description="prefix of every topic; tests use a unique one per run"
    )
    fairline_topic_replication: int = Field(
        default=1, ge=1, description="replication factor of the topics a service creates"
    )
    fairline_database_prefix: str = Field(
        default="fairline_", description="prefix of every service database"
    )
    fairline_auth_secret: str = Field(
        default="", description="HMAC key of the local dev token issuer; required outside dev"
    )
    fairline_auth_issuer: str = Field(
        default="fairline-dev", description="the `iss` every token must carry"
    )
    fairline_auth_jwks_url: str = Field(
        default="",
        description="the identity provider's JWKS endpoint: tokens are then RS256 or ES256,"
        " verified by `kid` (HS256 and FAIRLINE_AUTH_SECRET are not used)",
    )
    fairline_auth_audience: str = Field(
        default="",
        description="the `aud` a token must name to be accepted here; fairline-<service>"
        " when empty, so a token for one service does not open another",
    )
    fairline_auth_max_token_seconds: int = Field(
        default=12 * 3600,
        ge=60,
        le=7 * 24 * 3600,
        description="the longest lifetime (exp - iat) of a token this service accepts",
    )
    http_host: str = "127.0.0.1"
    http_port: int = 8000
    http_keep_alive_seconds: int = Field(
        default=75,
        ge=1,
        description="how long an idle client connection stays open; longer than the idle"
        " timeout of whatever pools connections in front (load balancers often use 60 s),"
        " so the server never closes one just as a request is sent on it",
    )
    http_graceful_shutdown_seconds: int = Field(
        default=25,
        ge=1,
        description="after SIGTERM, how long requests in flight may take to be answered"
        " before they are cancelled (then the service's own shutdown runs); below the"
        " orchestrator's grace period (Kubernetes: 30 s), so they end before a SIGKILL",
    )
    http_max_in_flight: int = Field(
        default=1000,
        ge=1,
        description="requests one process handles at once; beyond it, 503 with Retry-After",
    )
    database_pool_size: int = Field(
        default=20, ge=1, description="connections to PostgreSQL one process keeps at most"
    )
    database_pool_opened: int | None = Field(
        default=None,
        ge=1,
        description="connections opened at startup and kept open; default: all of them in an"
        " API process (`serve`), so a first burst never waits on connecting, and 2 elsewhere",
    )
    metrics_port: int | None = Field(
        default=None,
        description="port of the worker's (`work`) Prometheus endpoint; API processes serve"
        " /metrics on their HTTP port",
    )
    metrics_sample_seconds: float = Field(
        default=5.0, gt=0, description="how often the worker samples relay and projection lag"
    )
    read_your_writes_wait_seconds: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="how long a read that sends a consistency token waits for the read models"
        " before it answers 503 not_yet_consistent",
    )
    log_level: str = "INFO"

    @property
    def kafka(self) -> KafkaAccess:
        """Where Kafka is and who this process is to it."""
        from .kafka import KafkaAccess

        protocol = self.kafka_security_protocol or (
            "SASL_PLAINTEXT" if self.kafka_sasl_username else "PLAINTEXT"
        )
        return KafkaAccess(
            self.kafka_bootstrap_servers,
            protocol.upper(),
            self.kafka_sasl_mechanism,
            self.kafka_sasl_username,
            self.kafka_sasl_password.get_secret_value(),
            self.kafka_ssl_cafile,
        )

    def service_database_url(self, service: str) -> str:
        from .db import with_database

        return with_database(self.database_url, f"{self.fairline_database_prefix}{service}")

    def topic(self, name: str) -> str:
        return f"{self.fairline_topic_prefix}{name}"


def kafka_fields(kafka: KafkaAccess) -> dict[str, Any]:
    """`ServiceSettings` fields for one Kafka identity (what `ServiceSettings.kafka` reads
    back): a test's or a bench's service settings, as the stack or a principal gives them."""
    return {
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "kafka_security_protocol": kafka.security_protocol,
        "kafka_sasl_mechanism": kafka.sasl_mechanism,
        "kafka_sasl_username": kafka.username,
        "kafka_sasl_password": SecretStr(kafka.password),
        "kafka_ssl_cafile": kafka.ssl_cafile,
    }
