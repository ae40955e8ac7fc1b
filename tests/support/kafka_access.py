"""Kafka identities for tests: the admin's settings, and principals with only their ACLs."""

from __future__ import annotations

from typing import Any

from fairline_events.kafka import KafkaAccess


def kafka_settings(kafka: KafkaAccess) -> dict[str, Any]:
    """ServiceSettings fields for one Kafka identity (the admin's, unless a test says)."""
    return {
        "kafka_bootstrap_servers": kafka.bootstrap_servers,
        "kafka_security_protocol": kafka.security_protocol,
        "kafka_sasl_mechanism": kafka.sasl_mechanism,
        "kafka_sasl_username": kafka.username,
        "kafka_sasl_password": kafka.password,
        "kafka_ssl_cafile": kafka.ssl_cafile,
    }
