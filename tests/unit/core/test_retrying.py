"""One retry loop for every command path (`transact` and `turns.together`): a concurrent
change or a deadlock runs the attempt again, a bounded number of times; anything else, and
the last failure, reaches the caller."""

from __future__ import annotations

import asyncpg
import pytest
from fairline_events import transact
from fairline_events.errors import ConcurrencyConflict, NotFound
from fairline_events.transact import retrying


@pytest.fixture(autouse=True)
def no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transact, "JITTER", 0.0)


async def test_a_lost_race_or_a_deadlock_is_tried_again_until_it_goes_through() -> None:
    failures: list[Exception] = [
        ConcurrencyConflict("booth-E1-A1", 3, 4),
        asyncpg.DeadlockDetectedError("deadlock detected"),
    ]
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "held"

    assert await retrying(attempt, attempts=3) == "held"
    assert calls == 3


async def test_after_the_last_attempt_the_conflict_reaches_the_caller() -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise ConcurrencyConflict("booth-E1-A1", calls, calls + 1)

    with pytest.raises(ConcurrencyConflict):
        await retrying(attempt, attempts=4)
    assert calls == 4


async def test_a_refusal_is_never_tried_again() -> None:
    calls = 0

    async def attempt() -> str:
        nonlocal calls
        calls += 1
        raise NotFound("no booth A1", code="booth_not_found")

    with pytest.raises(NotFound):
        await retrying(attempt, attempts=4)
    assert calls == 1
