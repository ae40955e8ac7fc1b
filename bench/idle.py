"""What a service's worker costs while nothing happens, and per hold under load.

`python -m bench.idle [seconds]` starts the booths worker (`work`: relay, projections,
policies, jobs) on fresh databases and topics, lets it settle, and then, for `seconds` (30),
measures from /proc and the kernel's socket counters:

- the worker's CPU (its process tree);
- the CPU of the PostgreSQL backends connected to its database (its own, exactly) and of all
  of PostgreSQL and the Kafka broker (shared with everyone on the stack: noisy);
- the requests it sends to Kafka and PostgreSQL (TCP data segments out, per connection to
  the broker's and the database's port), which is what the broker and the server do for it.

A report, not a test; per hold under load, see `bench.commands`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import asyncpg

from . import cpu
from .common import migrate_service, say, service_process, service_settings, stop

_SEGS = re.compile(r"\bdata_segs_out:(\d+)")


def _cpu_of(pids: set[int]) -> float:
    processes = cpu._processes()
    return sum(processes[p][2] for p in pids if p in processes)


def _segments_out(pids: set[int], ports: dict[int, str]) -> dict[str, int]:
    """Data segments each process has sent, by peer (kafka, postgresql), over every TCP
    connection it holds now (a closed connection's count is lost: the worker keeps its
    connections)."""
    out = subprocess.run(["ss", "-tinpH"], capture_output=True, text=True).stdout.splitlines()
    sent = dict.fromkeys(ports.values(), 0)
    for first, second in zip(out[::2], out[1::2], strict=False):
        users = re.findall(r"pid=(\d+)", first)
        if not any(int(p) in pids for p in users):
            continue
        fields = first.split()
        peer_port = int(fields[4].rsplit(":", 1)[1])
        if peer_port in ports:
            found = _SEGS.search(second)
            if found:
                sent[ports[peer_port]] += int(found.group(1))
    return sent


@dataclass
class Sample:
    at: float
    worker: float
    backends: float
    postgresql: float
    kafka: float
    segments: dict[str, int]


async def _backend_pids(database_url: str, database: str) -> set[int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return {r["pid"] for r in rows}


async def _sample(
    worker_pid: int, database_url: str, database: str, ports: dict[int, str]
) -> Sample:
    backends = await _backend_pids(database_url, database)
    shared = cpu.snapshot(worker_pid)
    tree = cpu._tree(cpu._processes(), worker_pid)
    return Sample(
        time.monotonic(),
        _cpu_of(tree),
        _cpu_of(backends),
        shared.get("postgresql", 0.0),
        shared.get("kafka", 0.0),
        _segments_out(tree, ports),
    )


def _rates(before: Sample, after: Sample, per: float) -> dict[str, Any]:
    """CPU milliseconds and requests per `per` (a second, or a hold)."""
    return {
        "worker_cpu_ms": round((after.worker - before.worker) * 1000 / per, 3),
        "own_backends_cpu_ms": round((after.backends - before.backends) * 1000 / per, 3),
        "all_postgresql_cpu_ms": round((after.postgresql - before.postgresql) * 1000 / per, 3),
        "kafka_broker_cpu_ms": round((after.kafka - before.kafka) * 1000 / per, 3),
        "requests_to": {
            peer: round((after.segments[peer] - before.segments.get(peer, 0)) / per, 2)
            for peer in after.segments
        },
    }


async def measure(seconds: float, settle: float) -> dict[str, Any]:
    from fairline_stack.resolve import infrastructure

    infra = await infrastructure()
    unique = f"idle{uuid.uuid4().hex[:6]}"
    settings = service_settings(infra, unique)
    migrate_service("booths", settings)
    database_url = settings.service_database_url("booths")
    database = urlsplit(database_url).path.lstrip("/")
    ports = {
        int(infra.kafka.bootstrap_servers.split(",")[0].rsplit(":", 1)[1]): "kafka",
        urlsplit(infra.database_url).port or 5432: "postgresql",
    }
    worker = service_process("booths", settings, "work")
    report: dict[str, Any] = {"load": os.getloadavg()}
    try:
        say(f"idle: worker {worker.pid} settling {settle:.0f} s…")
        await asyncio.sleep(settle)
        before = await _sample(worker.pid, infra.database_url, database, ports)
        await asyncio.sleep(seconds)
        after = await _sample(worker.pid, infra.database_url, database, ports)
        report["idle_per_second"] = _rates(before, after, after.at - before.at)
    finally:
        stop(worker)
        from fairline_events.db import drop_database

        await drop_database(database_url)
    report["load_after"] = os.getloadavg()
    return report


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idle")
    parser.add_argument("seconds", nargs="?", type=float, default=30.0)
    parser.add_argument("--settle", type=float, default=20.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.seconds, args.settle)), indent=2))


if __name__ == "__main__":
    cli()
