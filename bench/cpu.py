"""CPU time by part of the system, from /proc: where a command's cost goes on a shared box.

A hold costs CPU in the service (HTTP, decision, relay, projections), in PostgreSQL, in the
Kafka broker and in the load generator, all on the same cores. Dividing each part's CPU
seconds by the requests answered gives a budget that explains the rate the box can carry.
"""

from __future__ import annotations

import os
import resource
from collections import defaultdict
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _processes() -> dict[int, tuple[str, int, float]]:
    """pid: (command name, parent pid, CPU seconds so far)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The name is in parentheses and may hold spaces; the fields after it are fixed.
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        parent, user, system = int(fields[1]), int(fields[11]), int(fields[12])
        found[int(entry.name)] = (name, parent, (user + system) / _TICKS)
    return found


def snapshot(service_pid: int, *others: int) -> dict[str, float]:
    """CPU seconds so far: the service's process trees (its API processes and its worker),
    PostgreSQL, Kafka, vegeta, the bench."""
    processes = _processes()
    tree = {service_pid, *others}
    changed = True
    while changed:
        changed = False
        for pid, (_, parent, _) in processes.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
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
