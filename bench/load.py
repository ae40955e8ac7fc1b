"""Open-loop HTTP load with vegeta: requests leave on a fixed schedule, whatever came back.

A Python generator on the same two cores spent a whole core sending 400 requests/s and
became the bottleneck it was meant to measure; vegeta (Go, `make bench` builds a pinned
version into .tools/bin) sends the same load for a fraction of that. Each request is sent
as its time comes, by as many workers as it takes, so a slow server shows up as latency,
not as a lower rate. Latency counts from each request's scheduled start; `lag` reports how
late the generator itself sent, and when it is large the figures measure the client.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from . import cpu
from .common import percentile, say
from .flame import profiled

VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0"
TOOLS = Path(__file__).resolve().parents[1] / ".tools" / "bin"
VEGETA = TOOLS / "vegeta"
NO_MORE_TARGETS = "no targets to attack"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None
    """This request's own headers (its caller's token), over those all requests share."""


@dataclass
class LoadResult:
    rate: float
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    lag_ms: list[float] = field(default_factory=list)
    """How late each request left against its schedule: the generator's own delay."""
    timeline: list[tuple[float, float]] = field(default_factory=list)
    """(seconds from the first send, latency in ms) of each answer; BENCH_TIMELINE=<file>
    appends every run's, with its start as a Unix time."""
    last_answer_s: float = 0.0
    """From the first request sent until the last answer came back."""

    def summary(self) -> dict[str, Any]:
        sent = sum(self.statuses.values())
        return {
            "offered_per_s": self.rate,
            "sent": sent,
            "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p95_ms": round(percentile(self.latencies_ms, 95), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
            "max_ms": round(max(self.latencies_ms, default=float("nan")), 2),
            "statuses": dict(self.statuses),
            "transport_errors": dict(self.errors),
            "generator_lag_p99_ms": round(percentile(self.lag_ms, 99), 2),
        }


def ensure_vegeta() -> Path:
    """Build the pinned vegeta once (about 30 s); says what to install when Go is missing."""
    if VEGETA.exists():
        return VEGETA
    go = shutil.which("go")
    if go is None:
        raise RuntimeError(
            "the command benchmarks send load with vegeta, built with Go: install Go 1.22+"
            " (https://go.dev/dl or apt-get install -y golang) and run make bench again"
        )
    say(f"commands: building {VEGETA_MODULE} into {TOOLS} (once)…")
    TOOLS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [go, "install", VEGETA_MODULE], env={**os.environ, "GOBIN": str(TOOLS)}, check=True
    )
    return VEGETA


