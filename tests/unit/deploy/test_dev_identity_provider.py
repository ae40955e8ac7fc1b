"""`make run`'s dev identity provider: it signs with a key pair kept in .local/, publishes
the public half as a JWK set, and the services verify its tokens by that JWKS URL alone, as
they would the operator's identity provider's (a real IdP is a configuration change)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fairline_events.auth import Unauthenticated
from fairline_events.service import token_verification
from fairline_events.settings import ServiceSettings
from fairline_stack import platform


def test_tokens_printed_by_make_run_verify_on_every_service_by_jwks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAIRLINE_PORT_BASE", "28001")  # its JWKS on 28009, away from make run
    cfg: Any = SimpleNamespace(local_dir=tmp_path, database_url="x", bootstrap_servers="y")
    issuer = platform.dev_issuer(cfg)
    key_file = tmp_path / "auth-dev-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert platform.dev_issuer(cfg).jwks() == issuer.jwks(), "the same key on the next run"

    server = platform.serve_jwks(issuer, platform.jwks_port())
    try:
        env = platform.service_env(cfg)
        url = env["FAIRLINE_AUTH_JWKS_URL"]
        published = httpx.get(url).json()
        assert published == issuer.jwks() and all("d" not in k for k in published["keys"])
        services = [
            platform.Service(name, port, f"fairline-{name}")
            for name, port in (("exhibitors", 8001), ("booths", 8002), ("hotels", 8005))
        ]
        printed = platform.tokens(issuer, services)
        settings = ServiceSettings(fairline_auth_jwks_url=url, fairline_auth_secret="")
        for service in ("exhibitors", "booths", "hotels"):
            _, verifier = token_verification(settings, service)
            who = asyncio.run(verifier.verify_async(printed["sales"]))
            assert who.subject == "demo-sales-desk" and who.has_any(("sales",))
        _, elsewhere = token_verification(settings, "forums")
        with pytest.raises(Unauthenticated, match="not for this service"):
            elsewhere.verify(printed["sales"])
    finally:
        server.shutdown()


def test_the_compose_identity_providers_key_comes_from_its_secret_alone() -> None:
    seed = "compose-seed-" + "s" * 40
    first = platform.seeded_issuer(seed, "fairline-dev")
    assert platform.seeded_issuer(seed, "fairline-dev").jwks() == first.jwks(), "after a restart"
    assert platform.seeded_issuer(seed + "x", "fairline-dev").jwks() != first.jwks()
    with pytest.raises(SystemExit, match="FAIRLINE_IDENTITY_SECRET"):
        platform.seeded_issuer("too short")


def test_the_identity_command_serves_keys_that_verify_the_tokens_it_prints(
    tmp_path: Path,
) -> None:
    """What compose's `identity` service runs: `fairline-platform identity`."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = str(Path(sys.executable).parent / "fairline-platform")
    env = {
        **os.environ,
        platform.IDENTITY_SECRET: "compose-check-" + "k" * 40,
        "FAIRLINE_AUTH_ISSUER": "fairline-compose",
    }
    process = subprocess.Popen(
        [command, "identity", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert process.stdout is not None
        printed: dict[str, str] = {}
        for line in process.stdout:
            if line.startswith("identity: keys on"):
                break
            role, _, token = line.strip().partition(" ")
            if token:
                printed[role] = token.strip()
        url = f"http://127.0.0.1:{port}{platform.JWKS_PATH}"
        assert line.split()[-1] == url
        settings = ServiceSettings(
            fairline_auth_jwks_url=url,
            fairline_auth_issuer="fairline-compose",
            fairline_auth_secret="",
        )
        for service in ("exhibitors", "tickets"):
            _, verifier = token_verification(settings, service)
            who = asyncio.run(verifier.verify_async(printed["ops"]))
            assert who.subject == "demo-ops" and who.has_any(("ops",))
        process.send_signal(signal.SIGTERM)  # as `docker compose stop` does
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
