"""`make bench`: every hot path beside its raw baseline, on the same broker and database.

A report, not a test: it never fails on a missed target; it says which were missed.
Writes bench/results/latest.json and bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import importlib
import json
import os
import platform
import subprocess
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from .common import SCRATCH, Figure, say

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    def version(cmd: list[str]) -> str:
        try:
            return (
                subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
            )
        except (OSError, IndexError):
            return "unknown"

    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgresql": version(["psql", "--version"]),
        "kafka": "4.1.1 (deploy/local/kafka/pom.xml)",
        "packages": {
            p: metadata.version(p) for p in ("faststream", "aiokafka", "asyncpg", "pydantic")
        },
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "section_seconds": dict(SECTION_SECONDS),
    }


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes else f"{rest}s"


SECTION_SECONDS: dict[str, float] = {}
"""How long each section took in this run: what a change to one costs the whole bench."""


def markdown(info: dict[str, Any], figures: list[Figure]) -> str:
    took = info.get("section_seconds") or {}
    lines = [
        "# Fairline benchmarks",
        "",
        f"{info['cores']} cores, Python {info['python']}, {info['postgresql']}, "
        f"Kafka {info['kafka']}, "
        + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
        + f"; {info['when']}",
        "",
        *(
            [
                "Sections took "
                + ", ".join(f"{name} {_duration(s)}" for name, s in took.items())
                + f"; {_duration(sum(took.values()))} in all.",
                "",
            ]
            if took
            else []
        ),
        "| section | figure | value | baseline | ratio | target | met |",
        "| --- | --- | ---: | ---: | ---: | --- | --- |",
    ]
    for f in figures:
        baseline = ""
        if f.baseline is not None:  # a small one (seconds, milliseconds) keeps its decimals
            digits = 2 if abs(f.baseline) < 10 else 0
            baseline = f"{f.baseline:,.{digits}f} ({f.baseline_name})"
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
        met = "" if f.met is None else ("yes" if f.met else "**no**")
        lines.append(
            f"| {f.section} | {f.name} | {f.value:,.1f} {f.unit} | {baseline} | {ratio} "
            f"| {f.target or ''} | {met} |"
        )
        for key, value in f.notes.items():
            shown = f"{value:,.1f}" if isinstance(value, float) else str(value)
            lines.append(f"| | ↳ {key} | {shown} | | | | |")
    return "\n".join(lines) + "\n"


async def main(quick: bool, only: set[str]) -> list[Figure]:
    from fairline_events.kafka import delete_topics
    from fairline_stack.resolve import infrastructure

    from . import core

    infra = await infrastructure()
    scale = 0.1 if quick else 1.0
    figures: list[Figure] = []
    sections: dict[str, Callable[[], Awaitable[list[Figure]]]] = {
        "append": lambda: core.bench_append(
            infra.database_url, int(5000 * scale), int(300 * scale), 100
        ),
        "relay": lambda: median_of(
            3,
            lambda: core.bench_relay_and_projection(
                infra.database_url, infra.kafka, int(100_000 * scale)
            ),
        ),
        "rebuild": lambda: core.bench_rebuild(
            infra.database_url, infra.kafka, int(1_000_000 * scale)
        ),
    }
    try:
        commands = importlib.import_module("bench.commands")
        bench_commands: Any = commands.bench_commands
        sections["commands"] = lambda: bench_commands(infra, scale)
    except ImportError as exc:
        say(f"commands: skipped ({exc}); needs the booths service")
    try:
        bench_tickets: Any = importlib.import_module("bench.tickets").bench_tickets
        sections["tickets"] = lambda: bench_tickets(infra, scale)
    except ImportError as exc:
        say(f"tickets: skipped ({exc}); needs the tickets service")
    try:
        forums: Any = importlib.import_module("bench.forums").bench_forums
        sections["forums"] = lambda: forums(infra, scale)
    except ImportError as exc:
        say(f"forums: skipped ({exc}); needs the forums service")
    online: Any = importlib.import_module("bench.online").bench_online
    sections["online"] = lambda: online(infra, scale)
    try:
        sponsorship: Any = importlib.import_module("bench.sponsorship").bench_sponsorship
        sections["sponsorship"] = lambda: sponsorship(infra, scale)
    except ImportError as exc:
        say(f"sponsorship: skipped ({exc}); needs the sponsorship service")
    for name, run in sections.items():
        if only and name not in only:
            continue
        say(f"== {name}")
        start = time.monotonic()
        try:
            figures += await run()
        except Exception as exc:  # a report: one broken section must not lose the others
            say(f"{name}: failed: {exc!r}")
            figures.append(
                Figure(name, "section failed", float("nan"), "", notes={"error": repr(exc)})
            )
        # each section's scratch topics (all named after this run's SCRATCH) go with it
        gone = await delete_topics(infra.kafka, SCRATCH)
        if gone:
            say(f"{name}: deleted its {len(gone)} scratch topics")
        SECTION_SECONDS[name] = round(time.monotonic() - start, 1)
        say(f"== {name} took {_duration(SECTION_SECONDS[name])}")
        # after every section, so a long run keeps what it measured
        write_results(figures, _record(quick, only))
    return figures


async def median_of(runs: int, measure: Callable[[], Awaitable[list[Figure]]]) -> list[Figure]:
    """Run a short section several times and keep, figure by figure, the median run with its
    own baseline: on a shared two-core machine one run of a few seconds swings by a third."""
    results = []
    for n in range(runs):
        say(f"run {n + 1} of {runs}")
        results.append(await measure())
    chosen = []
    for same in zip(*results, strict=True):
        ranked = sorted(same, key=lambda f: f.value)
        median = ranked[len(ranked) // 2]
        runs_seen = [round(f.value, 1) for f in same]
        chosen.append(dataclasses.replace(median, notes={**median.notes, "runs": runs_seen}))
    return chosen


def _record(quick: bool, only: set[str]) -> str:
    """`latest` is the full run's record only: a partial or quick run never overwrites it."""
    if not only and not quick:
        return "latest"
    return "-".join(["partial", *sorted(only), *(["quick"] if quick else [])])


def write_results(figures: list[Figure], record: str = "latest") -> str:
    info = machine()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{record}.json").write_text(
        json.dumps({"machine": info, "figures": [f.as_dict() for f in figures]}, indent=2)
    )
    table = markdown(info, figures)
    (RESULTS / f"{record}.md").write_text(table)
    return table


def cli() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--quick", action="store_true", help="a tenth of the volumes")
    parser.add_argument("--only", action="append", default=[], help="run one section")
    args = parser.parse_args()
    figures = asyncio.run(main(args.quick, set(args.only)))
    print(write_results(figures, _record(args.quick, set(args.only))))
    missed = [f"{f.section}: {f.name}" for f in figures if f.met is False]
    if missed:
        say("targets missed: " + "; ".join(missed))


if __name__ == "__main__":
    cli()
