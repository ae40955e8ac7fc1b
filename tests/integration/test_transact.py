"""The shared multi-stream command handler against a real PostgreSQL server: commands on
overlapping streams queue and get the rule's answer, never a deadlock or a bare conflict;
what the after-hook writes commits with the events or not at all; inside a policy's
transaction nothing is retried."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import asyncpg
import pytest
from fairline_events.context import CommandContext
from fairline_events.decider import Fold
from fairline_events.errors import ConcurrencyConflict, Conflict
from fairline_events.registry import DomainEvent
from fairline_events.store import EventStore, StreamAppend
from fairline_events.transact import Decision, Streams, transact
from support.sample_events import BoothHeld, BoothReleased, registry

pytestmark = pytest.mark.infra

ctx = CommandContext(actor="user:test")


def _holder(state: str | None, event: DomainEvent) -> str | None:
    return event.exhibitor if isinstance(event, BoothHeld) else None


BOOTH: Fold[str | None] = Fold(lambda _: None, _holder)
"""A booth's state: who holds it."""
COUNT: Fold[int] = Fold(lambda _: 0, lambda n, _: n + 1)
"""Any stream's state: how many events it has."""


async def test_concurrent_commands_on_overlapping_streams_give_exactly_the_rules_winners(
    store: EventStore,
) -> None:
    booths, racers = 5, 40  # eight exhibitors per booth; every command also writes the hall

    async def command(booth: str, exhibitor: str) -> str:
        async def decide(load: Streams) -> Decision:
            await load.lock(f"booth-{booth}", "hall-E1")
            if await load(BOOTH, f"booth-{booth}") is not None:
                raise Conflict(f"booth {booth} is held", code="booth_unavailable")
            await load(COUNT, "hall-E1")
            event = BoothHeld(booth=booth, exhibitor=exhibitor, hall="E1")
            return {f"booth-{booth}": [event], "hall-E1": [event]}

        try:
            await transact(store, decide, ctx, command="HoldBooth")
            return "held"
        except Conflict as exc:
            return exc.code

    async def optimistic(booth: str, exhibitor: str) -> str:
        """A writer that takes no lock: it may win the booth, then the others must retry."""
        try:
            await store.append(
                f"booth-{booth}", [BoothHeld(booth=booth, exhibitor=exhibitor, hall="E1")], 0, ctx
            )
            return "held"
        except ConcurrencyConflict:
            return "lost"

    locked = [command(f"B{i % booths}", f"ex-{i}") for i in range(racers)]
    plain = [optimistic(f"B{i}", f"opt-{i}") for i in range(0, booths, 2)]
    results = await asyncio.gather(*locked, *plain)

    outcomes = results[:racers]
    assert set(outcomes) <= {"held", "booth_unavailable"}, outcomes  # no bare 409
    for i in range(booths):
        holders = await store.read_stream(f"booth-B{i}")
        assert len(holders) == 1, f"booth B{i} held {len(holders)} times"
    plain_wins = results[racers:].count("held")
    assert outcomes.count("held") + plain_wins == booths
    # The hall counts exactly the locked winners, its versions in commit order.
    rows = await store.pool.fetch(
        "SELECT stream_version FROM events WHERE stream_id = 'hall-E1' ORDER BY tx_id, position"
    )
    assert [r["stream_version"] for r in rows] == list(range(1, outcomes.count("held") + 1))


async def test_locks_asked_for_in_any_order_never_deadlock(store: EventStore) -> None:
    writers = 20

    async def command(i: int) -> None:
        first, second = ("left", "right") if i % 2 else ("right", "left")

        async def decide(load: Streams) -> Decision:
            await load(COUNT, first)  # locks as it goes, half of them the other way round
            await asyncio.sleep(0.005)
            await load(COUNT, second)
            event = BoothReleased(booth=f"{i}")
            return {first: [event], second: [event]}

        await transact(store, decide, ctx)

    await asyncio.gather(*(command(i) for i in range(writers)))

    assert await store.stream_version("left") == writers
    assert await store.stream_version("right") == writers


