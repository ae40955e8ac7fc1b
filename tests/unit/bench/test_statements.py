"""Statements per request from two pg_stat_statements snapshots: only what ran between them,
the bench's own probes and nested statements out of the totals, never a reset."""

from __future__ import annotations

from bench.cpu import per_second_ms
from bench.statements import STATEMENT_MARK, Snapshot, Statement, per_request

HOLD = "UPDATE booths SET status = $1 WHERE booth_code = $2"
APPEND = "SELECT append_events($1, $2)"
INSIDE = "INSERT INTO events SELECT * FROM unnest($1)"
PROBE = f"{STATEMENT_MARK} SELECT count(*) FROM public.events"


def snapshot(
    entries: dict[tuple[int, bool], tuple[str, int, float]], evictions: int = 0
) -> Snapshot:
    return Snapshot(
        {key: Statement(q, key[1], calls, ms) for key, (q, calls, ms) in entries.items()},
        evictions,
    )


def test_only_the_calls_and_time_between_the_snapshots_count_per_request() -> None:
    before = snapshot({(1, True): (HOLD, 5000, 900.0), (2, True): (APPEND, 10, 5.0)})
    after = snapshot({(1, True): (HOLD, 6000, 1100.0), (2, True): (APPEND, 1010, 305.0)})
    figures = per_request(before, after, 1000)
    assert figures["calls"] == 2.0
    assert figures["server_ms"] == 0.5  # (200 + 300) ms over 1,000 requests
    assert figures["top_5_by_time"] == [
        f"0.300 ms, 1.00 calls: {APPEND}",
        f"0.200 ms, 1.00 calls: {HOLD}",
    ]
    assert "caveat" not in figures


def test_a_statement_first_seen_during_the_run_counts_from_zero() -> None:
    after = snapshot({(1, True): (HOLD, 500, 50.0)})
    assert per_request(snapshot({}), after, 250)["calls"] == 2.0


def test_nested_statements_are_listed_but_not_added_to_the_totals() -> None:
    before = snapshot({})
    after = snapshot({(2, True): (APPEND, 100, 80.0), (3, False): (INSIDE, 100, 60.0)})
    figures = per_request(before, after, 100)
    assert figures["calls"] == 1.0
    assert figures["server_ms"] == 0.8  # the function's time already holds its insert's
    assert figures["top_5_by_time"][1] == f"0.600 ms, 1.00 calls (nested): {INSIDE}"


def test_the_bench_own_probes_and_idle_statements_are_left_out() -> None:
    before = snapshot({(1, True): (HOLD, 10, 1.0), (9, True): (PROBE, 1, 5.0)})
    after = snapshot({(1, True): (HOLD, 10, 1.0), (9, True): (PROBE, 40, 200.0)})
    figures = per_request(before, after, 100)
    assert figures == {"calls": 0.0, "server_ms": 0.0, "top_5_by_time": []}


def test_the_top_statements_are_the_five_costliest_cut_to_one_line() -> None:
    long = "SELECT " + ",\n       ".join(f"column_{n}" for n in range(30)) + " FROM t"
    entries = {(n, True): (f"SELECT {n}", 10, float(n)) for n in range(1, 8)}
    entries[(99, True)] = (long, 10, 100.0)
    top = per_request(snapshot({}), snapshot(entries), 10)["top_5_by_time"]
    assert len(top) == 5
    assert top[0].startswith("10.000 ms, 1.00 calls: SELECT column_0, column_1,")
    assert "\n" not in top[0] and top[0].endswith("…") and len(top[0]) < 130
    assert top[1:] == [f"{n / 10:.3f} ms, 1.00 calls: SELECT {n}" for n in (7, 6, 5, 4)]


def test_evictions_during_the_run_are_said() -> None:
    before = snapshot({(1, True): (HOLD, 1, 1.0)}, evictions=3)
    after = snapshot({(1, True): (HOLD, 2, 2.0)}, evictions=5)
    assert "2 pg_stat_statements eviction(s)" in per_request(before, after, 1)["caveat"]


def test_idle_burn_counts_process_by_process() -> None:
    # a PostgreSQL backend closed by someone else meanwhile must not make the server's
    # CPU go backwards; one opened meanwhile counts from its start
    before = {10: ("worker", 5.0), 20: ("postgresql", 100.0), 21: ("postgresql", 2.0)}
    after = {10: ("worker", 5.5), 21: ("postgresql", 2.25), 22: ("postgresql", 0.25)}
    assert per_second_ms(before, after, 10.0) == {
        "postgresql": 50.0,
        "worker": 50.0,
        "total": 100.0,
    }
