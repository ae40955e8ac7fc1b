"""fairline-stack: the local Kafka (KRaft, Maven Central jars) + PostgreSQL, no Docker.

Tests use `resolve.infrastructure()`; people use the `fairline-stack` command.
"""

from .config import StackConfig, StackError
from .kafka import KafkaBroker, ensure_kafka_jars
from .postgres import PostgresServer, ensure_postgres_installed
from .resolve import Infra, infrastructure

__all__ = [
    "Infra",
    "KafkaBroker",
    "PostgresServer",
    "StackConfig",
    "StackError",
    "ensure_kafka_jars",
    "ensure_postgres_installed",
    "infrastructure",
]
