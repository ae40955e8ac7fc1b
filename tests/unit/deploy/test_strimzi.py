"""deploy/k8s/kafka: the Strimzi resources, against Strimzi's own CRD schemas and against what
the services need (fairline_events.access, their projections), offline.

The schemas are the CRDs Strimzi STRIMZI_VERSION installs, fetched by `make strimzi-crds`
(a step of `make test`) into .tools/; without them these tests fail and say so. Each
resource is validated against the openAPIV3Schema of the version it names, with unknown
fields refused (as `kubectl apply --validate=strict` does), in both CRD sets the jar carries
(the one 0.51 installs and the v1-only one of Strimzi 1.x). The schemas' CEL rules
(`x-kubernetes-validations`) are the API server's to run, not jsonschema's.
"""

from __future__ import annotations

import copy
import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest
import yaml
from fairline_events.access import Grant, partner_principal, reader_grants, service_grants
from fairline_events.kafka import DEFAULT_PARTITIONS
from fairline_events.projection import ProjectionRunner
from fairline_events.service import ServiceDefinition
from fairline_stack import strimzi
from fairline_stack.config import StackError
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
KAFKA = K8S / "kafka"
BASE = K8S / "base"
GROUP = "kafka.strimzi.io"
PREFIX = "fairline."
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

Doc = dict[str, Any]