async def open_loop(
    base_url: str,
    headers: dict[str, str],
    rate: int,
    seconds: float,
    requests: list[Request],
    workers: int = 10,
    *,
    each_once: bool = False,
) -> LoadResult:
    """Send `requests` in order, `rate` per second; as many as `rate * seconds`. `workers`:
    the senders vegeta starts with (it adds more as answers lag; a burst needs them all at
    once). `each_once`: send every request exactly once, however late a busy machine lets
    vegeta send them (it reads them lazily and stops after the last), not as many as fit in
    `seconds` (a burst of registrations, each a different person's)."""
    vegeta = ensure_vegeta()
    total = len(requests) if each_once else int(rate * seconds)
    if len(requests) < total:
        raise ValueError(f"{total} requests needed, {len(requests)} given")
    with tempfile.TemporaryDirectory(prefix="fairline-bench-") as tmp:
        targets = Path(tmp) / "targets.json"
        with targets.open("w") as out:
            for r in requests[:total]:
                target: dict[str, Any] = {
                    "method": r.method,
                    "url": base_url + r.path,
                    "header": {k: [v] for k, v in (headers | (r.headers or {})).items()},
                }
                if r.body is not None:
                    target["body"] = base64.b64encode(json.dumps(r.body).encode()).decode()
                    target["header"]["Content-Type"] = ["application/json"]
                out.write(json.dumps(target) + "\n")
        results = Path(tmp) / "results.bin"
        attack = await asyncio.create_subprocess_exec(
            str(vegeta),
            "attack",
            "-format=json",
            f"-targets={targets}",
            f"-rate={rate}/1s",
            f"-duration={seconds + 60 if each_once else seconds}s",
            f"-workers={workers}",
            "-timeout=60s",
            "-max-body=0",
            f"-output={results}",
            *(["-lazy"] if each_once else []),
        )
        if await attack.wait() != 0:
            raise RuntimeError(f"vegeta attack failed with exit status {attack.returncode}")
        encoded = subprocess.run(
            [str(vegeta), "encode", "-to=json", str(results)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return _result(rate, seconds, encoded)


@dataclass(frozen=True)
class ReadLoad:
    """Reads at a rate, then `/healthz` at the same rate as their baseline."""

    reads: LoadResult
    healthz: LoadResult
    notes: dict[str, Any]
    """The reads' summary, with the service's CPU per read (`cpu_ms_per_read`) and per
    `/healthz` (`cpu_ms_per_healthz`), part by part."""


async def read_load(
    base_url: str,
    headers: dict[str, str],
    rate: int,
    seconds: float,
    reads: list[Request],
    *,
    server_pids: tuple[int, int],
    profile: str,
) -> ReadLoad:
    """`reads` in open loop (profiled as `profile` under BENCH_PROFILE), then as many
    `/healthz` at the same rate: each with the CPU the service's processes spent on it, so a
    read's cost stands beside the framework's floor on the same machine at the same moment."""
    total = int(rate * seconds)
    before = cpu.snapshot(*server_pids)
    with profiled(server_pids[0], profile, seconds):
        result = await open_loop(base_url, headers, rate, seconds, reads)
    cpu_per_read = cpu.per_request_ms(before, cpu.snapshot(*server_pids), total)
    health = [Request("GET", "/healthz")] * total
    before = cpu.snapshot(*server_pids)
    baseline = await open_loop(base_url, {}, rate, seconds, health)
    cpu_per_health = cpu.per_request_ms(before, cpu.snapshot(*server_pids), total)
    notes = result.summary()
    notes["cpu_ms_per_read"] = cpu_per_read
    notes["cpu_ms_per_healthz"] = cpu_per_health
    return ReadLoad(reads=result, healthz=baseline, notes=notes)


def _result(rate: int, seconds: float, encoded: str) -> LoadResult:
    result = LoadResult(rate, seconds)
    hits = sorted((json.loads(line) for line in encoded.splitlines() if line), key=_sent_at)
    if not hits:
        return result
    start = _sent_at(hits[0])
    for i, hit in enumerate(hits):
        lag = max(0.0, (_sent_at(hit) - start - i / rate) * 1000)
        result.lag_ms.append(lag)
        if hit["code"] == 0:  # no response at all: refused, reset, timed out
            if hit.get("error") == NO_MORE_TARGETS:
                continue  # the lazy reader's end (each_once), not a request
            result.errors[_error_kind(hit.get("error") or "")] += 1
            continue
        result.statuses[hit["code"]] += 1
        answered = _sent_at(hit) - start + hit["latency"] / 1e9
        result.last_answer_s = max(result.last_answer_s, answered)
        # From the request's scheduled start: a late send counts against the result.
        result.latencies_ms.append(lag + hit["latency"] / 1e6)
        result.timeline.append((round(_sent_at(hit) - start, 4), result.latencies_ms[-1]))
    timeline = os.environ.get("BENCH_TIMELINE")
    if timeline:  # where in a run the slow answers fall, to lay beside other probes
        run = {"rate": rate, "start": start, "timeline": result.timeline}
        with open(timeline, "a") as out:
            out.write(json.dumps(run) + "\n")
    return result


def _error_kind(message: str) -> str:
    """Go's error without the URL and ports: `connection reset by peer`, `EOF`, a timeout."""
    return message.rsplit(": ", 1)[-1].strip() or "no response"


def _sent_at(hit: dict[str, Any]) -> float:
    # Go writes nanoseconds; Python's parser takes at most microseconds.
    stamp = hit["timestamp"]
    head, _, tail = stamp.partition(".")
    if tail:
        digits = "".join(c for c in tail if c.isdigit())
        zone = tail[len(digits) :]
        stamp = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
