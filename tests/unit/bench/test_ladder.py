"""The bench's rate ladder: a rate's figure is its median run, the decision rests on medians,
and repeats are skipped only where they could not change the answer."""

from __future__ import annotations

from bench.common import Run, Step, climb, median_run


def run(p99: float, ok: bool = True, p50: float = 100.0) -> Run:
    return Run(p99, ok, {"p50_ms": p50, "p99_ms": p99})


def test_the_median_run_is_the_middle_one_whatever_the_order() -> None:
    assert median_run([run(472), run(205), run(30)]).p99_ms == 205
    assert median_run([run(30), run(472), run(205)]).p99_ms == 205


def test_a_run_that_lost_answers_ranks_above_any_latency() -> None:
    # 2 ms with 503s is worse than 400 ms with every hold answered
    assert median_run([run(2, ok=False), run(40), run(400)]).p99_ms == 400
    assert not median_run([run(2, ok=False), run(3, ok=False), run(40)]).all_ok


def test_of_two_runs_the_figure_is_the_slower() -> None:
    assert median_run([run(20), run(60)]).p99_ms == 60


def test_one_noisy_run_does_not_decide_a_rate() -> None:
    step = Step(250, [run(30), run(472), run(45)])
    assert step.within(50)
    assert step.notes()["runs_p99_ms"] == [30, 472, 45]
    assert step.notes()["p99_ms"] == 45  # the median run's own notes


async def test_each_rate_is_measured_three_times_until_a_median_misses() -> None:
    seen: dict[int, list[float]] = {
        100: [15, 12, 11],
        250: [40, 60, 70],  # the median (60) misses 50 ms, though one run held it
        500: [45],  # a lucky run above a missed rate is measured once and decides nothing
    }
    calls: list[tuple[int, int]] = []

    async def measure(rate: int, n: int) -> Run:
        calls.append((rate, n))
        return run(seen[rate][n - 1])

    ladder = await climb([500, 100, 250], measure, 50, repeats=3)
    assert calls == [(100, 1), (100, 2), (100, 3), (250, 1), (250, 2), (250, 3), (500, 1)]
    assert [s.median.p99_ms for s in ladder.steps] == [12, 60, 45]
    assert ladder.highest == 100
    step = ladder.step(500)
    assert step is not None and "already missed 50 ms at 250/s" in (step.one_run or "")


async def test_a_saturated_first_run_is_not_repeated() -> None:
    calls: list[tuple[int, int]] = []

    async def measure(rate: int, n: int) -> Run:
        calls.append((rate, n))
        return {100: run(20), 250: run(800), 500: run(9000, ok=False)}[rate]

    ladder = await climb([100, 250, 500], measure, 50, repeats=3)
    assert calls == [(100, 1), (100, 2), (100, 3), (250, 1), (500, 1)]  # 20 ms: three runs
    assert ladder.highest == 100
    assert "saturated" in (ladder.steps[1].one_run or "")


async def test_one_stall_in_the_tail_is_no_saturation() -> None:
    # p99 at 20x the bound but the median request answered in 8 ms: a stall (another
    # process, a pause), not a queue that grew; the rate gets its three runs
    calls: list[int] = []

    async def measure(rate: int, n: int) -> Run:
        calls.append(n)
        return run(1000, p50=8) if n == 1 else run(30, p50=8)

    ladder = await climb([100], measure, 50, repeats=3)
    assert calls == [1, 2, 3]
    assert ladder.highest == 100


async def test_a_run_that_lost_answers_is_saturated_however_fast() -> None:
    calls: list[int] = []

    async def measure(rate: int, n: int) -> Run:
        calls.append(rate)
        return run(20, ok=rate < 1000, p50=2)

    ladder = await climb([500, 1000], measure, 50, repeats=3)
    assert calls == [500, 500, 500, 1000]
    assert ladder.highest == 500


async def test_a_server_that_holds_every_rate_near_the_bound_is_measured_three_times_at_each() -> (
    None
):
    calls: list[int] = []

    async def measure(rate: int, n: int) -> Run:
        calls.append(rate)
        return run(20, p50=2)

    ladder = await climb([100, 1000], measure, 50, repeats=3)
    assert calls == [100, 100, 100, 1000, 1000, 1000]
    assert ladder.highest == 1000


async def test_a_first_run_far_inside_the_bound_decides_its_rate_alone() -> None:
    calls: list[tuple[int, int]] = []

    async def measure(rate: int, n: int) -> Run:
        calls.append((rate, n))
        return {100: run(4, p50=1), 250: run(10, p50=2), 500: run(11, p50=2)}[rate]

    ladder = await climb([100, 250, 500], measure, 50, repeats=3)
    # 10 ms is a fifth of 50: one run; 11 ms is not: three
    assert calls == [(100, 1), (250, 1), (500, 1), (500, 2), (500, 3)]
    assert ladder.highest == 500
    assert "clearly within" in (ladder.steps[0].one_run or "")
    # a run with a lost answer is never "clearly within", however fast
    lost: list[int] = []

    async def losing(rate: int, n: int) -> Run:
        lost.append(n)
        return run(2, ok=n > 1, p50=1)

    assert (await climb([100], losing, 50, repeats=3)).highest == 0
    assert lost == [1]


async def test_a_missed_lowest_rate_leaves_no_rate_held() -> None:
    async def measure(rate: int, n: int) -> Run:
        return run(120)

    ladder = await climb([100, 250], measure, 50, repeats=3)
    assert ladder.highest == 0
    assert len(ladder.steps[0].runs) == 3 and len(ladder.steps[1].runs) == 1