async def test_the_locks_leave_the_transaction_without_an_id_until_the_append(
    store: EventStore,
) -> None:
    seen: list[object] = []

    async def decide(load: Streams) -> Decision:
        await load.lock("booth-X1", "hall-E1")
        await load(BOOTH, "booth-X1")
        await load.peek(COUNT, "hall-E1")
        seen.append(await load.connection.fetchval("SELECT pg_current_xact_id_if_assigned()"))
        return {"booth-X1": [BoothHeld(booth="X1", exhibitor="ex", hall="E1")]}

    outcome = await transact(store, decide, ctx)

    assert seen == [None]
    assert outcome.versions == {"booth-X1": 1, "hall-E1": 0}
    assert outcome.states["booth-X1"] == "ex"
    assert outcome.envelopes[0].command is None  # no name given, none made up


async def test_the_after_hook_commits_with_the_events_or_rolls_back_with_them(
    store: EventStore,
) -> None:
    await store.pool.execute("CREATE TABLE keys (stream_id text PRIMARY KEY)")

    async def decide(load: Streams) -> Decision:
        await load(COUNT, "guest-1")
        return {"guest-1": [BoothReleased(booth="G")]}

    async def keep(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        assert events == [BoothReleased(booth="G")]
        await conn.execute("INSERT INTO keys VALUES ('guest-1')")

    async def keep_then_fail(conn: asyncpg.Connection, events: Sequence[DomainEvent]) -> None:
        await keep(conn, events)
        raise RuntimeError("the key store is down")

    with pytest.raises(RuntimeError):
        await transact(store, decide, ctx, after=keep_then_fail)
    assert await store.stream_version("guest-1") == 0
    assert await store.pool.fetchval("SELECT count(*) FROM keys") == 0

    await transact(store, decide, ctx, after=keep)
    assert await store.stream_version("guest-1") == 1
    assert await store.pool.fetchval("SELECT count(*) FROM keys") == 1


async def test_a_concurrent_change_is_decided_again_on_fresh_state(store: EventStore) -> None:
    calls: list[int | None] = []

    async def decide(load: Streams) -> Decision:
        holder = await load(BOOTH, "booth-R1")
        calls.append(len(calls))
        if len(calls) == 1:  # a writer that takes no lock gets in between read and append
            await store.append(
                "booth-R1", [BoothHeld(booth="R1", exhibitor="other", hall="E1")], 0, ctx
            )
        if holder is not None:
            raise Conflict(f"held by {holder}", code="booth_unavailable")
        return {"booth-R1": [BoothHeld(booth="R1", exhibitor="me", hall="E1")]}

    with pytest.raises(Conflict) as refused:
        await transact(store, decide, ctx)

    assert refused.value.code == "booth_unavailable"  # the rule's answer, not a bare 409
    assert len(calls) == 2


async def test_inside_a_policy_transaction_a_conflict_propagates_unretried(
    store: EventStore,
) -> None:
    calls = 0

    async def decide(load: Streams) -> Decision:
        nonlocal calls
        calls += 1
        await load(COUNT, "account-P1")
        await store.append("account-P1", [BoothReleased(booth="P")], 0, ctx)  # another writer
        return {"account-P1": [BoothReleased(booth="P1")]}

    async with store.pool.acquire() as conn:
        with pytest.raises(ConcurrencyConflict):
            async with conn.transaction():
                await conn.execute("CREATE TABLE checkpoint (n int)")
                await conn.execute("INSERT INTO checkpoint VALUES (1)")  # the policy's own write
                try:
                    await transact(store, decide, ctx, connection=conn)
                finally:
                    # The conflict aborted the caller's transaction: none of it can commit.
                    with pytest.raises(asyncpg.InFailedSQLTransactionError):
                        await conn.fetchval("SELECT n FROM checkpoint")
    assert calls == 1
    assert await store.pool.fetchval("SELECT to_regclass('checkpoint')") is None

    assert [e.event(registry) for e in await store.read_stream("account-P1")] == [
        BoothReleased(booth="P")
    ]


async def test_a_stream_planned_from_then_locked_is_planned_again_if_it_moved(
    store: EventStore,
) -> None:
    await store.append("booking-1", [BoothReleased(booth="night-1")], 0, ctx)
    plans: list[int] = []

    async def decide(load: Streams) -> Decision:
        plans.append(await load.peek(COUNT, "booking-1"))  # plan from it, unlocked
        if len(plans) == 1:
            await store.append("booking-1", [BoothReleased(booth="night-2")], 1, ctx)
        await load.lock("booking-1", "night-1")
        await load(COUNT, "night-1")
        return {"booking-1": [BoothReleased(booth="done")]}

    outcome = await transact(store, decide, ctx)

    assert plans == [1, 2]
    assert outcome.versions["booking-1"] == 3


async def test_events_for_a_stream_not_locked_are_a_bug(store: EventStore) -> None:
    async def decide(load: Streams) -> Decision:
        await load.peek(COUNT, "read-only")
        return {"read-only": [BoothReleased(booth="R")]}

    with pytest.raises(RuntimeError, match="did not lock"):
        await transact(store, decide, ctx)
    assert await store.stream_version("read-only") == 0


async def test_a_command_races_without_locks_until_its_stream_loses_a_race(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("fairline_events.store.CONTENDED_SECONDS", 0.2)
    in_transaction: list[bool] = []

    def plan(*, interloper: bool = False) -> Callable[[Streams], Awaitable[Decision]]:
        async def decide(load: Streams) -> Decision:
            version = await load(COUNT, "booth-O1")
            in_transaction.append(load.connection.is_in_transaction())
            if interloper and len(in_transaction) == 1:  # another writer gets in first
                await store.append("booth-O1", [BoothReleased(booth="O1")], version, ctx)
            return {"booth-O1": [BoothReleased(booth="O1")]}

        return decide

    await transact(store, plan(), ctx)
    assert in_transaction == [False]  # read, then one append: no BEGIN, no lock, no COMMIT

    in_transaction.clear()
    await transact(store, plan(interloper=True), ctx)
    assert in_transaction == [False, True]  # the race lost, decided again under the lock

    in_transaction.clear()
    await transact(store, plan(), ctx)
    assert in_transaction == [True]  # a stream that just lost a race is locked at once

    await asyncio.sleep(0.3)
    in_transaction.clear()
    await transact(store, plan(), ctx)
    assert in_transaction == [False]  # and raced for again once it has been quiet
    assert await store.stream_version("booth-O1") == 5


async def test_commands_that_each_write_what_the_other_only_reads_never_both_go_through(
    store: EventStore,
) -> None:
    """Each of two commands locks both streams, writes its own, and only if the other's is
    still empty: whichever way they race, exactly one writes (no write skew)."""

    def first_of(mine: str, other: str) -> Callable[[Streams], Awaitable[Decision]]:
        async def decide(load: Streams) -> Decision:
            await load.lock(mine, other)
            if await load(COUNT, other):
                raise Conflict(f"{other} went first", code="taken")
            await load(COUNT, mine)
            await asyncio.sleep(0.01)  # both have read before either appends
            return {mine: [BoothReleased(booth=mine)]}

        return decide

    for race in range(10):
        left, right = f"left-{race}", f"right-{race}"
        answers = await asyncio.gather(
            transact(store, first_of(left, right), ctx),
            transact(store, first_of(right, left), ctx),
            return_exceptions=True,
        )
        refused = [a for a in answers if isinstance(a, Conflict)]
        assert [a.code for a in refused] == ["taken"], answers
        assert await store.stream_version(left) + await store.stream_version(right) == 1


async def test_a_refusal_is_given_only_on_a_state_that_existed_at_one_moment(
    store: EventStore,
) -> None:
    """A slot read open, then its host's agenda read with the booking that took the slot: the
    answer is the slot's, as it would be with both read at once."""
    attempts = 0

    async def decide(load: Streams) -> Decision:
        nonlocal attempts
        attempts += 1
        slot_taken = await load(COUNT, "slot-1")
        if attempts == 1:  # the winner commits between the two reads
            await store.append_streams(
                [
                    StreamAppend("slot-1", [BoothReleased(booth="taken")], 0),
                    StreamAppend("agenda-1", [BoothReleased(booth="booked")], 0),
                ],
                ctx,
            )
        double_booked = await load(COUNT, "agenda-1")
        if slot_taken:
            raise Conflict("the slot is taken", code="slot_taken")
        if double_booked:
            raise Conflict("the host is in another meeting", code="double_booked")
        return {"slot-1": [BoothReleased(booth="mine")], "agenda-1": [BoothReleased(booth="m")]}

    with pytest.raises(Conflict) as refused:
        await transact(store, decide, ctx)

    assert refused.value.code == "slot_taken"
    assert attempts == 2
