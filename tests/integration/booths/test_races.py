"""Commands whose streams are found from a booth's state, raced on the real database.

A release and a claim on the same booth, and the hold-expiry job and a reserve, each pair
run at once through the real handlers and store, round after round. The holder (and so the
account each command locks) depends on which commits first; either way the loser gets the
rule's own answer (`no_offer`, `not_held`) or decides nothing, never a `concurrent_change`
or an unretried `ConcurrencyConflict` (issue 10, item 2).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable
from datetime import datetime, timedelta

import asyncpg
import pytest
from booths.domain.booth import BOOTH, Booth, booth_stream
from booths.domain.commands import (
    ClaimOffer,
    ExpireHold,
    HoldBooth,
    JoinWaitlist,
    ReleaseHold,
    ReserveBooth,
)
from booths.domain.events import registry
from booths.handlers import (
    change_waitlist,
    claim_offer,
    expire_hold,
    hold_booth,
    release_hold,
    reserve_booth,
)
from fairline_events.context import CommandContext
from fairline_events.db import migrate
from fairline_events.errors import ConcurrencyConflict, DomainError
from fairline_events.store import EventStore, StreamAppend
from fairline_events.transact import Outcome, by_stream
from unit.booths.factories import EDITION, HOLD_TTL, OPENED, T0, added, admitted

pytestmark = pytest.mark.infra

ROUNDS = 30


def at(moment: datetime, actor: str = "user:sales-1") -> CommandContext:
    """A caller whose rules see `moment` as now."""
    return CommandContext(actor=actor, clock=lambda: moment)


async def answer(command: Awaitable[Outcome]) -> str:
    """What the caller is told: `ok`, or the rule's error code (anything else propagates)."""
    try:
        await command
    except ConcurrencyConflict:
        return "concurrent_change"  # a bare conflict reached the caller: the defect
    except DomainError as refused:
        return refused.code
    return "ok"


async def both(first: Awaitable[str], second: Awaitable[str]) -> tuple[str, str]:
    """Run the two at once, started in a random order; their answers in the order given."""
    if random.random() < 0.5:
        later, sooner = await asyncio.gather(second, first)
        return sooner, later
    sooner, later = await asyncio.gather(first, second)
    return sooner, later


async def booth_now(store: EventStore, code: str) -> Booth:
    stream = booth_stream(EDITION, code)
    state, _ = await store.load(stream, BOOTH.evolve, BOOTH.initial(stream))
    return state


@pytest.fixture
async def store(pool: asyncpg.Pool) -> EventStore:
    """The edition open, one booth and a holder and a waiter per round, all admitted."""
    await migrate(pool)
    store = EventStore(pool, registry)
    history = [*OPENED]
    for n in range(ROUNDS):
        history += [added(f"R-{n}"), added(f"X-{n}"), admitted(f"holder-{n}")]
        history += [admitted(f"waiter-{n}")]
    appends = [StreamAppend(s, events, 0) for s, events in by_stream(history).items()]
    await store.append_streams(appends, CommandContext.system("test"))
    return store


async def test_a_release_and_a_claim_on_one_booth_get_only_the_rules_answers(
    store: EventStore,
) -> None:
    seen: list[tuple[str, str]] = []
    for n in range(ROUNDS):
        code, holder, waiter = f"R-{n}", f"holder-{n}", f"waiter-{n}"
        hold = HoldBooth(edition_code=EDITION, booth_code=code, exhibitor_id=holder)
        await hold_booth(store, hold, at(T0))
        wait = JoinWaitlist(edition_code=EDITION, zone_code="digital-trust", exhibitor_id=waiter)
        await change_waitlist(store, wait, at(T0))

        release = ReleaseHold(edition_code=EDITION, booth_code=code, reason="changed plans")
        claim = ClaimOffer(edition_code=EDITION, booth_code=code)
        released, claimed = await both(
            answer(release_hold(store, release, at(T0 + timedelta(minutes=1)))),
            answer(claim_offer(store, claim, at(T0 + timedelta(minutes=1)))),
        )
        seen.append((released, claimed))

        # the release always goes through and offers the booth to the waiter; the claim
        # either came first (nothing offered yet) or took the offer
        assert released == "ok"
        assert claimed in {"ok", "no_offer"}, claimed
        booth = await booth_now(store, code)
        assert booth.holder == waiter
        assert booth.status == ("held" if claimed == "ok" else "offered")
    assert all("concurrent_change" not in pair for pair in seen)


async def test_the_hold_expiry_job_and_a_reserve_get_only_the_rules_answers(
    store: EventStore,
) -> None:
    seen: list[tuple[str, str]] = []
    for n in range(ROUNDS):
        code, holder = f"X-{n}", f"holder-{n}"
        hold = HoldBooth(edition_code=EDITION, booth_code=code, exhibitor_id=holder)
        await hold_booth(store, hold, at(T0))

        # the job's clock has passed the hold's expiry; the sales desk's has not, just
        expiry = at(T0 + HOLD_TTL, actor="system:hold-expiry")
        reserve = ReserveBooth(edition_code=EDITION, booth_code=code, contract_id=f"c-{n}")
        expired, reserved = await both(
            answer(expire_hold(store, ExpireHold(edition_code=EDITION, booth_code=code), expiry)),
            answer(reserve_booth(store, reserve, at(T0 + HOLD_TTL - timedelta(seconds=1)))),
        )
        seen.append((expired, reserved))

        # whoever came second decides nothing (the expiry) or is refused (the reserve)
        assert expired == "ok"
        assert reserved in {"ok", "not_held"}, reserved
        booth = await booth_now(store, code)
        assert booth.status == ("reserved" if reserved == "ok" else "free")
    assert all("concurrent_change" not in pair for pair in seen)
