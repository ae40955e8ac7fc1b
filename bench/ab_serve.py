"""Booth holds over HTTP, as the bench's commands section sends them, on one checkout's API
process: its CPU per hold, for an A/B between two checkouts on a shared box.

`<checkout>/.venv/bin/python bench/ab_serve.py <checkout>` opens an edition on a scratch
database and topics (the booths service in full, in process), then serves the API the way
`bench.commands` does (`fairline-booths serve --no-relay --no-projections --workers N`, N
from AB_WORKERS, default 1) and sends it holds with vegeta at AB_RATES (default 250,500)
per second for AB_SECONDS (default 6) each. It prints one JSON line per rate: the API
process tree's CPU µs per hold (uvicorn, httptools, the app, asyncpg), p50/p99, the load
average. BENCH_PROFILE=<dir> records the API with py-spy (`python -m bench.flame`). No
worker runs meanwhile: the API's own cost is what is measured. Not part of `make bench`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

root = sys.argv[1]
sys.path[0] = root  # not bench/: its modules would shadow the services' (forums)
sys.path.insert(0, str(Path(root) / "tests"))

import httpx  # noqa: E402
from e2e.booths.harness import EDITION  # noqa: E402
from support.serving import ready  # noqa: E402
from support.waiting import eventually  # noqa: E402

from bench import cpu  # noqa: E402
from bench.ab_edition import booths_on_sale, scratch_booths  # noqa: E402
from bench.common import (  # noqa: E402
    free_port,
    service_process,
    stop,
)
from bench.flame import profiled  # noqa: E402
from bench.load import Request, open_loop  # noqa: E402

SIDE = os.path.basename(root.rstrip("/"))
RATES = [int(r) for r in os.environ.get("AB_RATES", "250,500").split(",")]
SECONDS = float(os.environ.get("AB_SECONDS", "6"))
WORKERS = int(os.environ.get("AB_WORKERS", "1"))
WARM = 100
HOLDS = WARM + int(sum(RATES) * SECONDS)
EXHIBITORS = HOLDS // 8 + 1


def threads(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread of the process tree's root (name/tid)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        thread = cpu.stat(task / "stat")
        found[f"{thread.name}/{task.name}"] = thread.seconds
    return found


async def main() -> None:
    booths = [f"S-{n:05d}" for n in range(HOLDS)]
    exhibitors = [f"sx-{n:05d}" for n in range(EXHIBITORS)]
    async with scratch_booths("abs") as settings:
        token = await booths_on_sale(settings, booths, exhibitors)
        port = free_port()
        args = ["serve", "--no-relay", "--no-projections", "--port", str(port)]
        server = service_process("booths", settings, *args, "--workers", str(WORKERS))
        holds = [
            Request(
                "POST",
                f"/editions/{EDITION}/booths/{booth}/hold",
                {"exhibitor_id": exhibitors[n % EXHIBITORS]},
            )
            for n, booth in enumerate(booths)
        ]
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                await eventually(lambda: ready(client), bool, within=120, what="API up")
                for hold in holds[:WARM]:
                    answer = await client.post(
                        hold.path,
                        json=hold.body,
                        headers={"Authorization": token, "Connection": "close"},
                    )
                    assert answer.status_code == 200, answer.text
            used = WARM
            for rate in RATES:
                total = int(rate * SECONDS)
                batch = holds[used : used + total]
                used += total
                await asyncio.sleep(1)
                before = cpu.snapshot(server.pid)["service"]
                threads_before = threads(server.pid)
                perf = None
                if os.environ.get("AB_PERF"):  # native profile: the kernel's and C's share
                    out = f"{os.environ['AB_PERF']}-{SIDE}-{rate}.data"
                    perf = subprocess.Popen(
                        ["perf", "record", "-q", "-F", "499", "-o", out, "-p", str(server.pid)],
                        stderr=subprocess.DEVNULL,
                    )
                elif os.environ.get("AB_STRACE"):  # system calls by kind, counted
                    out = f"{os.environ['AB_STRACE']}-{SIDE}-{rate}.txt"
                    perf = subprocess.Popen(
                        ["strace", "-c", "-f", "-o", out, "-p", str(server.pid)],
                        stderr=subprocess.DEVNULL,
                    )
                with profiled(server.pid, f"serve-{SIDE}-{rate}", SECONDS):
                    result = await open_loop(
                        f"http://127.0.0.1:{port}",
                        {"Authorization": token},
                        rate,
                        SECONDS,
                        batch,
                    )
                spent = cpu.snapshot(server.pid)["service"] - before
                by_thread = {
                    name: round((cpu_s - threads_before.get(name, 0.0)) * 1e6 / total)
                    for name, cpu_s in threads(server.pid).items()
                }
                if perf is not None:
                    perf.send_signal(signal.SIGINT)
                    perf.wait()
                summary = result.summary()
                print(
                    json.dumps(
                        {
                            "side": SIDE,
                            "rate": rate,
                            "workers": WORKERS,
                            "statuses": summary["statuses"],
                            "api_cpu_us_per_hold": round(spent * 1e6 / total),
                            "p50_ms": summary["p50_ms"],
                            "p99_ms": summary["p99_ms"],
                            "load": os.getloadavg()[0],
                            "threads_us_per_hold": by_thread,
                        }
                    ),
                    flush=True,
                )
        finally:
            stop(server)


if __name__ == "__main__":
    asyncio.run(main())
