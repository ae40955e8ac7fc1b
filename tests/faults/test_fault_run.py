"""The short `make faults` run: one SIGKILL of PostgreSQL, of the worker and of a broker of
three, and a consumer-group rebalance, under steady bookings over HTTP; nothing may be lost
or duplicated, and clients only ever see 201 or 503 with Retry-After."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.faults.run import SHORT, markdown, run, write_report

pytestmark = [pytest.mark.infra, pytest.mark.timeout(900)]


async def test_nothing_is_lost_or_duplicated_when_postgres_a_worker_and_a_broker_die(
    tmp_path: Path,
) -> None:
    report = await run(SHORT, tmp_path / "logs")
    write_report(report, tmp_path)
    print("\n" + markdown(report))
    totals = report["totals"]
    faults = {f["name"]: f for f in report["faults"]}

    assert report["ok"], markdown(report)
    assert totals["faults_injected"] == 4
    assert totals["lost"] == 0 and totals["duplicated_effects"] == 0
    assert totals["dead_letters"] == 0
    assert totals["acknowledged"] > 0
    # Clients saw only successes and 503s, each with Retry-After: no 500, no dropped connection.
    assert set(totals["client_errors_by_status"]) <= {"503"}, totals
    errors = sum(totals["client_errors_by_status"].values())
    assert totals["effects_without_ack"] <= errors
    for fault in faults.values():
        assert fault["extra"]["503_without_retry_after"] == 0, fault
        assert set(fault["extra"]["503_codes"]) <= {"unavailable"}, fault
        assert fault["pipeline_caught_up_s"] is not None
    # The database outage reached the clients, briefly; the others did not reach them at all.
    database = faults["postgres-kill-1"]
    assert database["statuses"].get("503", 0) > 0, database
    assert database["clients_recovered_after_heal_s"] < 10, database
    for name in ("worker-kill-1", "broker-kill-1", "rebalance-1"):
        assert faults[name]["statuses"].keys() == {"201"}, faults[name]
    assert all(s["reason"] for s in report["skipped"])
