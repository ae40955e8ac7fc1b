"""Kafka on Kubernetes with Strimzi: deploy/k8s/kafka/, derived from the services themselves,
and Strimzi's own CRD schemas to check those files against.

- `resources()` makes the `Kafka` cluster (KRaft: a controller and a broker `KafkaNodePool`,
  3 replicas each), a `KafkaTopic` per topic a service owns (its events and its projections'
  dead letters) and per partner hotel's feed (replication 3, `min.insync.replicas` 2), and a
  `KafkaUser` per service and per partner hotel (SCRAM-SHA-512) whose ACLs are exactly what
  `fairline_events.access` grants. `python -m fairline_stack.strimzi generate` writes them;
  tests/unit/deploy checks that the files are what this makes, so they cannot drift from
  access.py or from a service's projections.
- `python -m fairline_stack.strimzi crds` (`make strimzi-crds`) fetches the CRDs that
  Strimzi STRIMZI_VERSION installs, from Maven Central with Maven (the `tests` jar of
  io.strimzi:api carries the generated CRDs; deploy/local/strimzi/pom.xml), checks the jar's
  SHA-256 and unpacks the CRDs into .tools/strimzi-<version>/.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import yaml

from .config import StackError, project_root

if TYPE_CHECKING:
    from fairline_events.access import Grant
    from fairline_events.service import ServiceDefinition

# The generator imports the services (and so the whole core) only when it runs: `make
# strimzi-crds`, a step of every `make test`, stays quick.

STRIMZI_VERSION = "0.51.0"
CRD_ARTIFACT = f"io.strimzi:api:{STRIMZI_VERSION}:jar:tests"
CRD_JAR = f"api-{STRIMZI_VERSION}-tests.jar"
CRD_JAR_SHA256 = "b99f69303dc507ca505b74345d93f5260621bb084b8b79447f726e54b6e66a1d"
POM_RELPATH = Path("deploy/local/strimzi/pom.xml")
MAVEN_HINT = "install Maven 3.6+ (apt-get install -y maven)"

API_VERSION = "kafka.strimzi.io/v1"
CLUSTER = "fairline"
"""The Kafka cluster's name: Strimzi names its Services and Secrets after it."""
KAFKA_VERSION = "4.2.0"
"""The default Kafka of Strimzi 0.51 (the local stack and compose run 4.1.1)."""
LISTENER = {
    "name": "tls",
    "port": 9093,
    "type": "internal",
    "tls": True,
    "authentication": {"type": "scram-sha-512"},
}
NODES = 3
REPLICATION = 3
MIN_IN_SYNC = 2
TOPIC_PREFIX = "fairline."
SECRET_PREFIX = "fairline-kafka-"
"""The User Operator names each user's Secret `<prefix><user>` (key `password`)."""
KAFKA_DIR = Path("deploy/k8s/kafka")
EDITION = Path("deploy/demo/edition-2021.yaml")

_OPERATIONS = {"READ": "Read", "WRITE": "Write", "CREATE": "Create", "DESCRIBE": "Describe"}
_PATTERNS = {"LITERAL": "literal", "PREFIXED": "prefix"}


# --- what the platform needs --------------------------------------------------------------


def definitions() -> list[ServiceDefinition]:
    from .credentials import SERVICES

    return [importlib.import_module(f"{name}.service").definition for name in SERVICES]


def owned_topics(definition: ServiceDefinition, prefix: str = TOPIC_PREFIX) -> list[str]:
    """What `<service> migrate` creates: its events topic and its projections' dead letters
    (named as the projection runner names them)."""
    from fairline_events.projection import ProjectionRunner

    runners = [
        ProjectionRunner(p, cast(Any, None), cast(Any, None), prefix, service=definition.name)
        for p in definition.projections
    ]
    return sorted({f"{prefix}{definition.events_topic}", *(r.dead_letter_topic for r in runners)})


def partner_hotels(root: Path | None = None) -> list[str]:
    """The hotels that get a feed: the group's hotels of the edition (deploy/demo)."""
    edition = yaml.safe_load(((root or project_root()) / EDITION).read_text(encoding="utf-8"))
    return [str(hotel["code"]) for hotel in edition["hotels"]]


