"""What a fault run kills: a PostgreSQL server and a three-broker Kafka cluster of its own,
and the hotels service as production runs it, in real processes.

`serve --workers 2 --no-relay --no-projections` takes the HTTP requests; one `work` process
relays, projects and runs the jobs, so it can be killed without touching the API. Nothing here
touches the shared `make stack` servers: ports come from FAIRLINE_FAULTS_PORTS (49100-49199).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

import httpx
from fairline_events.auth import TokenIssuer
from fairline_stack.cluster import KafkaCluster
from fairline_stack.config import StackError
from fairline_stack.postgres import PostgresServer

from ..common import say

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from support.own_postgres import crash, free_port_in_range, restart

SERVICE = "hotels"


class Rig:
    def __init__(self, run_id: str, log_dir: Path) -> None:
        self.run_id = run_id
        self.log_dir = log_dir
        self.work_dir = Path(tempfile.mkdtemp(prefix="fl-faults-"))  # short: socket paths
        self.work_dir.chmod(0o755)
        self.taken: set[int] = set()
        self.postgres = PostgresServer(self.work_dir / "pg", free_port_in_range(self.taken))
        self.cluster = self._new_cluster()
        self.http_port = free_port_in_range(self.taken)
        self.secret = secrets.token_urlsafe(48)
        self.issuer = TokenIssuer(self.secret)
        self.command = str(Path(sys.executable).parent / f"fairline-{SERVICE}")
        self.server: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    def _new_cluster(self) -> KafkaCluster:
        ports = [(free_port_in_range(self.taken), free_port_in_range(self.taken)) for _ in "abc"]
        return KafkaCluster(self.work_dir / f"kafka-{ports[0][0]}", ports, say=say)

    @property
    def topic_prefix(self) -> str:
        return f"{self.run_id}."

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.postgres.dsn,
            "KAFKA_BOOTSTRAP_SERVERS": self.cluster.bootstrap_servers,
            "FAIRLINE_TOPIC_PREFIX": self.topic_prefix,
            "FAIRLINE_DATABASE_PREFIX": f"{self.run_id}_",
            "FAIRLINE_TOPIC_REPLICATION": "3",
            "FAIRLINE_AUTH_SECRET": self.secret,
            "LOG_LEVEL": "INFO",  # uvicorn says when it replaces a worker at INFO
            "PYTHONFAULTHANDLER": "1",  # a crash in a C extension leaves its traceback
        }

    @property
    def database_url(self) -> str:
        from fairline_events.settings import ServiceSettings

        settings = ServiceSettings(
            database_url=self.postgres.dsn, fairline_database_prefix=f"{self.run_id}_"
        )
        return settings.service_database_url(SERVICE)

    def token(self, role: str) -> str:
        return self.issuer.issue(f"faults-{role}", [role])

    def _log(self, name: str) -> IO[bytes]:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        handle = (self.log_dir / f"{name}.log").open("ab")
        self._logs.append(handle)
        return handle

    async def start(self) -> None:
        say(f"faults: PostgreSQL on {self.postgres.port}, data in {self.work_dir}")
        await asyncio.to_thread(restart, self.postgres)
        say("faults: three Kafka brokers (replication 3, min.insync.replicas 2)…")
        try:
            await asyncio.to_thread(self.cluster.start)
        except StackError as exc:
            # Ports in 49100-49199 are also the kernel's ephemeral ports: one picked free may
            # be some client's by the time a broker binds it. Once more on fresh ports.
            say(f"faults: the cluster did not start ({str(exc)[:200]}…); retrying on other ports")
            await asyncio.to_thread(self.cluster.kill)
            shutil.rmtree(self.cluster.data_dir, ignore_errors=True)
            self.cluster = self._new_cluster()
            await asyncio.to_thread(self.cluster.start)
        migrate = [self.command, "migrate"]
        await asyncio.to_thread(
            subprocess.run, migrate, env=self.env, check=True, stdout=self._log("migrate")
        )
        serve = [self.command, "serve", "--port", str(self.http_port), "--workers", "2"]
        serve += ["--no-relay", "--no-projections"]
        log = self._log("serve")
        self.server = subprocess.Popen(serve, env=self.env, stdout=log, stderr=log)
        self.start_worker()
        async with httpx.AsyncClient(base_url=self.base_url, timeout=5) as client:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or self.server.poll() is not None:
                    raise RuntimeError(f"hotels did not get ready; see {self.log_dir}/serve.log")
                await asyncio.sleep(0.3)
        say(f"faults: hotels serving on {self.base_url}, one `work` process")

    def start_worker(self, *extra: str) -> subprocess.Popen[bytes]:
        log = self._log(f"work-{len(self.workers) + 1}")
        worker = subprocess.Popen(
            [self.command, "work", *extra], env=self.env, stdout=log, stderr=log
        )
        self.workers.append(worker)
        return worker

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    def crash_postgres(self) -> None:
        crash(self.postgres)

    def restart_postgres(self) -> None:
        restart(self.postgres)

    async def stop(self) -> None:
        processes = [p for p in [self.server, *self.workers] if p is not None]
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGINT if process is self.server else signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
        await asyncio.to_thread(self.cluster.kill)  # throwaway data: no clean shutdown needed
        try:
            await asyncio.to_thread(self.postgres.stop)
        except Exception as exc:  # a server that never came back is gone already
            say(f"faults: stopping PostgreSQL: {exc}")
        for handle in self._logs:
            handle.close()
        shutil.rmtree(self.work_dir, ignore_errors=True)
