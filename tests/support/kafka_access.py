"""Kafka identities for tests: kcat as a principal with only its ACLs (a service's settings
for an identity are `fairline_events.settings.kafka_fields`)."""

from __future__ import annotations

import subprocess

from fairline_events.kafka import KafkaAccess
from fairline_stack.kcat import kcat_binary, kcat_env, sasl_args


def run_kcat(kafka: KafkaAccess, *args: str) -> subprocess.CompletedProcess[str]:
    """kcat as `kafka`'s principal (installed by `make test-tools`), metadata wait 10 s."""
    command = [kcat_binary(), "-b", kafka.bootstrap_servers, *sasl_args(kafka), "-m", "10", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=kcat_env())
