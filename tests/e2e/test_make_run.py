"""`make run`'s platform runner, in its smoke mode: every service up, demo data served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
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


def test_ctrl_c_stops_every_service_cleanly(settings: ServiceSettings, infra: Infra) -> None:
    if infra.source != "local":
        pytest.skip(reason="make run drives the local stack; this run uses another broker")
    env = {
        **os.environ,
        "FAIRLINE_PORT_BASE": "18101",
        "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
        "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
    }
    runner = Path(sys.executable).parent / "fairline-platform"
    platform = subprocess.Popen(
        [str(runner), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert platform.stdout is not None
    seen = []
    for line in platform.stdout:
        seen.append(line)
        if "Ctrl-C stops everything" in line:
            break
    else:
        pytest.fail("the platform never became ready:\n" + "".join(seen[-40:]))
    platform.send_signal(signal.SIGINT)
    rest, _ = platform.communicate(timeout=60)
    assert platform.returncode == 0, rest
    assert "stopping the services" in rest and "data stays in .local/" in rest
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:18101/healthz", timeout=2)
