"""`make run`'s dev identity provider: it signs with a key pair kept in .local/, publishes
the public half as a JWK set, and the services verify its tokens by that JWKS URL alone, as
they would the operator's identity provider's (a real IdP is a configuration change)."""

from __future__ import annotations

import asyncio
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
