"""A single-node KRaft Kafka broker run straight from Maven Central jars (no Docker, no tarball)."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import logging
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from fairline_events.kafka import KafkaAccess, admin_client

from ._proc import (
    file_lock,
    pid_alive,
    pid_cmdline,
    port_in_use,
    read_pid,
    run_sync,
    tail,
    without_stack_frames,
)
from .config import StackConfig, StackError

log = logging.getLogger(__name__)

Say = Callable[[str], None]

MARKER_NAME = ".pom.sha256"
JAVA_HINT = "install OpenJDK 17+ (apt-get install -y openjdk-17-jre-headless) or set JAVA_HOME"
MAVEN_HINT = "install Maven 3.6+ (apt-get install -y maven)"


def _quiet(_: str) -> None:
    pass


@functools.cache
def find_java() -> str:
    """The java binary (JAVA_HOME first), checked to be 17+ since Kafka 4 needs it."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    if not java:
        raise StackError(f"java not found: {JAVA_HINT}")
    out = subprocess.run(
        [java, "-version"], capture_output=True, text=True, check=False, timeout=60
    )
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match:
        major = int(match.group(1))
        if major == 1 and match.group(2):  # "1.8.0_x" style
            major = int(match.group(2))
        if major < 17:
            raise StackError(f"{java} is Java {major}; Kafka 4 needs 17+: {JAVA_HINT}")
    return java


