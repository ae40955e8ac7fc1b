"""What every benchmark shares: a fresh database and topic, timing, progress, results."""

from __future__ import annotations

import asyncio
import math
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

import asyncpg
from fairline_events.db import create_pool, drop_database, ensure_database, migrate, with_database
from fairline_events.lag import relay_lag
from fairline_events.projection import Projection
from fairline_events.settings import ServiceSettings, kafka_fields
from fairline_stack.resolve import Infra

from .statements import STATEMENT_MARK

_STARTED = time.monotonic()


SCRATCH = f"bench{uuid.uuid4().hex[:8]}"
"""What every scratch topic and database of this bench run is named after: the run deletes
its own topics after each section, never another run's (two engineers may bench at once)."""


def scratch(tag: str = "") -> str:
    """A new scratch name of this run (`tag` says which section made it)."""
    return f"{SCRATCH}{tag}{uuid.uuid4().hex[:6]}"


def say(line: str) -> None:
    """A progress line, after the minutes and seconds since the bench started: what each
    step costs the whole run."""
    minutes, seconds = divmod(int(time.monotonic() - _STARTED), 60)
    print(f"[{minutes:02d}:{seconds:02d}] {line}", flush=True)


@dataclass
class Figure:
    section: str
    name: str
    value: float
    unit: str
    baseline_name: str | None = None
    baseline: float | None = None
    target: str | None = None
    met: bool | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio}


class Timer:
    def __enter__(self) -> Timer:
        self.start = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.start


