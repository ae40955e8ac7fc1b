"""`make run`'s platform runner, in its smoke mode: every service up, demo data served."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
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
    assert "was running before; it stays up" in done.stdout


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


def _processes_under(path: Path) -> list[str]:
    """Command lines of the live processes that mention `path` (its stack, its services)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmdline and (proc / "stat").read_text().split()[2] != "Z":
            found.append(f"{proc.name}: {cmdline[:200]}")
    return found


def test_ctrl_c_on_make_run_in_a_fresh_clone_stops_the_stack_it_started(infra: Infra) -> None:
    """`make run` from a fresh clone starts its own Kafka and PostgreSQL; Ctrl-C (SIGINT to
    the terminal's process group) leaves no process of that clone running."""
    if infra.source != "local":
        pytest.skip(reason="make run drives the local stack; this run uses another broker")
    root = Path(__file__).resolve().parents[2]
    # A short path: PostgreSQL's socket path must fit in 107 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="fl-clone-", dir="/tmp"))
    clone = scratch / "fairline"
    subprocess.run(["git", "clone", "--quiet", str(root), str(clone)], check=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FAIRLINE_", "VIRTUAL_ENV", "UV_", "KAFKA_"))
        and k not in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS")
    }
    env |= {
        "FAIRLINE_KAFKA_PORT": "29192",
        "FAIRLINE_KAFKA_CONTROLLER_PORT": "29193",
        "FAIRLINE_PG_PORT": "25532",
        "FAIRLINE_PORT_BASE": "18201",
    }
    make = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as a terminal gives it
    )
    assert make.stdout is not None
    seen = []
    try:
        for line in make.stdout:
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                break
        else:
            pytest.fail("make run never became ready:\n" + "".join(seen[-40:]))
        assert any("postgres: initialising a cluster" in line for line in seen), "".join(seen)
        os.killpg(make.pid, signal.SIGINT)
        rest, _ = make.communicate(timeout=120)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
        left = _processes_under(clone)
        for straggler in left:  # never leave a stack behind for the next run to trip on
            with contextlib.suppress(OSError):
                os.kill(int(straggler.split(":")[0]), signal.SIGKILL)
        shutil.rmtree(scratch, ignore_errors=True)
    assert "kafka: stopped" in rest and "postgres: stopped" in rest, rest
    assert "stays up" not in rest, rest
    assert left == []
