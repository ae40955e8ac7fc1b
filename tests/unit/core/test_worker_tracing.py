"""The `work` process (relay, projections, jobs) sends its spans where the API's go: it
installs the same tracer provider before it starts, so with an OTLP endpoint set its
relay's send spans and its projections' consumer spans are exported too."""

from __future__ import annotations

import argparse
import os
import signal
from types import SimpleNamespace

import pytest
from fairline_events import cli, telemetry


class _Runtime:
    """A runtime that records what tracing looked like when it was started, then stops."""

    def __init__(self) -> None:
        self.definition = SimpleNamespace(name="booths")
        self.settings = SimpleNamespace(metrics_port=None)
        self.configured_when_started: bool | None = None
        self.stopped = False

    async def start(self, *, relay: bool, projections: bool) -> None:
        self.configured_when_started = telemetry._configured
        os.kill(os.getpid(), signal.SIGTERM)  # handled by `_work`: a clean stop

    async def stop(self) -> None:
        self.stopped = True


async def test_the_worker_configures_tracing_before_its_relay_and_projections_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed: list[str] = []
    monkeypatch.setattr(telemetry, "_configured", False)
    monkeypatch.setattr(cli, "settle_heap", lambda *_: None)

    def configure(service: str) -> None:
        installed.append(service)
        telemetry._configured = True

    monkeypatch.setattr(cli, "configure_tracing", configure)
    runtime = _Runtime()
    args = argparse.Namespace(no_relay=False, no_projections=False)
    assert await cli._work(runtime, args) == 0  # type: ignore[arg-type]
    assert installed == ["booths"]
    assert runtime.configured_when_started is True
    assert runtime.stopped
