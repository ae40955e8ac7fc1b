"""CPU time by part of the system, from /proc: where a command's cost goes on a shared box.

A hold costs CPU in the service (HTTP, decision, relay, projections), in PostgreSQL, in the
Kafka broker and in the load generator, all on the same cores. Dividing each part's CPU
seconds by the requests answered gives a budget that explains the rate the box can carry.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import defaultdict
from pathlib import Path
from typing import NamedTuple

_TICKS = os.sysconf("SC_CLK_TCK")


class Stat(NamedTuple):
    """What the bench reads of a process (or thread) in /proc: its name, its parent, its
    CPU seconds so far, and those of its children that have ended (reaped)."""

    name: str
    parent: int
    seconds: float
    reaped_seconds: float


def stat(path: Path | str) -> Stat:
    """`/proc/<pid>/stat` (or a thread's `/proc/<pid>/task/<tid>/stat`) read once."""
    text = Path(path).read_text()
    # The name is in parentheses and may hold spaces; the fields after it are fixed.
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    user, system, children_user, children_system = (int(f) for f in fields[11:15])
    return Stat(
        name, int(fields[1]), (user + system) / _TICKS, (children_user + children_system) / _TICKS
    )


def seconds(pid: int) -> float:
    """A process's CPU seconds so far."""
    return stat(f"/proc/{pid}/stat").seconds


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid: (command name, parent pid, CPU seconds so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            process = stat(entry / "stat")
        except OSError:
            continue
        found[int(entry.name)] = (process.name, process.parent, process.seconds)
    return found


def _tree(processes: dict[int, tuple[str, int, float]], *roots: int) -> set[int]:
    """The roots and all their descendants."""
    tree = set(roots)
    changed = True
    while changed:
        changed = False
        for pid, (_, parent, _) in processes.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    return tree


def snapshot(service_pid: int, *others: int) -> dict[str, float]:
    """CPU seconds so far: the service's process trees (its API processes and its worker),
    PostgreSQL, Kafka, vegeta, the bench."""
    processes = _processes()
    tree = _tree(processes, service_pid, *others)
    seconds: dict[str, float] = defaultdict(float)
    for pid, (name, _, cpu) in processes.items():
        if pid in tree:
            seconds["service"] += cpu
        elif name.startswith("postgres"):
            seconds["postgresql"] += cpu
        elif name == "java":
            seconds["kafka"] += cpu
        elif pid == os.getpid():
            seconds["bench"] += cpu
    # vegeta runs and is reaped between two snapshots: its time is in the children's usage.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds["load generator"] = children.ru_utime + children.ru_stime
    return seconds


def per_request_ms(
    before: dict[str, float], after: dict[str, float], requests: int
) -> dict[str, float]:
    """Each part's CPU milliseconds per request between two snapshots."""
    if not requests:
        return {}
    spent = {part: after[part] - before.get(part, 0.0) for part in after}
    result = {part: round(s * 1000 / requests, 2) for part, s in sorted(spent.items()) if s > 0}
    result["total"] = round(sum(result.values()), 2)
    return result


Usage = dict[int, tuple[str, float]]
"""pid: (part, CPU seconds so far)."""


def parts(trees: dict[str, int]) -> Usage:
    """Each process of the named trees (`{"API": pid, "worker": pid}`), of PostgreSQL and of
    Kafka, with its part and CPU seconds so far."""
    processes = _processes()
    owner = {pid: name for name, root in trees.items() for pid in _tree(processes, root)}
    usage: Usage = {}
    for pid, (name, _, cpu) in processes.items():
        if pid in owner:
            usage[pid] = (owner[pid], cpu)
        elif name.startswith("postgres"):
            usage[pid] = ("postgresql", cpu)
        elif name == "java":
            usage[pid] = ("kafka", cpu)
    return usage


def per_second_ms(before: Usage, after: Usage, seconds: float) -> dict[str, float]:
    """Each part's CPU milliseconds per wall-clock second between two snapshots, and their
    total: a fixed cost, paid whether requests come or not. Counted process by process: a
    PostgreSQL backend that another client closed meanwhile takes its past CPU with it, and
    one opened meanwhile counts from its start."""
    spent = dict.fromkeys(sorted({part for part, _ in [*before.values(), *after.values()]}), 0.0)
    for pid, (part, cpu) in after.items():
        earlier = before.get(pid)
        spent[part] += cpu - (earlier[1] if earlier and earlier[0] == part else 0.0)
    burn = {part: round(s * 1000 / seconds, 1) for part, s in spent.items()}
    burn["total"] = round(sum(burn.values()), 1)
    return burn


async def idle_burn(trees: dict[str, int], seconds: float = 10.0) -> dict[str, float]:
    """CPU milliseconds per second that each part spends with no load for `seconds`: the
    service's polling, timers and heartbeats, PostgreSQL's and Kafka's background work (and,
    on a shared stack, whatever else uses them)."""
    before, start = parts(trees), time.monotonic()
    await asyncio.sleep(seconds)
    return per_second_ms(before, parts(trees), time.monotonic() - start)