def load_all(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def strimzi_resources() -> list[tuple[Path, Doc]]:
    return [
        (path, doc)
        for path in sorted(K8S.rglob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in load_all(path)
        if str(doc.get("apiVersion", "")).startswith(f"{GROUP}/")
    ]


def of_kind(kind: str) -> list[Doc]:
    return [doc for _, doc in strimzi_resources() if doc["kind"] == kind]


def the_cluster() -> Doc:
    (kafka,) = of_kind("Kafka")
    return kafka


def pools() -> dict[str, Doc]:
    return {role: p for p in of_kind("KafkaNodePool") for role in p["spec"]["roles"]}


def config_literals() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in (BASE, K8S / "overlays" / "example"):
        (kustomization,) = load_all(folder / "kustomization.yaml")
        for generator in kustomization.get("configMapGenerator", []):
            for literal in generator.get("literals", []):
                key, _, value = literal.partition("=")
                found[key] = value
    return found


def definitions() -> list[ServiceDefinition]:
    from fairline_stack.credentials import SERVICES

    return [importlib.import_module(f"{name}.service").definition for name in SERVICES]


# --- Strimzi's own schemas -----------------------------------------------------------------


def strict(schema: Any) -> Any:
    """The schema with unknown fields refused wherever it lists the fields an object has
    (and does not say to keep unknown ones)."""
    if not isinstance(schema, dict):
        return schema
    result = dict(schema)
    if "properties" in schema:
        result["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            result["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            result[key] = strict(schema[key])
    # allOf/anyOf/oneOf branches only constrain fields the schema itself declares (a
    # structural schema's rule): they stay as they are
    return result


_SCHEMAS: dict[tuple[str, str], list[tuple[str, Any]]] = {}


def crd_schemas() -> dict[tuple[str, str], list[tuple[str, Any]]]:
    """(apiVersion, kind) -> (which CRD file, strict openAPIV3Schema) of each served version."""
    if _SCHEMAS:
        return _SCHEMAS
    files = strimzi.crd_files(ROOT)
    if not files:
        pytest.fail(
            f"Strimzi {strimzi.STRIMZI_VERSION}'s CRD schemas are not in "
            f"{strimzi.crd_dir(ROOT).relative_to(ROOT)}/: run `make strimzi-crds`"
        )
    # libyaml when there is one: the CRDs are 2 MB, which pure-Python YAML takes seconds over
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in files:
        crd = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served"):
                where = str(path.relative_to(strimzi.crd_dir(ROOT)))
                schema = strict(version["schema"]["openAPIV3Schema"])
                _SCHEMAS.setdefault((f"{group}/{version['name']}", kind), []).append(
                    (where, schema)
                )
    return _SCHEMAS


def schema_errors(doc: Doc) -> list[str]:
    """Why `doc` is not a valid resource of its kind, by every CRD set that serves it."""
    schemas = crd_schemas().get((doc["apiVersion"], doc["kind"]))
    if not schemas:
        return [f"no CRD of Strimzi {strimzi.STRIMZI_VERSION} serves {doc['apiVersion']}"]
    found = []
    for where, schema in schemas:
        for error in Draft7Validator(schema).iter_errors(doc):
            path = ".".join(str(p) for p in error.absolute_path)
            found.append(f"{where}: {path or '(root)'}: {error.message}")
    name = doc.get("metadata", {}).get("name", "")
    if not (isinstance(name, str) and len(name) <= 253 and DNS_SUBDOMAIN.match(name)):
        found.append(f"metadata.name {name!r} is not a DNS subdomain")
    return found


def test_the_crd_schemas_are_the_pinned_release() -> None:
    pom = (ROOT / strimzi.POM_RELPATH).read_text(encoding="utf-8")
    assert f"<strimzi.version>{strimzi.STRIMZI_VERSION}</strimzi.version>" in pom
    marker = strimzi.crd_dir(ROOT) / "jar.sha256"
    crd_schemas()  # fails, saying what to run, when they were never fetched
    assert marker.read_text().strip() == strimzi.CRD_JAR_SHA256
    kinds = {kind for _, kind in crd_schemas()}
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "KafkaUser"} <= kinds


@pytest.mark.parametrize(
    ("where", "doc"),
    [(f"{p.name}:{d['kind']}/{d['metadata']['name']}", d) for p, d in strimzi_resources()],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_strimzi_resource_is_valid_by_strimzis_schema(where: str, doc: Doc) -> None:
    errors = schema_errors(doc)
    assert not errors, f"{where}:\n" + "\n".join(errors)


def test_the_schema_check_refuses_what_strimzi_would() -> None:
    topic = copy.deepcopy(of_kind("KafkaTopic")[0])
    assert not schema_errors(topic)
    misspelt = copy.deepcopy(topic)
    misspelt["spec"]["replica"] = misspelt["spec"].pop("replicas")
    assert any("'replica' was unexpected" in e for e in schema_errors(misspelt))
    as_text = copy.deepcopy(topic)
    as_text["spec"]["replicas"] = "3"
    assert any("is not of type 'integer'" in e for e in schema_errors(as_text))
    user = copy.deepcopy(of_kind("KafkaUser")[0])
    user["spec"]["authorization"]["acls"][0]["operations"] = ["Reed"]
    assert any("'Reed' is not one of" in e for e in schema_errors(user))
    kafka = copy.deepcopy(the_cluster())
    kafka["spec"]["kafka"]["listeners"][0]["name"] = "TLS-listener"
    assert any("does not match" in e for e in schema_errors(kafka))
    old = copy.deepcopy(topic) | {"apiVersion": f"{GROUP}/v1alpha0"}
    unserved = f"no CRD of Strimzi {strimzi.STRIMZI_VERSION} serves {GROUP}/v1alpha0"
    assert schema_errors(old) == [unserved]


# --- generated from the services, and still what they need ----------------------------------


def test_the_files_are_what_the_services_make_them() -> None:
    expected = strimzi.files(ROOT)
    listed = load_all(KAFKA / "kustomization.yaml")[0]["resources"]
    assert sorted(listed) == sorted(expected)
    for name, docs in expected.items():
        assert load_all(KAFKA / name) == docs, (
            f"deploy/k8s/kafka/{name} is out of date: run "
            "`.venv/bin/python -m fairline_stack.strimzi generate`"
        )


def test_kafka_is_a_kraft_cluster_of_three_controllers_and_three_brokers() -> None:
    kafka = the_cluster()
    by_role = pools()
    assert set(by_role) == {"controller", "broker"}, "dedicated controllers and brokers"
    for role, pool in by_role.items():
        assert pool["spec"]["roles"] == [role]
        assert pool["spec"]["replicas"] == 3
        assert pool["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        volumes = pool["spec"]["storage"]["volumes"]
        assert [v["type"] for v in volumes] == ["persistent-claim"]
        assert volumes[0]["deleteClaim"] is False, "deleting the pool keeps the data"
    assert "zookeeper" not in kafka["spec"]
    config = kafka["spec"]["kafka"]["config"]
    assert config["auto.create.topics.enable"] is False
    assert config["allow.everyone.if.no.acl.found"] is False
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    brokers = by_role["broker"]["spec"]["replicas"]
    for factor in ("default.replication.factor", "offsets.topic.replication.factor"):
        assert config[factor] == 3 <= brokers
    assert config["min.insync.replicas"] == config["transaction.state.log.min.isr"] == 2


def test_every_topic_is_replicated_three_times_with_two_in_sync() -> None:
    kafka, brokers = the_cluster(), pools()["broker"]["spec"]["replicas"]
    topics = of_kind("KafkaTopic")
    assert topics
    replication = int(config_literals()["FAIRLINE_TOPIC_REPLICATION"])
    for topic in topics:
        spec = topic["spec"]
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == kafka["metadata"]["name"]
        assert spec["replicas"] == replication == 3 <= brokers, topic["metadata"]["name"]
        assert spec["config"]["min.insync.replicas"] == 2
        assert spec["partitions"] == DEFAULT_PARTITIONS
        # as `ensure_topics` creates them: projections rebuild by replaying from the start
        assert spec["config"]["retention.ms"] == -1
        assert spec["config"]["retention.bytes"] == -1
    names = [t["metadata"]["name"] for t in topics]
    assert len(names) == len(set(names))


def test_a_topic_for_each_service_topic_and_each_partner_feed() -> None:
    named = {t["spec"]["topicName"] for t in of_kind("KafkaTopic")}
    owned: set[str] = set()
    for definition in definitions():
        owned.add(f"{PREFIX}{definition.name}.events")
        for projection in definition.projections:
            runner = ProjectionRunner(
                projection, cast(Any, None), cast(Any, None), PREFIX, service=definition.name
            )
            owned.add(runner.dead_letter_topic)
            # what a projection consumes is another topic of the platform
            assert set(runner.topics) <= named | owned | {
                f"{PREFIX}{d.name}.events" for d in definitions()
            }
    edition = yaml.safe_load((ROOT / "deploy/demo/edition-2021.yaml").read_text())
    hotels = [h["code"] for h in edition["hotels"]]
    feeds = {f"{PREFIX}partner.{code}.bookings" for code in hotels}
    assert named == owned | feeds


def flattened(user: Doc) -> set[tuple[str, str, str, str, str]]:
    """A KafkaUser's ACLs as (principal, operation, resource, name, pattern) bindings."""
    patterns = {"literal": "LITERAL", "prefix": "PREFIXED"}
    who = f"User:{user['metadata']['name']}"
    return {
        (who, op.upper(), acl["resource"]["type"].upper(), acl["resource"]["name"], pattern)
        for acl in user["spec"]["authorization"]["acls"]
        for op in acl["operations"]
        for pattern in [patterns[acl["resource"].get("patternType", "literal")]]
        if acl.get("type", "allow") == "allow" and acl.get("host", "*") == "*"
    }


def bindings(grants: list[Grant]) -> set[tuple[str, str, str, str, str]]:
    return {
        (g.principal, g.operation.name, g.resource.name, g.name, g.pattern.name) for g in grants
    }


def test_each_user_may_do_exactly_what_access_py_grants() -> None:
    users = {u["metadata"]["name"]: u for u in of_kind("KafkaUser")}
    edition = yaml.safe_load((ROOT / "deploy/demo/edition-2021.yaml").read_text())
    expected: dict[str, set[tuple[str, str, str, str, str]]] = {}
    for definition in definitions():
        expected[definition.name] = bindings(service_grants(definition, PREFIX))
    for code in (h["code"] for h in edition["hotels"]):
        partner = partner_principal(code)
        feed = f"{PREFIX}partner.{code}.bookings"
        expected[partner] = bindings(reader_grants(partner, [feed], f"{PREFIX}{partner}."))
    assert set(users) == set(expected)
    for name, user in users.items():
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        assert user["spec"]["authorization"]["type"] == "simple"
        assert flattened(user) == expected[name], name
    # a partner reads its own feed and nothing else
    cncc = flattened(users["hotel.cncc-grand"])
    assert {(op, kind) for _, op, kind, _, _ in cncc} == {("READ", "TOPIC"), ("READ", "GROUP")}


# --- the services reach it ----------------------------------------------------------------


def test_the_services_are_wired_to_the_strimzi_cluster() -> None:
    kafka = the_cluster()
    cluster = kafka["metadata"]["name"]
    literals = config_literals()
    (listener,) = [
        x
        for x in kafka["spec"]["kafka"]["listeners"]
        if f":{x['port']}" in literals["KAFKA_BOOTSTRAP_SERVERS"]
    ]
    # same namespace: the bootstrap Service Strimzi makes for the cluster
    assert literals["KAFKA_BOOTSTRAP_SERVERS"] == f"{cluster}-kafka-bootstrap:{listener['port']}"
    assert listener["tls"] is True and literals["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert literals["KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    prefix = kafka["spec"]["entityOperator"]["userOperator"]["secretPrefix"]
    users = {u["metadata"]["name"] for u in of_kind("KafkaUser")}
    deployments = [
        d for path in BASE.glob("*.yaml") for d in load_all(path) if d["kind"] == "Deployment"
    ]
    assert deployments
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        secrets = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        assert secrets["kafka-ca"] == f"{cluster}-cluster-ca-cert"
        for container in [*pod["initContainers"], *pod["containers"]]:
            env = {v["name"]: v for v in container["env"]}
            username = env["KAFKA_SASL_USERNAME"]["value"]
            assert username in users, f"no KafkaUser {username}"
            secret = env["KAFKA_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]
            assert secret == {"name": f"{prefix}{username}", "key": "password"}


FAKE_MVN = """#!{python}
# Stands in for Maven: writes a jar as `dependency:copy-dependencies` would.
import sys, zipfile
from pathlib import Path
(target,) = [a.split("=", 1)[1] for a in sys.argv if a.startswith("-DoutputDirectory=")]
Path(target).mkdir(parents=True)
def entry(name):  # a fixed time: the same bytes, so the same SHA-256, on every run
    return zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
with zipfile.ZipFile(Path(target) / "{jar}", "w") as jar:
    jar.writestr(entry("crds/v1/043-Crd-kafkatopic.yaml"), "kind: CustomResourceDefinition\\n")
    jar.writestr(entry("io/strimzi/Other.class"), "")
"""


def test_make_strimzi_crds_unpacks_only_the_pinned_jar_and_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir, root = tmp_path / "bin", tmp_path / "repo"
    bin_dir.mkdir()
    mvn = bin_dir / "mvn"
    mvn.write_text(FAKE_MVN.format(python=sys.executable, jar=strimzi.CRD_JAR))
    mvn.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (root / strimzi.POM_RELPATH).parent.mkdir(parents=True)
    shutil.copy(ROOT / strimzi.POM_RELPATH, root / strimzi.POM_RELPATH)

    # another jar than the pinned one (a new release, a tampered mirror) is refused
    with pytest.raises(StackError, match=f"expected {strimzi.CRD_JAR_SHA256}"):
        strimzi.fetch_crds(root)
    assert not strimzi.crd_dir(root).exists() and not strimzi.crd_files(root)

    subprocess.run([str(mvn), f"-DoutputDirectory={tmp_path / 'fake'}"], check=True)
    digest = hashlib.sha256((tmp_path / "fake" / strimzi.CRD_JAR).read_bytes()).hexdigest()
    monkeypatch.setattr(strimzi, "CRD_JAR_SHA256", digest)
    strimzi.fetch_crds(root)
    assert [p.relative_to(strimzi.crd_dir(root)) for p in strimzi.crd_files(root)] == [
        Path("crds/v1/043-Crd-kafkatopic.yaml")
    ], "the CRDs only, not the jar's classes"
    mvn.write_text("#!/bin/sh\nexit 1\n")  # fetched once: Maven is not asked again
    assert strimzi.fetch_crds(root) == strimzi.crd_dir(root)
