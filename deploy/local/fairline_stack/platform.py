"""`fairline-platform run`: every service of the platform, with the demo edition, locally.

Starts the local stack, prepares and loads each service, serves each on its own port, prints
where every API and its docs are and a bearer token per role, and on Ctrl-C stops the
services and the stack cleanly. Data stays in .local/, so the next run picks it up.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import credentials, stack
from ._proc import run_sync
from .config import StackConfig

if TYPE_CHECKING:
    from fairline_events.auth import TokenIssuer

# Fixed ports, so bookmarks and partner configs survive restarts.
PORTS = {
    "exhibitors": 8001,
    "booths": 8002,
    "forums": 8003,
    "sponsorship": 8004,
    "hotels": 8005,
    "tickets": 8006,
}
JWKS_PORT = 8009
"""The dev identity provider's key set (shifted with FAIRLINE_PORT_BASE like the APIs)."""
JWKS_PATH = "/.well-known/jwks.json"
METRICS_SHIFT = 1100
"""A worker's Prometheus endpoint: its API's port + 1100 (exhibitors' worker on 9101)."""
ROLES = {
    "exhibitor": "demo-huawei-staff",
    "recruitment": "demo-reviewer",
    "sales": "demo-sales-desk",
    "visitor": "demo-visitor",
    "ops": "demo-ops",
    "hotel_desk": "demo-hotel-desk",
    "partner_hotel": "hotel:cncc-grand",
    "delegation_planner": "demo-planner-sg",
    "box_office": "demo-box-office",
    "press_centre": "demo-press-centre",
    "gate": "demo-gate-cncc-east-1",
    "forums_team": "demo-forums-team",
    "organising_committee": "demo-organising-committee",
    "organiser": "demo-organiser",
    "sponsorship_team": "demo-sponsorship-desk",
    "sponsor": "demo-icbc",
    "ad_server": "demo-ad-server",
    "admin": "demo-admin",
}


@dataclass
class Service:
    name: str
    port: int
    command: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def say(line: str) -> None:
    print(line, flush=True)


def installed_services() -> list[Service]:
    found = []
    shift = int(os.environ.get("FAIRLINE_PORT_BASE", "8001")) - 8001
    for name, port in PORTS.items():
        port += shift
        # The services' entry points sit beside this interpreter in the project's venv.
        command = shutil.which(f"fairline-{name}", path=str(Path(sys.executable).parent))
        if command and importlib.util.find_spec(name) and importlib.util.find_spec(f"{name}.main"):
            found.append(Service(name, port, command))
    return found


def dev_issuer(cfg: StackConfig, issuer: str = "fairline-dev") -> TokenIssuer:
    """The dev identity provider: one ES256 key pair per checkout, kept in .local/
    (git-ignored), never in the repo. The services know only its JWKS URL, as they would
    know the operator's identity provider's."""
    from fairline_events.auth import TokenIssuer, private_key_pem

    path = cfg.local_dir / "auth-dev-key.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(private_key_pem())
        path.chmod(0o600)
    return TokenIssuer(issuer=issuer, private_key_pem=path.read_bytes())


IDENTITY_SECRET = "FAIRLINE_IDENTITY_SECRET"
"""The seed of the compose stack's dev identity provider's key (see `seeded_issuer`)."""


def seeded_issuer(seed: str, issuer: str = "fairline-dev") -> TokenIssuer:
    """The dev identity provider of a container: its P-256 key derived from a secret seed,
    so it needs no writable disk, survives restarts, and `identity --tokens-only` in another
    container signs with the same key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from fairline_events.auth import TokenIssuer

    if len(seed) < 32:
        raise SystemExit(f"{IDENTITY_SECRET} must be at least 32 characters")
    order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # of P-256
    digest = hashlib.sha512(f"fairline-identity:{seed}".encode()).digest()
    scalar = int.from_bytes(digest, "big") % (order - 1) + 1
    key = ec.derive_private_key(scalar, ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return TokenIssuer(issuer=issuer, private_key_pem=pem)


def serve_jwks(issuer: TokenIssuer, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Publish the dev issuer's public keys at /.well-known/jwks.json, in a thread."""
    import json
    import threading

    body = json.dumps(issuer.jwks()).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == JWKS_PATH
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "max-age=300")
            self.end_headers()
            self.wfile.write(body if found else b"{}")

        def log_message(self, *_: Any) -> None:  # quiet: the banner says where it is
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="jwks").start()
    return server


def jwks_port() -> int:
    return JWKS_PORT + int(os.environ.get("FAIRLINE_PORT_BASE", "8001")) - 8001


