"""Kafka identities for tests: the admin's settings, and principals with only their ACLs."""

from __future__ import annotations

import subprocess
from typing import Any

from fairline_events.kafka import KafkaAccess
from fairline_stack.kcat import kcat_binary, kcat_env, sasl_args


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


def run_kcat(kafka: KafkaAccess, *args: str) -> subprocess.CompletedProcess[str]:
    """kcat as `kafka`'s principal (installed by `make test-tools`), metadata wait 10 s."""
    command = [kcat_binary(), "-b", kafka.bootstrap_servers, *sasl_args(kafka), "-m", "10", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=kcat_env())