def _pom_hash(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def jars_fetched(pom: Path, libs_dir: Path) -> bool:
    """Whether libs_dir already holds the classpath for exactly this pom."""
    try:
        marker = (libs_dir / MARKER_NAME).read_text().strip()
    except OSError:
        return False
    return marker == _pom_hash(pom) and any(libs_dir.glob("kafka_2.13-*.jar"))


def ensure_kafka_jars(pom: Path, libs_dir: Path, say: Say = _quiet) -> Path:
    """Copy the broker's runtime classpath from Maven Central once per pom version.

    The hash marker makes reruns free; a pom change refetches into a fresh folder so
    no stale jar of an older version can end up on the classpath.
    """
    if jars_fetched(pom, libs_dir):
        return libs_dir
    with file_lock(libs_dir.parent / ".jars.lock"):
        if jars_fetched(pom, libs_dir):  # another process fetched while we waited
            return libs_dir
        mvn = shutil.which("mvn")
        if not mvn:
            raise StackError(f"mvn not found: {MAVEN_HINT}")
        find_java()
        say("kafka: fetching jars from Maven Central (first run only, or after a pom.xml change)…")
        started = time.monotonic()
        staging = libs_dir.with_name(f"{libs_dir.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        cmd = [
            mvn,
            "-q",
            "-B",
            "-Dstyle.color=never",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=pom.parent)
        if proc.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
            shutil.rmtree(staging, ignore_errors=True)
            output = (proc.stdout + proc.stderr).strip()[-4000:]
            raise StackError(
                f"fetching Kafka jars with Maven failed (exit {proc.returncode}):\n{output}\n"
                "check that Maven Central is reachable (proxy settings in ~/.m2/settings.xml), "
                f"then rerun; the command was: {' '.join(cmd)}"
            )
        (staging / MARKER_NAME).write_text(_pom_hash(pom) + "\n")
        shutil.rmtree(libs_dir, ignore_errors=True)
        staging.rename(libs_dir)
        jars = list(libs_dir.glob("*.jar"))
        size_mb = sum(j.stat().st_size for j in jars) / 1e6
        say(
            f"kafka: {len(jars)} jars ({size_mb:.0f} MB) in {libs_dir} "
            f"after {time.monotonic() - started:.1f}s"
        )
    return libs_dir


def new_cluster_id() -> str:
    """A Kafka-style cluster id (base64url UUID, not starting with '-' so CLIs don't choke)."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _access(kafka: str | KafkaAccess) -> KafkaAccess:
    return KafkaAccess.plain(kafka) if isinstance(kafka, str) else kafka


async def probe_kafka(kafka: str | KafkaAccess, max_wait: float = 5.0) -> int:
    """Send a real Metadata request; returns the live broker count or raises.

    A TCP connect is not enough: KRaft brokers accept connections before they
    are unfenced and able to serve produce requests.
    """
    access = _access(kafka)
    bootstrap_servers = access.bootstrap_servers
    admin = admin_client(
        access,
        request_timeout_ms=max(1000, int(max_wait * 1000)),
        client_id="fairline-stack-probe",
    )
    try:
        await asyncio.wait_for(admin.start(), max_wait)
        meta = await asyncio.wait_for(admin.describe_cluster(), max_wait)
    finally:
        await admin.close()
    brokers = meta.get("brokers") or []
    if not brokers:
        raise ConnectionError(f"{bootstrap_servers} answered but lists no live broker yet")
    return len(brokers)


class _ProbeNoise(logging.Filter):
    """Drop aiokafka's per-attempt "Unable connect" errors about the broker being polled."""

    def __init__(self, bootstrap_servers: str) -> None:
        super().__init__()
        self._quoted = [f'"{h.strip()}"' for h in bootstrap_servers.split(",")]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not (
            message.startswith("Unable connect") and any(q in message for q in self._quoted)
        )


async def wait_for_kafka(
    kafka: str | KafkaAccess,
    max_wait: float = 90.0,
    alive: Callable[[], bool] | None = None,
) -> None:
    """Poll probe_kafka until it answers; `alive` lets a dead process fail fast."""
    access = _access(kafka)
    noise = _ProbeNoise(access.bootstrap_servers)
    # aiokafka.client logs as "aiokafka" today; cover the module name too.
    loggers = [logging.getLogger(name) for name in ("aiokafka", "aiokafka.client")]
    for logger in loggers:
        logger.addFilter(noise)
    try:
        await _poll_kafka(access, max_wait, alive)
    finally:
        for logger in loggers:
            logger.removeFilter(noise)


async def _poll_kafka(
    access: KafkaAccess, max_wait: float, alive: Callable[[], bool] | None
) -> None:
    deadline = time.monotonic() + max_wait
    last: BaseException | None = None
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(
                f"Kafka at {access.bootstrap_servers} did not answer in {max_wait:.0f}s: {last}"
            )
        if alive is not None and not alive():
            raise ProcessLookupError("broker process exited")
        try:
            await probe_kafka(access, max_wait=min(5.0, max(remaining, 0.5)))
            return
        except Exception as exc:  # any client error just means "not yet"
            last = exc
        await asyncio.sleep(min(0.5, max(deadline - time.monotonic(), 0)))


def tool_command(main_class: str, *args: str, heap: str = "512m") -> list[str]:
    """argv running a Kafka tool (e.g. org.apache.kafka.tools.ProducerPerformance) on the
    project's jars, so benchmarks need no Kafka tarball either."""
    cfg = StackConfig.from_env()
    libs = ensure_kafka_jars(cfg.pom, cfg.kafka_libs)
    return [
        find_java(),
        f"-Xmx{heap}",
        f"-Dlog4j2.configurationFile={cfg.log4j_config}",
        f"-Dkafka.logs.dir={cfg.kafka_dir / 'tool-logs'}",
        "-cp",
        str(libs / "*"),
        main_class,
        *args,
    ]


class KafkaBroker:
    """One KRaft broker+controller process whose whole state lives in `data_dir`.

    Several instances on different ports/dirs can run side by side; the process is
    detached, so it outlives the Python process that started it (pid in broker.pid).
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        node_id: int = 1,
        *,
        libs_dir: Path | None = None,
        log4j_config: Path | None = None,
        admin_credentials: tuple[str, str] | None = None,
        say: Say = _quiet,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        # With credentials: SASL/SCRAM, ACLs, and that user as the one super user.
        self.admin_credentials = admin_credentials
        self.port = port
        self.controller_port = controller_port
        self.node_id = node_id
        self._libs_dir = libs_dir
        self._log4j_config = log4j_config
        self._say = say
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def access(self) -> KafkaAccess:
        """How the broker's admin connects (PLAINTEXT when it runs without SASL)."""
        if self.admin_credentials is None:
            return KafkaAccess.plain(self.bootstrap_servers)
        user, password = self.admin_credentials
        return KafkaAccess(
            self.bootstrap_servers, "SASL_PLAINTEXT", "SCRAM-SHA-256", user, password
        )

    @property
    def sasl_marker(self) -> Path:
        """Written when the storage was formatted with the admin's SCRAM credential."""
        return self.log_dir / "fairline-sasl"

    @property
    def properties_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def log_dir(self) -> Path:
        """Topic data and the KRaft metadata log."""
        return self.data_dir / "kraft-logs"

    @property
    def app_log_dir(self) -> Path:
        """log4j's rolling server.log."""
        return self.data_dir / "logs"

    def is_formatted(self) -> bool:
        return (self.log_dir / "meta.properties").is_file()

    def _resolve_files(self) -> tuple[Path, Path]:
        """Jars and log4j config: explicit ones, else the project's (fetched on demand)."""
        libs, log4j = self._libs_dir, self._log4j_config
        if libs is None or log4j is None:
            cfg = StackConfig.from_env()
            if libs is None:
                libs = ensure_kafka_jars(cfg.pom, cfg.kafka_libs, self._say)
            if log4j is None:
                log4j = cfg.log4j_config
        if not any(libs.glob("kafka_2.13-*.jar")):
            raise StackError(f"no Kafka jars in {libs}: run `fairline-stack up` once to fetch them")
        return libs, log4j

    def _listener_settings(self) -> dict[str, str]:
        p, c = self.port, self.controller_port
        if self.admin_credentials is None:
            return {
                "listeners": f"PLAINTEXT://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}",
                "advertised.listeners": f"PLAINTEXT://127.0.0.1:{p}",
                "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "inter.broker.listener.name": "PLAINTEXT",
                "auto.create.topics.enable": "true",
            }
        user, password = self.admin_credentials
        # Clients and the broker itself use SCRAM (credentials in the metadata log, the
        # admin's written at format time); the controller listener cannot use SCRAM in
        # KRaft (the credentials live in the log it serves), so it takes PLAIN with the
        # admin alone: no anonymous connection is a super user anywhere.
        plain = (
            "org.apache.kafka.common.security.plain.PlainLoginModule required"
            f' username="{user}" password="{password}" user_{user}="{password}";'
        )
        scram = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required"
            f' username="{user}" password="{password}";'
        )
        return {
            "listeners": f"SASL://127.0.0.1:{p},CONTROLLER://127.0.0.1:{c}",
            "advertised.listeners": f"SASL://127.0.0.1:{p}",
            "listener.security.protocol.map": "SASL:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
            "inter.broker.listener.name": "SASL",
            "sasl.enabled.mechanisms": "SCRAM-SHA-256",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-256",
            "listener.name.sasl.scram-sha-256.sasl.jaas.config": scram,
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": plain,
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": f"User:{user}",
            "allow.everyone.if.no.acl.found": "false",
            # Topics are created by their owners, explicitly: a typo is an error, not a topic.
            "auto.create.topics.enable": "false",
        }

    def _properties(self) -> str:
        c = self.controller_port
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            **self._listener_settings(),
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.bootstrap.servers": f"127.0.0.1:{c}",
            "log.dirs": str(self.log_dir),
            # single node: every internal topic must make do with one replica
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "group.initial.rebalance.delay.ms": "0",
            # After a crash the controller rejects the new incarnation until the old
            # registration's session expires (default 9 s): keep that wait short.
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "500",
            "num.partitions": "3",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        body = "\n".join(f"{k}={v}" for k, v in settings.items())
        return f"# Written by fairline-stack on every start (edit kafka.py instead)\n{body}\n"

    def _java_base(self, java: str, log4j: Path) -> list[str]:
        return [
            java,
            f"-Dlog4j2.configurationFile={log4j}",
            f"-Dkafka.logs.dir={self.app_log_dir}",
            "-Djava.awt.headless=true",
        ]

    def _format(self, java: str, libs: Path, log4j: Path) -> None:
        cluster_id = new_cluster_id()
        self._say(f"kafka: formatting storage in {self.log_dir} (first run only)…")
        cmd = [
            *self._java_base(java, log4j),
            "-Xmx256m",
            "-cp",
            str(libs / "*"),
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            f"--cluster-id={cluster_id}",
            "-c",
            str(self.properties_path),
        ]
        if self.admin_credentials is not None:
            user, password = self.admin_credentials
            # KIP-900: the first SCRAM user goes into the metadata log with the format.
            cmd += ["--add-scram", f"SCRAM-SHA-256=[name={user},password={password}]"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if proc.returncode != 0 or not self.is_formatted():
            raise StackError(
                f"formatting Kafka storage failed (exit {proc.returncode}):\n"
                f"{without_stack_frames(proc.stdout + proc.stderr).strip()[-3000:]}\n"
                f"if {self.log_dir} holds a half-written earlier attempt, delete it and rerun"
            )
        if self.admin_credentials is not None:
            self.sasl_marker.write_text("formatted with the admin's SCRAM credential\n")

    def start(self) -> None:
        """Format once, then launch the broker detached; a no-op when it already runs."""
        if self.is_running():
            return
        java = find_java()
        libs, log4j = self._resolve_files()
        for name, port in (("port", self.port), ("controller port", self.controller_port)):
            if port_in_use(port):
                raise StackError(
                    f"kafka {name} 127.0.0.1:{port} is already in use by another process: "
                    "stop it, or pick free ports (FAIRLINE_KAFKA_PORT / "
                    "FAIRLINE_KAFKA_CONTROLLER_PORT for the local stack)"
                )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.app_log_dir.mkdir(exist_ok=True)
        formatted = self.is_formatted()
        if self.admin_credentials is not None and formatted and not self.sasl_marker.exists():
            raise StackError(
                f"the Kafka storage in {self.log_dir} was formatted before the stack used"
                " SASL, so it has no admin user: stop the stack and delete that folder"
                " (or `make clean`), then start again"
            )
        self.properties_path.touch(mode=0o600)
        self.properties_path.chmod(0o600)  # it holds the admin's password
        self.properties_path.write_text(self._properties())
        if not self.is_formatted():
            self._format(java, libs, log4j)
        if self.log_path.exists():
            self.log_path.replace(self.log_path.with_name("broker.log.1"))
        cmd = [
            *self._java_base(java, log4j),
            "-Xms256m",
            "-Xmx768m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:InitiatingHeapOccupancyPercent=35",
            "-XX:+ExplicitGCInvokesConcurrent",
            "-XX:+ExitOnOutOfMemoryError",
            "-cp",
            str(libs / "*"),
            "kafka.Kafka",
            str(self.properties_path),
        ]
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # survive the CLI and its terminal's signals
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")

    def pid(self) -> int | None:
        """The running broker's pid, whether this object or another process started it."""
        if self._proc is not None:
            if self._proc.poll() is None:
                return self._proc.pid
            self._proc = None
        pid = read_pid(self.pid_path)
        if pid is None or not pid_alive(pid):
            return None
        argv = pid_cmdline(pid)
        # A recycled pid would not carry our main class and our properties file.
        if "kafka.Kafka" not in argv or str(self.properties_path) not in argv:
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    async def wait_ready_async(self, max_wait: float = 90.0) -> None:
        """Wait until a Metadata request succeeds; explains what to do when it doesn't."""
        try:
            await wait_for_kafka(self.access, max_wait, alive=self.is_running)
        except (TimeoutError, ProcessLookupError) as exc:
            what = (
                "exited during startup"
                if isinstance(exc, ProcessLookupError)
                else f"did not answer within {max_wait:.0f}s"
            )
            raise StackError(
                f"kafka broker at {self.bootstrap_servers} {what}. Last lines of {self.log_path}:\n"
                f"{without_stack_frames(tail(self.log_path, 80))[-4000:]}\n"
                f"Fix the cause above (full log: {self.app_log_dir / 'server.log'}) and start it "
                f"again; if the storage in {self.log_dir} is corrupt, stop the broker and delete "
                f"{self.data_dir} to start from scratch."
            ) from exc

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Blocking form of wait_ready_async (safe to call from inside an event loop too)."""
        run_sync(lambda: self.wait_ready_async(timeout))

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:  # reap our own child
                    return True
            elif not pid_alive(pid):
                return True
            time.sleep(0.1)
        return False

    def _signal(self, sig: signal.Signals) -> int | None:
        pid = self.pid()
        if pid is None:
            return None
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return None
        return pid

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful shutdown (SIGTERM, so segments are closed cleanly), SIGKILL if it hangs."""
        pid = self._signal(signal.SIGTERM)
        if pid is not None and not self._wait_gone(pid, timeout):
            log.warning("kafka broker %s ignored SIGTERM for %.0fs; killing it", pid, timeout)
            os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)
        self._forget()

    def kill(self) -> None:
        """SIGKILL right away, like a crash; `start()` on the same data_dir recovers."""
        pid = self._signal(signal.SIGKILL)
        if pid is not None:
            self._wait_gone(pid, 10)
        self._forget()

    def _forget(self) -> None:
        self._proc = None
        self.pid_path.unlink(missing_ok=True)