def service_env(cfg: StackConfig, service: str | None = None) -> dict[str, str]:
    """Each service connects to Kafka as its own principal, with only its own rights, and
    verifies tokens by the dev identity provider's JWKS."""
    kafka = (
        credentials.access(cfg, service).env()
        if service is not None
        else {"KAFKA_BOOTSTRAP_SERVERS": cfg.bootstrap_servers}
    )
    return {
        **os.environ,
        "DATABASE_URL": cfg.database_url,
        **kafka,
        "FAIRLINE_AUTH_JWKS_URL": f"http://127.0.0.1:{jwks_port()}{JWKS_PATH}",
        # Tokens verify by the JWKS URL alone (it wins over the secret); the secret stays
        # for what else signs with it locally (tickets' dev payment provider).
        "FAIRLINE_AUTH_SECRET": auth_secret(cfg),
    }


def auth_secret(cfg: StackConfig) -> str:
    """One dev signing key per checkout, kept in .local/ (git-ignored), never in the repo."""
    path = cfg.local_dir / "auth-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def wait_ready(service: Service, process: subprocess.Popen[bytes], within: float = 90) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"{service.name} exited with {process.returncode} while starting; "
                f"see .local/logs/{service.name}.log"
            )
        try:
            with urllib.request.urlopen(f"{service.url}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(
        f"{service.name} not ready after {within}s; see .local/logs/{service.name}.log"
    )


def tokens(issuer: TokenIssuer, services: list[Service]) -> dict[str, str]:
    """One token per role, for every service's audience (each checks that it is named)."""
    audience = [f"fairline-{svc.name}" for svc in services]
    return {
        role: issuer.issue(user, [role], name=user, audience=audience)
        for role, user in ROLES.items()
    }


