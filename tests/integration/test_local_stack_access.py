"""The local stack's Kafka as tests and tools reach it: `fairline-stack env` prints what a
client needs, the passwords stay in the git-ignored .local/, and a principal gets only its
own rights."""

from __future__ import annotations

import asyncio
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from fairline_events.kafka import KafkaAccessDenied, ensure_topics
from fairline_events.settings import ServiceSettings
from fairline_stack.config import StackConfig
from fairline_stack.credentials import credentials_path
from fairline_stack.kafka import probe_kafka
from fairline_stack.resolve import Infra

pytestmark = pytest.mark.infra


def stack_env(*args: str) -> dict[str, str]:
    command = [str(Path(sys.executable).parent / "fairline-stack"), "env", *args]
    out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout
    pairs = (shlex.split(line.removeprefix("export "))[0] for line in out.splitlines())
    return dict(pair.split("=", 1) for pair in pairs)


async def test_env_prints_a_working_identity_and_the_password_stays_private(
    infra: Infra, unique: str
) -> None:
    if infra.source != "local":
        pytest.skip(reason="`fairline-stack env` describes the local stack; this run uses another")
    env = await asyncio.to_thread(stack_env)
    assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert env["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-256"
    assert env["KAFKA_SASL_USERNAME"] == "admin" and env["KAFKA_SASL_PASSWORD"]
    admin = settings_from(env).kafka
    assert await probe_kafka(admin) == 1
    as_partner = await asyncio.to_thread(stack_env, "--user", "hotel.cncc-grand")
    partner = settings_from(as_partner).kafka
    assert partner.username == "hotel.cncc-grand" and partner.password != admin.password
    with pytest.raises(KafkaAccessDenied):
        await ensure_topics(partner, [f"fairline.partner.{unique}.bookings"])
    secrets = credentials_path(StackConfig.from_env())
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert await asyncio.to_thread(git_ignores, secrets), "the passwords are never committed"


def settings_from(env: dict[str, str]) -> ServiceSettings:
    """What a service started with these variables reads."""
    return ServiceSettings.model_validate({k.lower(): v for k, v in env.items()})


def git_ignores(path: Path) -> bool:
    checked = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=path.parent, timeout=30)
    return checked.returncode == 0