def partner_feed(hotel: str, prefix: str = TOPIC_PREFIX) -> str:
    from hotels.partner.contract import partner_topic

    return f"{prefix}{partner_topic(hotel)}"


def partner_grants(hotel: str, prefix: str = TOPIC_PREFIX) -> list[Grant]:
    from fairline_events.access import partner_principal, reader_grants

    user = partner_principal(hotel)
    return reader_grants(user, [partner_feed(hotel, prefix)], f"{prefix}{user}.")


# --- the resources ------------------------------------------------------------------------


def _labelled(kind: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {"name": name, "labels": {"strimzi.io/cluster": CLUSTER}},
    }


def cluster() -> list[dict[str, Any]]:
    kafka = {
        "apiVersion": API_VERSION,
        "kind": "Kafka",
        "metadata": {"name": CLUSTER},
        "spec": {
            "kafka": {
                "version": KAFKA_VERSION,
                # SCRAM over TLS for every client; nothing allowed that no ACL allows
                "listeners": [LISTENER],
                "authorization": {"type": "simple"},
                "config": {
                    "auto.create.topics.enable": False,
                    "allow.everyone.if.no.acl.found": False,
                    "default.replication.factor": REPLICATION,
                    "min.insync.replicas": MIN_IN_SYNC,
                    "offsets.topic.replication.factor": REPLICATION,
                    "transaction.state.log.replication.factor": REPLICATION,
                    "transaction.state.log.min.isr": MIN_IN_SYNC,
                },
            },
            "entityOperator": {
                "topicOperator": {},
                "userOperator": {"secretPrefix": SECRET_PREFIX},
            },
        },
    }
    pools = []
    for role, size in (("controller", "20Gi"), ("broker", "100Gi")):
        pool = _labelled("KafkaNodePool", f"{role}s")
        pool["spec"] = {
            "replicas": NODES,
            "roles": [role],
            "storage": {
                "type": "jbod",
                "volumes": [
                    {
                        "id": 0,
                        "type": "persistent-claim",
                        "size": size,
                        "deleteClaim": False,
                        "kraftMetadata": "shared",
                    }
                ],
            },
            "resources": {
                "requests": {"cpu": "500m", "memory": "2Gi"},
                "limits": {"cpu": "2", "memory": "2Gi"},
            },
        }
        pools.append(pool)
    return [kafka, *pools]


def resource_name(topic: str) -> str:
    """A Kubernetes name for a topic (no `_`); `spec.topicName` keeps the real one."""
    return re.sub(r"[^a-z0-9.-]", "-", topic.lower())


def topic(name: str) -> dict[str, Any]:
    from fairline_events.kafka import DEFAULT_PARTITIONS

    doc = _labelled("KafkaTopic", resource_name(name))
    doc["spec"] = {
        "topicName": name,
        "partitions": DEFAULT_PARTITIONS,
        "replicas": REPLICATION,
        # kept forever, as `ensure_topics` creates them: projections rebuild by replaying
        "config": {"min.insync.replicas": MIN_IN_SYNC, "retention.ms": -1, "retention.bytes": -1},
    }
    return doc


def topics(root: Path | None = None) -> list[dict[str, Any]]:
    names = [t for d in definitions() for t in owned_topics(d)]
    names += [partner_feed(h) for h in partner_hotels(root)]
    return [topic(n) for n in names]


def acls(grants: Iterable[Grant]) -> list[dict[str, Any]]:
    """Strimzi's `simple` ACLs for `grants`: one rule per resource, its operations merged."""
    merged: dict[tuple[str, str, str], list[str]] = {}
    for g in grants:
        key = (g.resource.name.lower(), g.name, _PATTERNS[g.pattern.name])
        merged.setdefault(key, []).append(_OPERATIONS[g.operation.name])
    return [
        {
            "resource": {"type": kind, "name": name, "patternType": pattern},
            "operations": sorted(set(operations)),
        }
        for (kind, name, pattern), operations in merged.items()
    ]


