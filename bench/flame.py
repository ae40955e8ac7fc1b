"""A flame summary of a BENCH_PROFILE recording: where the server's samples went.

`python -m bench.flame <dir>/holds-500-api1.folded` prints the functions that take the most
samples on their own (self) and with what they call (inclusive), as shares of all samples.
Idle samples (the event loop waiting in epoll/select) are counted apart, so the shares are of
the time the process was busy.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from pathlib import Path

_IDLE = re.compile(r"\b(select|poll|epoll_wait|_run_once \(asyncio/base_events.py:\d+\)$)")


def _frame(frame: str) -> str:
    """`name (path/to/module.py:123)` without the line, and only the last two path parts."""
    match = re.match(r"(.*) \((.*?):\d+\)$", frame)
    if not match:
        return frame
    name, path = match.groups()
    return f"{name} ({'/'.join(Path(path).parts[-2:])})"


def summary(folded: Path, top: int = 15) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    busy = idle = 0
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        n = int(count)
        if frames and _IDLE.search(frames[-1]):
            idle += n
            continue
        busy += n
        names = [_frame(f) for f in frames]
        if names:
            own[names[-1]] += n
        for name in set(names):
            inclusive[name] += n
    lines = [f"{folded.name}: {busy} busy samples, {idle} idle"]
    for title, counts in (("self", own), ("inclusive", inclusive)):
        lines.append(f"-- top by {title}")
        for name, n in counts.most_common(top):
            lines.append(f"{100 * n / max(busy, 1):5.1f}%  {name}")
    return "\n".join(lines)


@contextlib.contextmanager
def profiled(pid: int, name: str, seconds: float | None = None) -> Iterator[None]:
    """With BENCH_PROFILE=<dir>, py-spy samples the server while the load runs, into
    <dir>/<name>.folded (collapsed stacks, for flamegraph.pl or speedscope)."""
    with sampling({name: pid}, seconds):
        yield


@contextlib.contextmanager
def sampling(
    profiles: Mapping[str, int], seconds: float | None, *, subprocesses: bool = True
) -> Iterator[None]:
    """With BENCH_PROFILE=<dir>, py-spy samples each process (name -> pid, with its children
    unless `subprocesses` is false) into <dir>/<name>.folded, for `seconds`, or, when the
    block's length is not known ahead, until the block ends (interrupted as on Ctrl-C, py-spy
    then writes what it sampled)."""
    folder = os.environ.get("BENCH_PROFILE")
    if not folder:
        yield
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    spy = Path(sys.executable).parent / "py-spy"
    recorders = []
    for name, pid in profiles.items():
        command = [str(spy), "record", "-f", "raw", "-r", "200", "-p", str(pid)]
        if seconds is not None:
            command += ["-d", str(max(1, round(seconds)))]
        if subprocesses:
            command.append("--subprocesses")
        out = Path(folder) / f"{name}.folded"
        recorders.append(
            subprocess.Popen(
                [*command, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    time.sleep(0.3)  # py-spy attaches before the load starts, so a short burst is sampled too
    try:
        yield
    finally:
        for recorder in recorders:
            if seconds is None:
                recorder.send_signal(signal.SIGINT)
            recorder.wait(60)
        print(f"profiles of {', '.join(profiles)} in {folder}", flush=True)


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flame")
    parser.add_argument("folded", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    for path in args.folded:
        print(summary(path, args.top))


if __name__ == "__main__":
    cli()
