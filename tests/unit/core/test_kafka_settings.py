"""One Kafka identity, as the stack gives it, becomes a service's settings and reads back."""

from __future__ import annotations

import pytest
from fairline_events.kafka import KafkaAccess
from fairline_events.settings import ServiceSettings, kafka_fields


@pytest.mark.parametrize(
    "access",
    [
        KafkaAccess("127.0.0.1:19092"),
        KafkaAccess("127.0.0.1:19092", "SASL_PLAINTEXT", "SCRAM-SHA-512", "booths", "s3cret"),
        KafkaAccess("kafka:9093", "SASL_SSL", "SCRAM-SHA-256", "hotels", "pw", "/etc/ca.pem"),
    ],
)
def test_a_kafka_identity_reads_back_from_the_settings_it_gives(access: KafkaAccess) -> None:
    settings = ServiceSettings(**kafka_fields(access))
    assert settings.kafka == access
    assert settings.kafka_sasl_password.get_secret_value() == access.password