def run(smoke: bool) -> int:
    # Ctrl-C stops what this run started and leaves up what was running before it.
    before = {part.name for part in stack.status() if part.running}
    cfg = stack.up(say=say)
    # `up` grants the services their rights on the default prefix; another one needs its own.
    prefix = os.environ.get("FAIRLINE_TOPIC_PREFIX", credentials.DEFAULT_TOPIC_PREFIX)
    if prefix != credentials.DEFAULT_TOPIC_PREFIX:
        run_sync(lambda: credentials.provision(cfg, say, prefix))
    issuer = dev_issuer(cfg)
    jwks = serve_jwks(issuer, jwks_port())
    services = installed_services()
    logs = cfg.local_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    processes: list[tuple[Service, subprocess.Popen[bytes]]] = []
    workers: list[tuple[Service, subprocess.Popen[bytes]]] = []
    try:
        # Every service creates its own topics (`migrate`, as its own principal) before any
        # worker starts: services read each other's topics (exhibitors reads booths' and
        # forums'; sponsorship and hotels, forums and booths read one another's), a consumer of
        # a topic not made yet would only see it at its next metadata refresh, minutes later,
        # and the ACLs let no one but the owner create it.
        for svc in services:
            say(f"{svc.name}: migrating…")
            subprocess.run(
                [svc.command, "migrate"],
                env=service_env(cfg, svc.name),
                check=True,
                stdout=subprocess.DEVNULL,
            )
        for svc in services:
            env = service_env(cfg, svc.name)
            say(f"{svc.name}: loading the demo edition…")
            subprocess.run([svc.command, "load-demo"], env=env, check=True)
            log = (logs / f"{svc.name}.log").open("ab")
            # Two processes per service, as in compose and Kubernetes: the API only takes
            # commands and queries; the worker relays, projects and runs the jobs, so a busy
            # API never starves the read side.
            api = subprocess.Popen(
                [svc.command, "serve", "--port", str(svc.port), "--no-relay", "--no-projections"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            processes.append((svc, api))
            worker = subprocess.Popen(
                [svc.command, "work"],
                env={**env, "METRICS_PORT": str(svc.port + METRICS_SHIFT)},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            workers.append((svc, worker))
        for svc, process in processes:
            wait_ready(svc, process)
            say(f"{svc.name}: ready")
        if smoke:
            print_banner(services, issuer)
            return smoke_check(services, issuer)
        stop = {"now": False}

        def request_stop(*_: object) -> None:
            stop["now"] = True

        # Before the banner: it says Ctrl-C stops everything, and a reader may act at once.
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
        print_banner(services, issuer)
        while not stop["now"]:
            for svc, process in [*processes, *workers]:
                if process.poll() is not None:
                    say(f"{svc.name} stopped unexpectedly; see .local/logs/{svc.name}.log")
                    stop["now"] = True
            time.sleep(0.5)
        return 0
    finally:
        say("stopping the services…")
        for _, process in [*processes, *workers]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, process in [*processes, *workers]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for name in sorted(before):
            say(f"{name} was running before; it stays up (`make down` stops it)")
        if started := frozenset({"kafka", "postgres"} - before):
            stack.down(cfg, say=say, only=started)
        jwks.shutdown()
        say("stopped; the data stays in .local/ for the next `make run`")


def smoke_check(services: list[Service], issuer: TokenIssuer) -> int:
    """The demo edition is visible through the exhibitors API: the directory lists it."""
    import json

    exhibitors = next((s for s in services if s.name == "exhibitors"), None)
    if exhibitors is None:
        say("smoke: the exhibitors service is not installed")
        return 1
    request = urllib.request.Request(
        f"{exhibitors.url}/directory?edition_code=ciftis-2021",
        headers={"Authorization": f"Bearer {tokens(issuer, services)['visitor']}"},
    )
    deadline = time.monotonic() + 60
    listed: list[object] = []
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=5) as response:
            listed = json.load(response)
        if len(listed) >= 7:
            say(f"smoke: the directory lists {len(listed)} demo exhibitors")
            return 0
        time.sleep(0.5)
    say(f"smoke: the directory lists {len(listed)} exhibitors, expected at least 7")
    return 1


def print_banner(services: list[Service], issuer: TokenIssuer) -> None:
    say("")
    say("Fairline is running with the demo edition ciftis-2021:")
    for svc in services:
        say(
            f"  {svc.name:<12} API {svc.url}   docs {svc.url}/docs   "
            f"OpenAPI {svc.url}/openapi.json   AsyncAPI {svc.url}/asyncapi.json"
        )
        say(
            f"  {'':<12} metrics {svc.url}/metrics (API), "
            f"http://127.0.0.1:{svc.port + METRICS_SHIFT}/metrics (worker: lag, dead letters)"
        )
    say("")
    say(
        f"Bearer tokens (12 h, ES256; the keys: http://127.0.0.1:{jwks_port()}{JWKS_PATH}),"
        " one per role:"
    )
    for role, token in tokens(issuer, services).items():
        say(f"  {role:<12} {token}")
    say("")
    say(
        'Example: curl -H "Authorization: Bearer <visitor token>" '
        f"{services[0].url if services else ''}/directory"
    )
    say("Ctrl-C stops everything.")


def identity(host: str, port: int, tokens_only: bool) -> int:
    """The dev identity provider on its own (compose's `identity` service): its JWKS for the
    services, a token per role for people. The key comes from FAIRLINE_IDENTITY_SECRET, else
    from this checkout's .local/ (the one `make run` uses)."""
    seed = os.environ.get(IDENTITY_SECRET, "")
    name = os.environ.get("FAIRLINE_AUTH_ISSUER", "fairline-dev")
    issuer = seeded_issuer(seed, name) if seed else dev_issuer(StackConfig.from_env(), name)
    services = installed_services()
    say(f"Bearer tokens (12 h, ES256, issuer {name}), one per role, for every service:")
    for role, token in tokens(issuer, services).items():
        say(f"  {role:<12} {token}")
    if tokens_only:
        return 0
    stop = threading.Event()
    # As a container's first process, a signal without a handler is ignored: handle it.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    server = serve_jwks(issuer, port, host)
    say(f"identity: keys on http://{host}:{port}{JWKS_PATH}")
    try:
        while not stop.wait(1.0):
            pass
    finally:
        server.shutdown()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fairline-platform")
    sub = parser.add_subparsers(dest="command", required=True)
    run_cmd = sub.add_parser("run", help="start the whole platform with the demo edition")
    run_cmd.add_argument(
        "--smoke", action="store_true", help="start, check every service is ready, then stop"
    )
    idp = sub.add_parser(
        "identity", help="the dev identity provider alone: its JWKS, and a token per role"
    )
    idp.add_argument("--host", default="127.0.0.1")
    idp.add_argument("--port", type=int, default=None, help=f"default {JWKS_PORT}")
    idp.add_argument("--tokens-only", action="store_true", help="print the tokens and exit")
    args = parser.parse_args(argv)
    if args.command == "identity":
        return identity(args.host, args.port or jwks_port(), args.tokens_only)
    return run(smoke=args.smoke)


if __name__ == "__main__":
    sys.exit(main())