def user(name: str, grants: list[Grant]) -> dict[str, Any]:
    assert {g.principal for g in grants} == {f"User:{name}"}, name
    doc = _labelled("KafkaUser", name)
    doc["spec"] = {
        "authentication": {"type": "scram-sha-512"},
        "authorization": {"type": "simple", "acls": acls(grants)},
    }
    return doc


def users(root: Path | None = None) -> list[dict[str, Any]]:
    from fairline_events.access import partner_principal, service_grants

    found = [user(d.name, service_grants(d, TOPIC_PREFIX)) for d in definitions()]
    found += [user(partner_principal(h), partner_grants(h)) for h in partner_hotels(root)]
    return found


def files(root: Path | None = None) -> dict[str, list[dict[str, Any]]]:
    """deploy/k8s/kafka/'s resource files, by file name."""
    return {"cluster.yaml": cluster(), "topics.yaml": topics(root), "users.yaml": users(root)}


HEADER = """\
# Generated by `python -m fairline_stack.strimzi generate` from the services' definitions and
# fairline_events.access (tests/unit/deploy checks it is up to date): edit those, not this.
"""


def render(docs: list[dict[str, Any]]) -> str:
    body = yaml.safe_dump_all(docs, sort_keys=False, default_flow_style=False, width=100)
    return HEADER + body


def generate(root: Path | None = None) -> list[Path]:
    root = root or project_root()
    written = []
    for name, docs in files(root).items():
        path = root / KAFKA_DIR / name
        path.write_text(render(docs), encoding="utf-8")
        written.append(path)
    return written


# --- Strimzi's CRDs -----------------------------------------------------------------------


def crd_dir(root: Path | None = None) -> Path:
    return (root or project_root()) / ".tools" / f"strimzi-{STRIMZI_VERSION}"


def crd_files(root: Path | None = None) -> list[Path]:
    return sorted((crd_dir(root) / "crds").rglob("*.yaml"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_crds(root: Path | None = None) -> Path:
    """The CRDs under .tools/strimzi-<version>/crds/ (v1beta2/: what STRIMZI_VERSION installs,
    v1/: the v1-only set Strimzi 1.x installs); fetched once."""
    root = root or project_root()
    target = crd_dir(root)
    marker = target / "jar.sha256"
    if marker.is_file() and marker.read_text().strip() == CRD_JAR_SHA256 and crd_files(root):
        return target
    mvn = shutil.which("mvn")
    if not mvn:
        raise StackError(f"mvn not found: {MAVEN_HINT}")
    staging = target.with_name(f"{target.name}.tmp")
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-Dstyle.color=never",
        "-f",
        str(root / POM_RELPATH),
        "dependency:copy-dependencies",
        "-DexcludeTransitive=true",
        f"-DoutputDirectory={staging}",
    ]
    ran = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    jar = staging / CRD_JAR
    if ran.returncode != 0 or not jar.is_file():
        shutil.rmtree(staging, ignore_errors=True)
        raise StackError(
            f"fetching {CRD_ARTIFACT} with Maven failed (exit {ran.returncode}):\n"
            f"{(ran.stdout + ran.stderr).strip()[-3000:]}\nthe command was: {' '.join(command)}"
        )
    digest = _sha256(jar)
    if digest != CRD_JAR_SHA256:
        shutil.rmtree(staging, ignore_errors=True)
        raise StackError(f"{CRD_JAR}: SHA-256 {digest}, expected {CRD_JAR_SHA256}")
    with zipfile.ZipFile(jar) as archive:
        for member in archive.namelist():
            if member.startswith("crds/") and member.endswith(".yaml"):
                archive.extract(member, staging)
    jar.unlink()
    marker_tmp = staging / "jar.sha256"
    marker_tmp.write_text(CRD_JAR_SHA256 + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fairline_stack.strimzi")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("generate", help="write deploy/k8s/kafka/ from the services' definitions")
    sub.add_parser("crds", help=f"fetch Strimzi {STRIMZI_VERSION}'s CRDs into .tools/")
    args = parser.parse_args(argv)
    try:
        if args.command == "generate":
            for path in generate():
                print(f"wrote {path}")
        else:
            target = fetch_crds()
            print(f"strimzi: {len(crd_files())} CRDs of Strimzi {STRIMZI_VERSION} in {target}")
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
