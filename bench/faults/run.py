"""`make faults`: steady bookings over HTTP while PostgreSQL, the worker and a broker die.

Each fault is a phase: bookings flow, the fault is injected, healed the way an orchestrator
would (the killed process is started again; nothing else is touched), bookings keep flowing,
then the load stops and the checker (checker.py) reads the store, the topics and every read
model. A report says what was injected, sent, acknowledged, lost and duplicated, which
errors the clients saw, and how long recovery took. The short version runs in `make test`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from hotels.service import definition

from ..common import say
from . import checker
from .load import Load, Outcome, statuses
from .rig import Rig

RESULTS = Path(__file__).resolve().parents[1] / "results"
Step = Callable[[], Awaitable[str]]


@dataclass
class Plan:
    rate: float
    warm_s: float
    down_s: float
    after_s: float
    postgres_kills: int
    worker_kills: int
    broker_kills: int
    rebalances: int
    read_models_every_fault: bool = True


# In `make test`: one fault of each kind; the read models are rebuilt and compared once, at
# the end, which still covers every fault (the comparison spans the whole run).
SHORT = Plan(
    rate=25,
    warm_s=2,
    down_s=2,
    after_s=3,
    postgres_kills=1,
    worker_kills=1,
    broker_kills=1,
    rebalances=1,
    read_models_every_fault=False,
)
FULL = Plan(
    rate=40,
    warm_s=4,
    down_s=4,
    after_s=6,
    postgres_kills=2,
    worker_kills=3,
    broker_kills=2,
    rebalances=2,
)


@dataclass
class FaultRecord:
    name: str
    what: str = ""
    injected: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    acknowledged: int = 0
    client_errors_for_s: float | None = None
    clients_recovered_after_heal_s: float | None = None
    pipeline_caught_up_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    check: dict[str, Any] = field(default_factory=dict)


class FaultRun:
    def __init__(self, plan: Plan, log_dir: Path) -> None:
        self.plan = plan
        self.run_id = f"faults{uuid.uuid4().hex[:6]}"
        self.rig = Rig(self.run_id, log_dir)
        self.load: Load | None = None
        self.records: list[FaultRecord] = []
        self.skipped: list[dict[str, str]] = []

    async def phase(self, name: str, inject: Step, heal: Step, down_s: float) -> FaultRecord:
        """Load, fault, heal, load, stop, catch up, check."""
        assert self.load is not None
        record = FaultRecord(name)
        say(f"faults: {name}…")
        stop = asyncio.Event()
        started = time.monotonic()
        load = asyncio.create_task(self.load.run(stop))
        try:
            await asyncio.sleep(self.plan.warm_s)
            injected_at = time.monotonic()
            record.what = await inject()
            record.injected = 1
            await asyncio.sleep(down_s)
            healed_at = time.monotonic()
            record.extra["healed"] = await heal()
            await self._until_success_after(healed_at, within=90)
            await asyncio.sleep(self.plan.after_s)
        finally:
            stop.set()
            await load
        ended = time.monotonic()
        record.pipeline_caught_up_s = round(await checker.wait_converged(self.rig), 2)
        outcomes = self.load.between(started, ended)
        self._summarise(record, outcomes, injected_at, healed_at)
        last = self.plan.read_models_every_fault or name == "final"
        result = await checker.check(self.rig, self.load.outcomes, read_models=last)
        record.check = result.summary()
        say(
            f"faults: {name}: {record.sent} sent, {record.acknowledged} acknowledged,"
            f" {record.statuses}; caught up {record.pipeline_caught_up_s}s after the load;"
            f" check {'ok' if result.ok else 'FAILED'} ({result.seconds:.1f}s)"
        )
        self.records.append(record)
        return record

    async def _until_success_after(self, moment: float, within: float) -> None:
        assert self.load is not None
        deadline = time.monotonic() + within
        while not any(o.status == "201" and o.sent_at >= moment for o in self.load.outcomes):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no booking succeeded within {within}s of the heal")
            await asyncio.sleep(0.1)

    @staticmethod
    def _summarise(
        record: FaultRecord, outcomes: list[Outcome], injected_at: float, healed_at: float
    ) -> None:
        record.sent = len(outcomes)
        record.acknowledged = sum(o.booking_id is not None for o in outcomes)
        record.statuses = statuses(outcomes)
        errors = [o for o in outcomes if o.status != "201"]
        if errors:
            record.client_errors_for_s = round(
                max(o.sent_at + o.took for o in errors) - min(o.sent_at for o in errors), 2
            )
            ok_after = [
                o.sent_at + o.took - healed_at
                for o in outcomes
                if o.status == "201" and o.sent_at >= healed_at
            ]
            record.clients_recovered_after_heal_s = round(max(0.0, min(ok_after)), 2)
        else:
            record.client_errors_for_s = 0.0
            record.clients_recovered_after_heal_s = 0.0
        unavailable = [o for o in errors if o.status == "503"]
        record.extra["503_without_retry_after"] = sum(o.retry_after is None for o in unavailable)
        record.extra["503_codes"] = dict(Counter(o.error_code or "?" for o in unavailable))
        record.extra["slowest_error_s"] = round(max((o.took for o in errors), default=0.0), 3)
        record.extra["injected_after_s"] = round(injected_at - min(o.sent_at for o in outcomes), 2)

    # -- the faults -----------------------------------------------------------------

    async def postgres_crash(self, n: int) -> FaultRecord:
        async def inject() -> str:
            await asyncio.to_thread(self.rig.crash_postgres)
            return "SIGKILL to the postmaster and every backend"

        async def heal() -> str:
            started = time.monotonic()
            await asyncio.to_thread(self.rig.restart_postgres)
            return f"restarted, answering after {time.monotonic() - started:.1f}s"

        return await self.phase(f"postgres-kill-{n}", inject, heal, self.plan.down_s)

    async def worker_crash(self, n: int) -> FaultRecord:
        async def inject() -> str:
            worker = self.rig.workers[0]
            self.rig.kill(worker)
            self.rig.workers.remove(worker)
            return f"SIGKILL to the `work` process (pid {worker.pid}): relay, projections, jobs"

        async def heal() -> str:
            worker = self.rig.start_worker()
            self.rig.workers.remove(worker)
            self.rig.workers.insert(0, worker)
            return f"`work` started again (pid {worker.pid})"

        return await self.phase(f"worker-kill-{n}", inject, heal, self.plan.down_s)

    async def broker_crash(self, n: int) -> FaultRecord:
        topic = f"{self.rig.topic_prefix}{definition.events_topic}"
        victim: list[int] = []

        async def inject() -> str:
            leaders = await self._leaders(topic)
            node = leaders.get(n % max(1, len(leaders)), self.rig.cluster.nodes[0].node_id)
            victim.append(node)
            await asyncio.to_thread(self.rig.cluster.node(node).kill)
            return f"SIGKILL to broker {node}, leader of {topic} partition {n % 3}"

        async def heal() -> str:
            node = self.rig.cluster.node(victim[0])
            started = time.monotonic()
            await asyncio.to_thread(node.start)
            await node.wait_ready()
            ready = time.monotonic() - started
            in_sync = await self._until_in_sync(topic, within=120)
            return (
                f"broker {node.node_id} back after {ready:.1f}s,"
                f" all replicas in sync {in_sync:.1f}s later"
            )

        return await self.phase(f"broker-kill-{n}", inject, heal, self.plan.down_s * 2)

    async def rebalance(self, n: int) -> FaultRecord:
        second: list[Any] = []

        group = f"{self.rig.topic_prefix}{definition.name}.projection.occupancy"

        async def inject() -> str:
            second.append(self.rig.start_worker("--no-relay"))
            started = time.monotonic()
            while (members := await self._members(group)) < 2:
                if time.monotonic() - started > 60:
                    return f"a second worker (pid {second[0].pid}) started; it never joined"
                await asyncio.sleep(0.5)
            return (
                f"a second worker (pid {second[0].pid}) joined: {members} members in"
                f" {group} after {time.monotonic() - started:.1f}s"
            )

        async def heal() -> str:
            self.rig.kill(second[0])
            self.rig.workers.remove(second[0])
            return (
                "the second worker SIGKILLed mid-load: its partitions go back to the first"
                " after the group's session timeout"
            )

        # Both workers share the partitions for a while before one dies.
        return await self.phase(f"rebalance-{n}", inject, heal, self.plan.down_s)

    async def _members(self, group: str) -> int:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.rig.cluster.bootstrap_servers)
        try:
            await admin.start()
            described = await admin.describe_consumer_groups([group])
            # DescribeGroups: (error, group, state, protocol type, protocol, members, ...)
            return max((len(g[5]) for r in described for g in r.groups), default=0)
        except Exception:
            return 0
        finally:
            await admin.close()

    def netem(self) -> None:
        reason = netem_unavailable()
        if reason:
            say(f"faults: netem delay/loss skipped: {reason}")
            self.skipped.append({"fault": "netem delay and loss to the brokers", "reason": reason})
        else:  # pragma: no cover - needs a kernel with sch_netem
            self.skipped.append(
                {
                    "fault": "netem delay and loss to the brokers",
                    "reason": "tc netem works here, but the brokers advertise 127.0.0.1, which"
                    " a namespaced service cannot reach; not run (see README)",
                }
            )

    async def _leaders(self, topic: str) -> dict[int, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.rig.cluster.bootstrap_servers)
        await admin.start()
        try:
            described = await admin.describe_topics([topic])
        finally:
            await admin.close()
        return {p["partition"]: p["leader"] for t in described for p in t["partitions"]}

    async def _until_in_sync(self, topic: str, within: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < within:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.rig.cluster.bootstrap_servers)
            try:
                await admin.start()
                described = await admin.describe_topics([topic])
                if all(len(p["isr"]) == 3 for t in described for p in t["partitions"]):
                    return time.monotonic() - started
            except Exception:
                pass
            finally:
                await admin.close()
            await asyncio.sleep(0.5)
        raise TimeoutError(f"{topic} did not get all three replicas in sync within {within}s")

    # -- the run ------------------------------------------------------------------

    async def run(self) -> dict[str, Any]:
        started = time.monotonic()
        await self.rig.start()
        try:
            self.load = Load(self.rig.base_url, self.rig.token("hotel_desk"), rate=self.plan.rate)
            await self.load.prepare(self.rig.token("ops"))
            for n in range(1, self.plan.postgres_kills + 1):
                await self.postgres_crash(n)
            for n in range(1, self.plan.worker_kills + 1):
                await self.worker_crash(n)
            for n in range(1, self.plan.broker_kills + 1):
                await self.broker_crash(n)
            for n in range(1, self.plan.rebalances + 1):
                await self.rebalance(n)
            self.netem()
            if not self.plan.read_models_every_fault:
                final = await checker.check(self.rig, self.load.outcomes)
                self.records[-1].check = final.summary()
        finally:
            await self.rig.stop()
        return self.report(time.monotonic() - started)

    def report(self, seconds: float) -> dict[str, Any]:
        assert self.load is not None
        outcomes = self.load.outcomes
        final = self.records[-1].check if self.records else {}
        by_status = statuses(outcomes)
        return {
            "run": self.run_id,
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(seconds, 1),
            "plan": self.plan.__dict__,
            "ok": bool(self.records) and all(r.check.get("ok") for r in self.records),
            "totals": {
                "faults_injected": sum(r.injected for r in self.records),
                "commands_sent": len(outcomes),
                "acknowledged": sum(o.booking_id is not None for o in outcomes),
                "lost": final.get("lost"),
                "duplicated_effects": final.get("duplicated"),
                "effects_without_ack": final.get("effects_without_ack"),
                "client_errors_by_status": {k: v for k, v in by_status.items() if k != "201"},
                "events_in_store": final.get("events_in_store"),
                "redelivered_on_topic": final.get("redelivered_on_topic"),
                "dead_letters": final.get("dead_letters"),
                "manual_interventions": 0,
            },
            "faults": [r.__dict__ for r in self.records],
            "skipped": self.skipped,
        }


def netem_unavailable() -> str | None:
    """Why delay and loss cannot be injected here, or None when they can."""
    ip, tc = shutil.which("ip"), shutil.which("tc")
    if not ip or not tc:
        return "`ip` or `tc` is not installed (apt-get install iproute2)"
    probe = f"flnetem{uuid.uuid4().hex[:4]}"
    try:
        added = subprocess.run(
            [ip, "link", "add", probe, "type", "veth", "peer", "name", f"{probe}p"],
            capture_output=True,
            text=True,
            check=False,
        )
        if added.returncode != 0:
            return f"cannot create a veth pair: {added.stderr.strip()} (needs CAP_NET_ADMIN)"
        netem = subprocess.run(
            [tc, "qdisc", "add", "dev", probe, "root", "netem", "delay", "10ms"],
            capture_output=True,
            text=True,
            check=False,
        )
        if netem.returncode != 0:
            return (
                f"`tc qdisc add … netem` says {netem.stderr.strip()!r}: the kernel lacks sch_netem"
            )
        return None
    finally:
        subprocess.run([ip, "link", "del", probe], capture_output=True, check=False)


def markdown(report: dict[str, Any]) -> str:
    t = report["totals"]
    lines = [
        "# Fairline fault run",
        "",
        f"Run {report['run']} on {report['when']}, {report['seconds']} s;"
        f" verdict: **{'all checks passed' if report['ok'] else 'CHECKS FAILED'}**.",
        "",
        f"- faults injected: {t['faults_injected']}",
        f"- commands sent: {t['commands_sent']}, acknowledged (201): {t['acknowledged']}",
        f"- lost: {t['lost']}, duplicated effects: {t['duplicated_effects']}",
        f"- committed without an acknowledgement (client saw an error): {t['effects_without_ack']}",
        f"- client-visible errors by status: {t['client_errors_by_status'] or 'none'}",
        f"- events in the store: {t['events_in_store']}, re-sent on the topic:"
        f" {t['redelivered_on_topic']}, dead letters: {t['dead_letters']}",
        f"- manual interventions: {t['manual_interventions']}",
        "",
        "| fault | what | sent | 201 | errors | errors for (s) | clients back after heal (s)"
        " | pipeline caught up (s) | check |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- |",
    ]
    for f in report["faults"]:
        errors = {k: v for k, v in f["statuses"].items() if k != "201"} or "-"
        lines.append(
            f"| {f['name']} | {f['what']}; {f['extra'].get('healed', '')} | {f['sent']}"
            f" | {f['acknowledged']} | {errors} | {f['client_errors_for_s']}"
            f" | {f['clients_recovered_after_heal_s']} | {f['pipeline_caught_up_s']}"
            f" | {'ok' if f['check'].get('ok') else 'FAILED ' + json.dumps(f['check'])} |"
        )
    for s in report["skipped"]:
        lines += ["", f"Skipped: {s['fault']}: {s['reason']}."]
    return "\n".join(lines) + "\n"


async def run(plan: Plan, log_dir: Path) -> dict[str, Any]:
    return await FaultRun(plan, log_dir).run()


def write_report(report: dict[str, Any], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults-latest.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "faults-latest.md").write_text(markdown(report))
    say(f"faults: report in {out}/faults-latest.{{json,md}}")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__)
    parser.add_argument("--short", action="store_true", help="one fault of each kind")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--logs", type=Path, default=Path(".local/faults/logs"))
    args = parser.parse_args()
    report = asyncio.run(run(SHORT if args.short else FULL, args.logs))
    write_report(report, args.out)
    say(markdown(report))
    return 0 if report["ok"] else 1
