"""`fairline-stack up` refuses a data directory that already runs on other ports, and says
which ports and what to do, instead of reporting "already running" and failing later."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fairline_stack.config import StackConfig
from fairline_stack.kafka import KafkaBroker
from fairline_stack.postgres import PostgresServer
from support.own_postgres import free_port_in_range

pytestmark = pytest.mark.infra

STACK = str(Path(sys.executable).parent / "fairline-stack")


@pytest.fixture
def local_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="fl-stack-"))  # short: PostgreSQL's socket lives there
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def up(local_dir: Path, ports: dict[str, int]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FAIRLINE_LOCAL_DIR": str(local_dir)}
    env |= {name: str(port) for name, port in ports.items()}
    return subprocess.run(
        [STACK, "up"], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_up_refuses_a_postgres_data_directory_served_on_another_port(local_dir: Path) -> None:
    taken: set[int] = set()
    running_on, asked, kafka, controller = (free_port_in_range(taken) for _ in range(4))
    server = PostgresServer(local_dir / "postgres", running_on)
    server.start()
    try:
        ports = {"FAIRLINE_PG_PORT": asked, "FAIRLINE_KAFKA_PORT": kafka}
        done = up(local_dir, ports | {"FAIRLINE_KAFKA_CONTROLLER_PORT": controller})
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"already served on port {running_on}" in done.stderr
        assert f"FAIRLINE_PG_PORT={running_on}" in done.stderr
        assert "already running" not in done.stdout
        assert not (local_dir / "kafka" / "broker.pid").exists(), "Kafka was started anyway"
        assert server.served_port() == running_on, "the running server was disturbed"
    finally:
        server.stop()


def test_up_refuses_a_kafka_data_directory_served_on_other_ports(local_dir: Path) -> None:
    cfg = StackConfig.from_env()
    taken: set[int] = set()
    port, controller, asked, pg = (free_port_in_range(taken) for _ in range(4))
    broker = KafkaBroker(
        local_dir / "kafka",
        port,
        controller,
        libs_dir=cfg.kafka_libs,
        log4j_config=cfg.log4j_config,
    )
    broker.start()
    try:
        ports = {"FAIRLINE_KAFKA_PORT": asked, "FAIRLINE_KAFKA_CONTROLLER_PORT": asked + 1}
        done = up(local_dir, ports | {"FAIRLINE_PG_PORT": pg})
        assert done.returncode == 1, done.stdout + done.stderr
        assert f"already served on ports {min(port, controller)}" in done.stderr
        assert "FAIRLINE_KAFKA_PORT" in done.stderr
        assert not (local_dir / "postgres" / "pgdata").exists(), "PostgreSQL was started anyway"
        assert broker.is_running()
    finally:
        broker.kill()