@asynccontextmanager
async def scratch_database(server_url: str, label: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    url = with_database(server_url, f"bench_{label}_{uuid.uuid4().hex[:6]}")
    await ensure_database(url)
    pool = await create_pool(url, min_size=2, max_size=40)
    await migrate(pool)
    try:
        yield url, pool
    finally:
        await pool.close()
        await drop_database(url)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def service_settings(infra: Infra, unique: str) -> ServiceSettings:
    """A service under bench: its own databases and topics, the stack's Kafka identity, a
    fresh signing key."""
    return ServiceSettings(
        database_url=infra.database_url,
        **kafka_fields(infra.kafka),
        fairline_topic_prefix=f"{unique}.",
        fairline_database_prefix=f"{unique}_",
        fairline_auth_secret=secrets.token_urlsafe(48),
    )


def service_env(settings: ServiceSettings) -> dict[str, str]:
    """A service process's environment: the bench's databases, topics and Kafka identity."""
    return {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        **settings.kafka.env(),
        "FAIRLINE_TOPIC_PREFIX": settings.fairline_topic_prefix,
        "FAIRLINE_DATABASE_PREFIX": settings.fairline_database_prefix,
        "FAIRLINE_AUTH_SECRET": settings.fairline_auth_secret,
        "LOG_LEVEL": "WARNING",
    }


def _command(service: str) -> str:
    return os.path.join(os.path.dirname(sys.executable), f"fairline-{service}")


def migrate_service(service: str, settings: ServiceSettings) -> None:
    subprocess.run(
        [_command(service), "migrate"], env=service_env(settings), check=True, capture_output=True
    )


def service_process(service: str, settings: ServiceSettings, *args: str) -> subprocess.Popen[bytes]:
    """`fairline-<service> <args>` as a process tree of its own, as in production."""
    return subprocess.Popen(
        [_command(service), *args], env=service_env(settings), stderr=subprocess.DEVNULL
    )


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """SIGINT, as Ctrl-C or an orchestrator would; a minute to finish, then SIGKILL."""
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def api_processes(default: str) -> list[int]:
    """BENCH_API_PROCESSES (else `default`, e.g. "1,2"): the HTTP processes measured, one
    after the other; the relay, the projections and the jobs run in one `work` process."""
    return [int(n) for n in os.environ.get("BENCH_API_PROCESSES", default).split(",")]


class Served:
    """A service as production runs it: its HTTP API (`serve --no-relay --no-projections`)
    and its worker (`work`: relay, projections, jobs), each a process tree of its own, so
    the API's load never competes with the read side inside one event loop."""

    def __init__(
        self, service: str, settings: ServiceSettings, port: int, api_processes: int = 1
    ) -> None:
        migrate_service(service, settings)
        self.worker = service_process(service, settings, "work")
        api = ["serve", "--no-relay", "--no-projections", "--port", str(port)]
        # more than one: uvicorn's workers share the port, as replicas share a Service
        api += ["--workers", str(api_processes)]
        self.api = service_process(service, settings, *api)
        self.api_processes = api_processes

    @property
    def pid(self) -> int:
        """The API's: what the load meets (and py-spy samples)."""
        return self.api.pid

    @property
    def pids(self) -> tuple[int, int]:
        """The API's and the worker's: the service's CPU is both."""
        return self.api.pid, self.worker.pid

    def stop(self) -> None:
        stop(self.api, self.worker)


def free_port() -> int:
    """A port no one listens on now: two engineers' benches on one machine each serve on
    their own (a fixed port let one bench measure another's server)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# A ladder of offered rates, each measured several times: on a shared two-core box one run
# of the same rate gave p99 205 ms, the next 472 ms. A rate's figure is its median run.

REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
SATURATED = 10
"""A run is saturated when its p99 is this many times the bound and even its median
request missed the bound (a queue that grew for everyone, not one stall in the tail), or
when it lost answers: the server fell further behind every second, and a repeat would only
say so again."""
CLEAR = 5
"""A first run whose p99 is within a fifth of the bound, every answer right, decides its
rate alone: a neighbour's noise only ever adds latency, so a server cannot look this far
inside the bound at a rate it does not hold, and repeats would only cost time (the plain
peer's runs, at a few ms against 50, were half the section's)."""


@dataclass(frozen=True)
class Run:
    """One measurement of a rate: its p99, whether every request got the expected answer,
    and what the caller keeps of it (summary, CPU, statements…)."""

    p99_ms: float
    all_ok: bool
    notes: dict[str, Any] = field(default_factory=dict)

    def saturated(self, bound_ms: float) -> bool:
        p50 = float(self.notes.get("p50_ms", math.inf))
        return not self.all_ok or (self.p99_ms >= SATURATED * bound_ms and p50 > bound_ms)

    @property
    def rank(self) -> float:
        """What the median orders by: a run that lost answers ranks above any latency."""
        return self.p99_ms if self.all_ok else math.inf


def median_run(runs: Sequence[Run]) -> Run:
    """The middle run by p99 (lost answers rank highest); of an even number, the upper
    middle: a figure never flatters the server."""
    if not runs:
        raise ValueError("no runs")
    return sorted(runs, key=lambda r: r.rank)[len(runs) // 2]


@dataclass
class Step:
    rate: int
    runs: list[Run]
    one_run: str | None = None
    """Why this rate was measured once only."""

    @property
    def median(self) -> Run:
        return median_run(self.runs)

    def within(self, bound_ms: float) -> bool:
        return self.median.all_ok and self.median.p99_ms <= bound_ms

    def notes(self) -> dict[str, Any]:
        """The median run's notes, then every run's p99 and why there were fewer runs."""
        runs = [
            round(r.p99_ms, 1) if r.all_ok else f"{r.p99_ms:.1f} (lost answers)" for r in self.runs
        ]
        extra: dict[str, Any] = {"runs_p99_ms": runs}
        if self.one_run:
            extra["runs_note"] = self.one_run
        return {**self.median.notes, **extra}


@dataclass
class Ladder:
    bound_ms: float
    steps: list[Step]

    @property
    def highest(self) -> int:
        """The highest rate whose median run, and every lower rate's, held the bound."""
        best = 0
        for step in self.steps:
            if not step.within(self.bound_ms):
                break
            best = step.rate
        return best

    def step(self, rate: int) -> Step | None:
        return next((s for s in self.steps if s.rate == rate), None)


async def climb(
    rates: Sequence[int],
    measure: Callable[[int, int], Awaitable[Run]],
    bound_ms: float,
    repeats: int = REPEATS,
) -> Ladder:
    """Measure each rate, lowest first, `repeats` times (`measure(rate, n)`, n from 1); the
    median run decides whether the rate holds the p99 bound. A rate is measured once when its
    first run is saturated or clearly within the bound (the repeats could not change the
    answer), and so is every rate above the first whose median missed the bound: those can
    only miss it too, and a saturated run costs twice its length."""
    ladder = Ladder(bound_ms, [])
    missed_at: int | None = None
    for rate in sorted(rates):
        step = Step(rate, [await measure(rate, 1)])
        first = step.runs[0]
        if missed_at is not None:
            step.one_run = f"one run: the median already missed {bound_ms:g} ms at {missed_at}/s"
        elif first.all_ok and first.p99_ms <= bound_ms / CLEAR:
            step.one_run = f"one run: clearly within (p99 <= 1/{CLEAR} of {bound_ms:g} ms)"
        elif first.saturated(bound_ms):
            step.one_run = (
                f"one run: saturated (p99 >= {SATURATED} x {bound_ms:g} ms and p50 above it,"
                " or lost answers)"
            )
        else:
            for n in range(2, repeats + 1):
                step.runs.append(await measure(rate, n))
        if missed_at is None and not step.within(bound_ms):
            missed_at = rate
        ladder.steps.append(step)
    return ladder


async def settled(
    database: str, topic: str, projections: Sequence[Projection], within: float = 300
) -> None:
    """Until every read model of the service's own topic has applied as many records as the
    store holds events, and the relay has sent them all: the quiet a run starts from (and
    after which a run's CPU and statements are counted). The bench's own probes carry
    STATEMENT_MARK, so the statement figures leave them out."""
    own = [p for p in projections if any(topic.endswith(t) for t in p.topics)]
    conn = await asyncpg.connect(database)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            events = await conn.fetchval(f"{STATEMENT_MARK} SELECT count(*) FROM public.events")
            applied = [
                await conn.fetchval(
                    f"{STATEMENT_MARK} SELECT coalesce(sum(next_offset), 0)"
                    f" FROM {p.schema}.consumed_offsets WHERE topic = $1",
                    topic,
                )
                for p in own
            ]
            # the relay's lag last, once the read models say all is through: one probe a run
            if all(a >= events for a in applied) and (await relay_lag(conn)).events == 0:
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{database.rsplit('/', 1)[-1]}: not settled within {within:g} s")
    finally:
        await conn.close()
