"""A three-broker KRaft cluster on loopback, for fault tests: replication 3, min ISR 2.

Each node is broker and controller at once (a static quorum of three voters), so killing
any one leaves a quorum and two in-sync replicas: producers with acks=all carry on, and the
node catches up when it comes back. PLAINTEXT only; it reuses kafka.py's jars, Java and
readiness probe, and keeps each node's whole state in its own folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ._proc import pid_alive, pid_cmdline, port_in_use, read_pid, run_sync, tail
from ._proc import without_stack_frames as short
from .config import StackConfig, StackError
from .kafka import ensure_kafka_jars, find_java, new_cluster_id, probe_kafka, wait_for_kafka

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class ClusterNode:
    """One broker+controller of a `KafkaCluster`."""

    def __init__(self, cluster: KafkaCluster, node_id: int, port: int, controller_port: int):
        self.cluster = cluster
        self.node_id = node_id
        self.port = port
        self.controller_port = controller_port
        self.data_dir = cluster.data_dir / f"node-{node_id}"
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def properties_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "broker.pid"

    def properties(self) -> str:
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "listeners": f"PLAINTEXT://{self.address},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.address}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "controller.quorum.voters": self.cluster.voters,
            "log.dirs": str(self.data_dir / "kraft-logs"),
            # Every record on three brokers, acknowledged by two: one may die at any time.
            "default.replication.factor": "3",
            "min.insync.replicas": "2",
            "offsets.topic.replication.factor": "3",
            "transaction.state.log.replication.factor": "3",
            "transaction.state.log.min.isr": "2",
            "share.coordinator.state.topic.replication.factor": "3",
            "share.coordinator.state.topic.min.isr": "2",
            "unclean.leader.election.enable": "false",
            "group.initial.rebalance.delay.ms": "0",
            "broker.session.timeout.ms": "4000",
            "broker.heartbeat.interval.ms": "500",
            "replica.lag.time.max.ms": "10000",
            "auto.create.topics.enable": "true",
            "num.partitions": "3",
            "num.network.threads": "2",
            "num.io.threads": "2",
        }
        body = "\n".join(f"{k}={v}" for k, v in settings.items())
        return f"# Written by fairline_stack.cluster on every start\n{body}\n"

    def _java(self, heap: str) -> list[str]:
        return [
            find_java(),
            f"-Xmx{heap}",
            f"-Dlog4j2.configurationFile={self.cluster.log4j}",
            f"-Dkafka.logs.dir={self.data_dir / 'logs'}",
            "-Djava.awt.headless=true",
            "-cp",
            str(self.cluster.libs / "*"),
        ]

    def format(self, cluster_id: str) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self.properties())
        if (self.data_dir / "kraft-logs" / "meta.properties").is_file():
            return
        command = [*self._java("256m"), "kafka.tools.StorageTool", "format"]
        command += [f"--cluster-id={cluster_id}", "-c", str(self.properties_path)]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise StackError(
                f"formatting cluster node {self.node_id} failed:\n"
                f"{short(done.stdout + done.stderr)[-3000:]}\ndelete {self.data_dir} and retry"
            )

    def start(self) -> None:
        if self.is_running():
            return
        for port in (self.port, self.controller_port):
            if port_in_use(port):
                raise StackError(
                    f"cluster node {self.node_id}: 127.0.0.1:{port} is in use; pick other ports"
                )
        self.properties_path.write_text(self.properties())
        command = [*self._java("512m"), "-Xms128m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20"]
        command += ["-XX:+ExitOnOutOfMemoryError", "kafka.Kafka", str(self.properties_path)]
        with self.log_path.open("ab") as out:
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")

    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        pid = read_pid(self.pid_path)
        if pid is None or not pid_alive(pid):
            return None
        argv = pid_cmdline(pid)
        return pid if "kafka.Kafka" in argv and str(self.properties_path) in argv else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def _signal(self, sig: signal.Signals, within: float) -> None:
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.pid == pid:
                if self._proc.poll() is not None:
                    break
            elif not pid_alive(pid):
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
        self._proc = None
        self.pid_path.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL, as a crash: no controlled shutdown, no leadership handed over."""
        self._signal(signal.SIGKILL, 10)

    def stop(self) -> None:
        self._signal(signal.SIGTERM, 60)

    async def wait_ready(self, within: float = 120) -> None:
        try:
            await wait_for_kafka(self.address, within, alive=self.is_running)
        except (TimeoutError, ProcessLookupError) as exc:
            raise StackError(
                f"cluster node {self.node_id} at {self.address} did not come up ({exc}); "
                f"last lines of {self.log_path}:\n{short(tail(self.log_path, 60))[-3000:]}"
            ) from exc


class KafkaCluster:
    """Three (or more) nodes in `data_dir`, one (port, controller port) pair each."""

    def __init__(
        self,
        data_dir: Path,
        ports: Sequence[tuple[int, int]],
        *,
        libs: Path | None = None,
        log4j: Path | None = None,
        say: Say = _quiet,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        cfg = StackConfig.from_env() if libs is None or log4j is None else None
        self.libs = libs or ensure_kafka_jars(cfg.pom, cfg.kafka_libs, say)  # type: ignore[union-attr]
        self.log4j = log4j or cfg.log4j_config  # type: ignore[union-attr]
        self.nodes = [ClusterNode(self, i + 1, p, c) for i, (p, c) in enumerate(ports)]
        self._say = say

    @property
    def voters(self) -> str:
        return ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(n.address for n in self.nodes)

    def node(self, node_id: int) -> ClusterNode:
        return next(n for n in self.nodes if n.node_id == node_id)

    def start(self, within: float = 180) -> None:
        """Format (first time), start every node, and wait until each answers and the
        cluster lists all of them."""
        cluster_id_path = self.data_dir / "cluster.id"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not cluster_id_path.exists():
            cluster_id_path.write_text(new_cluster_id())
        cluster_id = cluster_id_path.read_text().strip()
        for node in self.nodes:
            node.format(cluster_id)
        for node in self.nodes:
            node.start()
        run_sync(lambda: self.wait_ready(within))
        self._say(f"kafka cluster: {len(self.nodes)} brokers at {self.bootstrap_servers}")

    async def wait_ready(self, within: float = 180) -> None:
        deadline = time.monotonic() + within
        for node in self.nodes:
            await node.wait_ready(max(1.0, deadline - time.monotonic()))
        while (live := await _live_brokers(self.bootstrap_servers)) < len(self.nodes):
            if time.monotonic() > deadline:
                raise StackError(f"only {live} of {len(self.nodes)} brokers registered")
            time.sleep(0.5)  # noqa: ASYNC251 (rarely reached; keeps the loop simple)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def kill(self) -> None:
        for node in self.nodes:
            node.kill()


async def _live_brokers(bootstrap_servers: str) -> int:
    try:
        return await probe_kafka(bootstrap_servers, max_wait=5)
    except Exception:
        return 0
