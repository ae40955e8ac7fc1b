"""A/B of the core's write and read paths between two checkouts, on a shared box.

`<checkout>/.venv/bin/python bench/ab_core.py <checkout> append relay` runs the append (one
aggregate per transaction, 100 events per transaction, the `eventsourcing` peer beside it),
the relay (beside the raw aiokafka producer) and the projection with that checkout's code, and
prints one JSON line per figure: the rate, this process's CPU µs per event (steadier than a
rate on a loaded machine), the load average. Alternate two checkouts (before, after) to
compare them under the same load. AB_SINGLES, AB_EVENTS set the volumes; AB_NO_PEER=1 skips
the peer (for a py-spy recording of Fairline alone). Not part of `make bench`.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import os
import sys
import time
import uuid
from typing import Any

root = sys.argv[1]
sys.path.insert(0, root)

from fairline_events import projection  # noqa: E402
from fairline_events.kafka import ensure_topics  # noqa: E402
from fairline_events.projection import LiveProjection, ProjectionRunner  # noqa: E402
from fairline_events.relay import Relay  # noqa: E402
from fairline_events.store import EventStore, StreamAppend  # noqa: E402

from bench import core  # noqa: E402
from bench.common import scratch_database  # noqa: E402
from bench.model import floor, held_event, registry  # noqa: E402

SIDE = os.path.basename(root.rstrip("/"))


def out(name: str, rate: float, cpu: float, n: int, **more: object) -> None:
    print(
        json.dumps(
            {
                "side": SIDE,
                "figure": name,
                "rate": round(rate, 1),
                "cpu_us_per_event": round(cpu * 1e6 / n, 1),
                "load": os.getloadavg()[0],
                **more,
            }
        ),
        flush=True,
    )


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except OSError:
        return 0


class Backends:
    """The CPU the PostgreSQL server's processes for this database spent (a local server)."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def _pids(self) -> list[int]:
        rows = await self.pool.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
        return [r["pid"] for r in rows]

    async def __aenter__(self) -> Backends:
        self.before = {pid: _ticks(pid) for pid in await self._pids()}
        return self

    async def __aexit__(self, *_: object) -> None:
        after = {pid: _ticks(pid) for pid in await self._pids()}
        ticks = sum(t - self.before.get(pid, 0) for pid, t in after.items())
        self.cpu = ticks / os.sysconf("SC_CLK_TCK")


class Clock:
    def __enter__(self) -> Clock:
        self.t, self.c = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.t
        self.cpu = time.process_time() - self.c


async def append(server: str, singles: int, batches: int) -> None:
    async with scratch_database(server, "ab") as (url, pool):
        store = EventStore(pool, registry)
        # every writer's connection opened and its statements prepared before the clock runs
        await core._gather_limited(
            400, 16, lambda i: store.append(f"w-{i}", [held_event(i)], 0, core.ctx)
        )
        with Clock() as c:
            await core._gather_limited(
                singles, 16, lambda i: store.append(f"s-{i}", [held_event(i)], 0, core.ctx)
            )
        out("append single", singles / c.seconds, c.cpu, singles)
        with Clock() as c:
            await core._gather_limited(
                batches,
                4,
                lambda b: store.append_streams(
                    [StreamAppend(f"b-{b}", [held_event(i) for i in range(100)], 0)], core.ctx
                ),
            )
        out("append 100 per tx", batches * 100 / c.seconds, c.cpu, batches * 100)
        if os.environ.get("AB_NO_PEER"):
            return
        with Clock() as c:
            single, batch = await asyncio.to_thread(
                core._eventsourcing_appends, url, singles, batches, 100
            )
        out("eventsourcing single", single, 0, 1)
        out("eventsourcing 100 per tx", batch, 0, 1)


async def relay(server: str, events: int) -> None:
    from fairline_stack.resolve import infrastructure

    kafka = (await infrastructure()).kafka

    prefix = f"ab{uuid.uuid4().hex[:6]}."
    topic = f"{prefix}bench.events"
    await ensure_topics(kafka, [topic, f"{prefix}raw"])
    async with scratch_database(server, "abrelay") as (_, pool):
        store = EventStore(pool, registry)
        await core.fill_store(store, events)
        # from here on, as the checkout's worker runs the relay and the projections
        # a checkout from before the worker settled its heap has neither
        heap = importlib.util.find_spec("fairline_events.heap")
        settle = getattr(projection, "settle_worker_heap", None)
        if heap is not None:
            importlib.import_module("fairline_events.heap").settle_heap(50_000)
        elif settle is not None:
            settle()
        r = Relay(store, kafka, topic, batch_size=5000)
        stopping = asyncio.Event()
        with Clock() as c:
            task = asyncio.create_task(r.run(stopping))
            while r.published < events:
                await asyncio.sleep(0.02)
        stopping.set()
        await task
        with Clock() as raw:
            raw_rate = await core.raw_producer(kafka, f"{prefix}raw", events)
        out(
            "relay",
            events / c.seconds,
            c.cpu,
            events,
            raw=round(raw_rate, 1),
            raw_cpu_us=round(raw.cpu * 1e6 / events, 1),
            ratio=round(events / c.seconds / raw_rate, 3),
        )
        runner = ProjectionRunner(floor, pool, kafka, prefix)
        live = LiveProjection(runner, max_records=2000)
        await runner.create_schema()
        # A checkout whose LiveProjection still subscribes on a FastStream broker, or one
        # whose live projection owns its consumer (started by `start`).
        broker: Any = None
        if hasattr(live, "subscribe"):
            from faststream.kafka import KafkaBroker

            broker = KafkaBroker(
                kafka.bootstrap_servers, security=kafka.faststream_security(), logger=None
            )
            await live.start()
            live.subscribe(broker)
        first = 0.0
        async with Backends(pool) as database:
            with Clock() as c:
                await (broker.start() if broker is not None else live.start())
                while live.applied < events:
                    if not first and live.applied:
                        first = time.perf_counter() - c.t
                    await asyncio.sleep(0.02)
        if broker is not None:
            await live.finish()
            await broker.stop()
        await live.stop()
        out(
            "projection",
            events / c.seconds,
            c.cpu,
            events,
            postgres_cpu_us=round(database.cpu * 1e6 / events, 1),
            first_batch_after_s=round(first, 2),
        )


async def main() -> None:
    from fairline_stack.resolve import infrastructure

    server = (await infrastructure()).database_url
    for section in sys.argv[2:]:
        if section == "append":
            await append(server, int(os.environ.get("AB_SINGLES", 2000)), 150)
        elif section == "relay":
            await relay(server, int(os.environ.get("AB_EVENTS", 50_000)))


if __name__ == "__main__":
    asyncio.run(main())
