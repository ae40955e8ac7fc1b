"""`make run`'s platform runner, in its smoke mode: every service up, demo data served."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fairline_events.settings import ServiceSettings
from fairline_stack.resolve import Infra

pytestmark = pytest.mark.infra


def test_the_platform_starts_with_the_demo_edition(settings: ServiceSettings, infra: Infra) -> None:
    if infra.source != "local":
        pytest.skip(reason="make run drives the local stack; this run uses another broker")
    env = {
        **os.environ,
        "FAIRLINE_PORT_BASE": "18001",
        "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
        "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
    }
    runner = Path(sys.executable).parent / "fairline-platform"
    done = subprocess.run(
        [str(runner), "run", "--smoke"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "smoke: the directory lists 7 demo exhibitors" in done.stdout
    assert "http://127.0.0.1:18001/docs" in done.stdout
    assert "it stays up" in done.stdout
