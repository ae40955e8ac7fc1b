"""Commands decided together (`fairline_events.turns.Together`): one transaction per batch,
yet each command keeps its own answer, its own who and why, and the order of arrival."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fairline_events.context import CommandContext
from fairline_events.decider import Fold
from fairline_events.errors import Conflict
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore
from fairline_events.transact import Decision, Streams, command_handler
from fairline_events.turns import together
from support.sample_events import BoothHeld

pytestmark = pytest.mark.infra

HALL = "hall-E1"
SEATS = 30


def _holders(state: tuple[str, ...], event: DomainEvent) -> tuple[str, ...]:
    return (*state, event.exhibitor) if isinstance(event, BoothHeld) else state


HOLDERS: Fold[tuple[str, ...]] = Fold(lambda _: (), _holders)


def _account(exhibitor: str) -> str:
    return f"account-{exhibitor}"


intruded: list[str] = []


@command_handler
async def hold(exhibitor: str, streams: Streams) -> Decision:
    holders, _ = await streams.all((HOLDERS, HALL), (HOLDERS, _account(exhibitor)))
    if exhibitor == "intruder-trigger" and not intruded:  # a writer that does not lock,
        intruded.append(exhibitor)  # between the batch's read and its first append
        stranger = BoothHeld(booth="x", exhibitor="stranger", hall="E1")
        await streams.store.append(HALL, [stranger], len(holders), CommandContext(actor="x"))
    if exhibitor in holders:
        raise Conflict(f"{exhibitor} already holds a booth", code="already_holding")
    if len(holders) >= SEATS:
        raise Conflict("the hall is full", code="full")
    event = BoothHeld(booth=f"b{len(holders)}", exhibitor=exhibitor, hall="E1")
    return {HALL: [event], _account(exhibitor): [event]}


async def _hall_and_account(exhibitor: str, _: Streams) -> list[tuple[Fold[Any], str]]:
    return [(HOLDERS, HALL), (HOLDERS, _account(exhibitor))]


def _together() -> Any:
    return together(hold, queue=lambda _: HALL, locks=_hall_and_account, limit=25)


async def test_a_burst_is_decided_in_few_transactions_in_arrival_order(store: EventStore) -> None:
    holds = _together()
    callers = [f"ex-{n:02}" for n in range(40)] + ["ex-03"]  # ex-03 twice

    async def one(exhibitor: str) -> str:
        context = CommandContext(actor=f"user:{exhibitor}", reason=f"wants {exhibitor}")
        try:
            outcome = await holds(store, exhibitor, context)
        except Conflict as refusal:
            return refusal.code
        return str(outcome.state(HALL, tuple)[-1])

    answers = await asyncio.gather(*(one(e) for e in callers))

    assert answers[:SEATS] == callers[:SEATS]  # each is told the seat they got
    assert answers[SEATS:-1] == ["full"] * 10
    assert answers[-1] == "already_holding"
    rows = await store.pool.fetch(
        "SELECT data->>'exhibitor' AS who, actor, reason, command, tx_id::text AS tx"
        " FROM events WHERE stream_id = $1 ORDER BY stream_version",
        HALL,
    )
    assert [r["who"] for r in rows] == callers[:SEATS]  # the order of arrival
    assert all(r["actor"] == f"user:{r['who']}" for r in rows)  # each its own who and why
    assert all(r["reason"] == f"wants {r['who']}" and r["command"] == "str" for r in rows)
    assert len({r["tx"] for r in rows}) < SEATS / 5  # batches, not one transaction each
    for exhibitor in callers[:SEATS]:
        assert (await store.stream_version(_account(exhibitor))) == 1
    assert holds.waiting() == 0 and not holds._lines


async def test_a_writer_that_does_not_lock_makes_the_whole_batch_run_again(
    store: EventStore,
) -> None:
    holds = _together()
    callers = ["intruder-trigger", "ex-a", "ex-b", "ex-c"]
    outcomes = await asyncio.gather(
        *(holds(store, e, CommandContext(actor=f"user:{e}")) for e in callers)
    )
    assert intruded == ["intruder-trigger"]
    rows = await store.pool.fetch(
        "SELECT data->>'exhibitor' AS who FROM events WHERE stream_id = $1 ORDER BY stream_version",
        HALL,
    )
    held = [r["who"] for r in rows]
    assert held == ["stranger", *callers]  # decided again after it: nothing lost or twice
    for outcome, n in zip(outcomes, range(2, 6), strict=True):
        assert outcome.state(HALL, tuple) == tuple(held[:n])


async def test_a_caller_that_gives_up_cancels_nobody_else(store: EventStore) -> None:
    holds = _together()
    first = asyncio.create_task(holds(store, "ex-1", CommandContext(actor="user:ex-1")))
    gone = asyncio.create_task(holds(store, "ex-2", CommandContext(actor="user:ex-2")))
    last = asyncio.create_task(holds(store, "ex-3", CommandContext(actor="user:ex-3")))
    await asyncio.sleep(0)
    gone.cancel()
    await first
    await last
    rows = await store.pool.fetch(
        "SELECT data->>'exhibitor' AS who FROM events WHERE stream_id = $1", HALL
    )
    assert {r["who"] for r in rows} <= {"ex-1", "ex-2", "ex-3"}
    assert {"ex-1", "ex-3"} <= {r["who"] for r in rows}
