"""Orders: holding quota, sold out, payment once per transaction, expiry, refunds."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fairline_events.errors import DomainError
from fairline_events.registry import DomainEvent
from fairline_events.testing import Scenario, given
from tickets.desks import Desk
from tickets.domain.commands import (
    CancelOrder,
    ExpireOrder,
    PlaceOrder,
    RecordPayment,
    RefundOrder,
    SetQuota,
)
from tickets.domain.events import (
    OrderExpired,
    OrderIssued,
    OrderPaid,
    OrderPlaced,
    PaymentReceived,
    PaymentUnfulfilled,
    QuotaReturned,
    QuotaTaken,
    TicketIssued,
    TicketRevoked,
)
from tickets.domain.order import ORDER, order_stream
from tickets.domain.ticket import TICKET, ticket_stream
from tickets.handlers import (
    cancel_order,
    expire_order,
    place_order,
    record_payment,
    refund_order,
    set_quota,
)
from tickets.shards import OWN_WAIT, ShardRotation, rotation

from .history import BEFORE, DAY1, DAY2, EDITION, left, product, quota, visitor


def order(order_id: str, *visitors: str, day: object = DAY1, **kw: object) -> PlaceOrder:
    return PlaceOrder.model_validate(
        {
            "order_id": order_id,
            "edition_code": EDITION,
            "product_code": "day-cncc",
            "account": "acct-1",
            "visitor_ids": list(visitors) or ["v-1"],
            "day": day,
        }
        | kw
    )


def paid(order_id: str, amount: int = 10000, tx: str = "tx-1") -> RecordPayment:
    return RecordPayment(provider="devpay", transaction_id=tx, order_id=order_id, amount=amount)


def test_an_order_holds_places_until_paid_then_issues_its_tickets() -> None:
    shop = given(product(), *quota(2), visitor("v-1"), visitor("v-2"))
    placed = shop.when(place_order, order("o-1", "v-1", "v-2"), at=BEFORE)
    # two places, one in each of the two shards that hold any: the order takes both
    assert [type(e) for e in placed] == [OrderPlaced, QuotaTaken, QuotaTaken]
    assert left(shop) == 0
    held = shop.state(ORDER, order_stream("o-1"))
    assert (held.status, held.total, held.expires_at) == (
        "held",
        20000,
        BEFORE + timedelta(minutes=15),
    )

    events = shop.when(record_payment, paid("o-1", 20000), at=BEFORE)
    assert [type(e) for e in events] == [
        PaymentReceived,
        OrderPaid,
        OrderIssued,
        TicketIssued,
        TicketIssued,
    ]
    assert shop.state(TICKET, ticket_stream("o-1-2")).days == (DAY1,)
    assert shop.when(record_payment, paid("o-1", 20000), at=BEFORE) == []  # replayed: once


def test_the_last_place_goes_to_one_order_the_next_is_sold_out() -> None:
    shop = given(product(), *quota(1), visitor("v-1"), visitor("v-2"))
    shop.when(place_order, order("o-1", "v-1"), at=BEFORE)
    with pytest.raises(DomainError) as refused:
        shop.when(place_order, order("o-2", "v-2"), at=BEFORE)
    assert refused.value.code == "sold_out"
    assert refused.value.details["left"] == 0


def test_orders_one_process_places_one_after_another_each_take_another_shard() -> None:
    """Orders in flight at once in one process must not race for one shard: the loser and
    every order on that shard for a second after would queue on its lock."""
    shop = given(product(), *quota(800), *(visitor(f"v-{n}") for n in range(16)))
    shards = [
        next(e.shard for e in shop.when(place_order, order(f"o-{n}", f"v-{n}"), at=BEFORE)
             if isinstance(e, QuotaTaken))
        for n in range(16)
    ]  # fmt: skip
    assert sorted(shards[:8]) == list(range(8))
    assert sorted(shards[8:]) == list(range(8))
    assert left(shop) == 800 - 16


def test_no_order_is_given_the_shard_an_order_still_being_placed_writes() -> None:
    shop = given(product(), *quota(800), *(visitor(f"v-{n}") for n in range(9)))

    def shard_of(events: list[DomainEvent]) -> int:
        return next(e.shard for e in events if isinstance(e, QuotaTaken))

    with rotation.placing():  # an order in flight, as `place_order_spread` marks it
        slow = shard_of(shop.when(place_order, order("o-slow", "v-8"), at=BEFORE))
        others = []
        for n in range(8):  # more orders than the other shards, each done in turn
            with rotation.placing():
                others.append(
                    shard_of(shop.when(place_order, order(f"o-{n}", f"v-{n}"), at=BEFORE))
                )
    assert slow not in others
    assert len(set(others)) == 7


def test_two_desks_keep_to_their_own_shards_while_those_have_room() -> None:
    """Two API processes (desks 0 and 1 of 2) each take their own half of a quota's shards,
    so that they never race each other for one while their own are free."""
    shop = given(product(), *quota(800), *(visitor(f"v-{n}") for n in range(16)))
    taken: dict[int, list[int]] = {0: [], 1: []}
    for n in range(16):
        desk = ShardRotation(desk=Desk(number=n % 2, of=2))
        with desk.choosing():
            events = shop.when(place_order, order(f"o-{n}", f"v-{n}"), at=BEFORE)
        taken[n % 2] += [e.shard for e in events if isinstance(e, QuotaTaken)]
    assert {s % 2 for s in taken[0]} == {0}
    assert {s % 2 for s in taken[1]} == {1}
    assert left(shop) == 800 - 16


def test_a_desk_whose_own_shards_are_full_sells_the_others() -> None:
    """A desk's preference strands nothing: with the other desk gone, the last places (in
    shards that were the other's) are sold by the one left."""
    shop = given(product(), *quota(8), *(visitor(f"v-{n}") for n in range(9)))
    alone = ShardRotation(desk=Desk(number=1, of=2))
    shards = []
    with alone.choosing():
        for n in range(8):
            events = shop.when(place_order, order(f"o-{n}", f"v-{n}"), at=BEFORE)
            shards += [e.shard for e in events if isinstance(e, QuotaTaken)]
        with pytest.raises(DomainError) as refused:
            shop.when(place_order, order("o-8", "v-8"), at=BEFORE)
    assert sorted(shards) == list(range(8))
    assert refused.value.code == "sold_out"


def test_desks_share_out_every_shard_each_to_one() -> None:
    for of in (1, 2, 3, 5):
        owners = [[n for n in range(of) if Desk(number=n, of=of).owns(s)] for s in range(8)]
        assert all(len(o) == 1 for o in owners), (of, owners)


def sold_out_shop(places: int) -> Scenario:
    """A shop whose `places` were each ordered by one visitor, and whose next order, by one
    more visitor, was refused as sold out."""
    shop = given(product(), *quota(places), *(visitor(f"v-{n}") for n in range(places + 1)))
    for n in range(places):
        shop.when(place_order, order(f"o-{n}", f"v-{n}"), at=BEFORE)
    assert left(shop) == 0
    with pytest.raises(DomainError) as refused:
        shop.when(place_order, order(f"o-{places}", f"v-{places}"), at=BEFORE)
    assert refused.value.code == "sold_out"
    return shop


def test_an_order_skips_a_shard_known_to_be_full() -> None:
    sold_out_shop(8)


def test_places_spread_over_shards_are_all_sold_and_the_capacity_follows_what_is_taken() -> None:
    shop = sold_out_shop(20)
    shop.when(expire_order, ExpireOrder(order_id="o-3"), at=BEFORE + timedelta(hours=1))
    with pytest.raises(DomainError) as refused:
        shop.when(set_quota, set_to(18), at=BEFORE)
    assert refused.value.code == "capacity_below_taken"
    shop.when(set_quota, set_to(19), at=BEFORE)
    assert left(shop) == 0
    shop.when(set_quota, set_to(30), at=BEFORE)
    assert left(shop) == 11


def set_to(capacity: int) -> SetQuota:
    return SetQuota(
        edition_code=EDITION, day=DAY1, venue="cncc", visitor_class="public", capacity=capacity
    )


def test_a_day_pass_needs_one_of_its_days_and_a_quota_for_it() -> None:
    shop = given(product(), *quota(5), visitor("v-1"))
    for day, code in [(None, "choose_a_day"), (DAY1 - timedelta(days=1), "choose_a_day")]:
        with pytest.raises(DomainError) as refused:
            shop.when(place_order, order("o-1", day=day), at=BEFORE)
        assert refused.value.code == code
    with pytest.raises(DomainError) as refused:
        shop.when(place_order, order("o-1", day=DAY2), at=BEFORE)
    assert refused.value.code == "not_on_sale"


def test_a_multi_day_pass_for_both_venues_takes_a_place_each_day_at_each_venue() -> None:
    week = product(
        "trade-pass", kind="multi_day", venues=["cncc", "shougang"], classes=["trade"], price=0
    )
    quotas = [
        e for d in (DAY1, DAY2) for v in ("cncc", "shougang") for e in quota(10, d, v, "trade")
    ]
    shop = given(week, *quotas, visitor("v-1", cls="trade"))
    events = shop.when(place_order, order("o-1", day=None, product_code="trade-pass"), at=BEFORE)
    assert sum(isinstance(e, QuotaTaken) for e in events) == 4
    assert shop.state(ORDER, order_stream("o-1")).status == "issued"  # free: no payment


def test_only_approved_visitors_of_the_products_classes_may_order() -> None:
    trade = product("trade-pass", kind="multi_day", classes=["trade"], price=0)
    shop = given(
        trade, product(), *quota(5), visitor("v-t", cls="trade", approved=False), visitor("v-p")
    )
    with pytest.raises(DomainError) as refused:
        shop.when(place_order, order("o-1", "v-t", day=None, product_code="trade-pass"), at=BEFORE)
    assert refused.value.code == "visitor_not_approved"
    with pytest.raises(DomainError) as refused:
        shop.when(place_order, order("o-2", "v-t"), at=BEFORE)
    assert refused.value.code == "class_not_admitted"
    with pytest.raises(DomainError) as refused:
        shop.when(place_order, order("o-3", "v-p", account="someone-else"), at=BEFORE)
    assert refused.value.code == "not_your_visitor"


def test_an_unpaid_order_expires_and_gives_its_places_back() -> None:
    shop = given(product(), *quota(1), visitor("v-1"))
    shop.when(place_order, order("o-1"), at=BEFORE)
    assert shop.when(expire_order, ExpireOrder(order_id="o-1"), at=BEFORE) == []  # too early
    later = BEFORE + timedelta(minutes=16)
    events = shop.when(expire_order, ExpireOrder(order_id="o-1"), at=later)
    assert [type(e) for e in events] == [OrderExpired, QuotaReturned]
    assert left(shop) == 1
    assert shop.when(expire_order, ExpireOrder(order_id="o-1"), at=later) == []


def test_a_late_payment_is_kept_and_issues_if_the_places_are_still_free() -> None:
    shop = given(product(), *quota(1), visitor("v-1"), visitor("v-2"))
    shop.when(place_order, order("o-1"), at=BEFORE)
    shop.when(expire_order, ExpireOrder(order_id="o-1"), at=BEFORE + timedelta(hours=1))
    events = shop.when(record_payment, paid("o-1"), at=BEFORE + timedelta(hours=1))
    assert QuotaTaken in [type(e) for e in events]
    assert shop.state(ORDER, order_stream("o-1")).status == "issued"


def test_a_late_payment_after_the_places_went_is_recorded_for_a_refund() -> None:
    shop = given(product(), *quota(1), visitor("v-1"), visitor("v-2"))
    shop.when(place_order, order("o-1", "v-1"), at=BEFORE)
    shop.when(expire_order, ExpireOrder(order_id="o-1"), at=BEFORE + timedelta(hours=1))
    shop.when(place_order, order("o-2", "v-2"), at=BEFORE + timedelta(hours=1))
    events = shop.when(record_payment, paid("o-1"), at=BEFORE + timedelta(hours=1))
    assert [type(e) for e in events] == [PaymentReceived, PaymentUnfulfilled]
    assert shop.state(ORDER, order_stream("o-1")).status == "expired"


def test_a_payment_of_another_amount_is_refused() -> None:
    shop = given(product(), *quota(1), visitor("v-1"))
    shop.when(place_order, order("o-1"), at=BEFORE)
    with pytest.raises(DomainError) as refused:
        shop.when(record_payment, paid("o-1", amount=1), at=BEFORE)
    assert refused.value.code == "amount_mismatch"


def test_a_refund_revokes_the_tickets_and_gives_the_places_back() -> None:
    shop = given(product(), *quota(1), visitor("v-1"))
    shop.when(place_order, order("o-1"), at=BEFORE)
    shop.when(record_payment, paid("o-1"), at=BEFORE)
    events = shop.when(refund_order, RefundOrder(order_id="o-1", refund_id="rf-1"), at=BEFORE)
    assert {type(e) for e in events} >= {TicketRevoked, QuotaReturned}
    assert shop.state(TICKET, ticket_stream("o-1-1")).status == "revoked"
    assert left(shop) == 1
    with pytest.raises(DomainError) as refused:
        shop.when(refund_order, RefundOrder(order_id="o-1", refund_id="rf-2"), at=BEFORE)
    assert refused.value.code == "not_refundable"


def test_a_paid_order_is_refunded_not_cancelled() -> None:
    shop = given(product(), *quota(1), visitor("v-1"))
    shop.when(place_order, order("o-1"), at=BEFORE)
    shop.when(record_payment, paid("o-1"), at=BEFORE)
    with pytest.raises(DomainError) as refused:
        shop.when(cancel_order, CancelOrder(order_id="o-1", account="acct-1"), at=BEFORE)
    assert refused.value.code == "refund_instead"


async def test_an_order_waits_while_every_shard_with_room_is_being_written() -> None:
    """Orders beyond one per shard queue in the process, holding nothing, rather than race
    an order in flight and then queue on the shard's lock; a shard freed wakes an order
    waiting for it, not one waiting for another quota's."""
    shards = ShardRotation()
    done = {"quota-a.0": asyncio.Event(), "quota-b.0": asyncio.Event()}

    async def in_flight(stream_id: str) -> None:
        with shards.placing():
            shards.give([stream_id])
            await done[stream_id].wait()

    writing = [asyncio.create_task(in_flight(s)) for s in done]
    await asyncio.sleep(0)
    for_b = asyncio.create_task(shards.free_shard([["quota-b.0"]], within=5))
    for_a = asyncio.create_task(shards.free_shard([["quota-a.0"]], within=5))
    await asyncio.sleep(0.05)
    assert not for_a.done() and not for_b.done()
    done["quota-a.0"].set()
    await asyncio.wait_for(for_a, 1)  # woken when the order in flight is done
    assert not for_b.done()
    done["quota-b.0"].set()
    await asyncio.wait_for(for_b, 1)
    await asyncio.gather(*writing)
    # a free shard among the choices: no wait; and a wait is bounded
    await asyncio.wait_for(shards.free_shard([["quota-a.0"], ["quota-a.1"]], within=5), 0.1)
    with shards.placing():
        shards.give(["quota-a.0"])
        await asyncio.wait_for(shards.free_shard([["quota-a.0"]], within=0.05), 1)


async def test_an_order_waits_a_moment_for_its_desks_own_shard_then_takes_another() -> None:
    """Desk 0 of 2 owns the even shards: while its own is being written it waits for it
    rather than race the other desk on an odd one, but only `OWN_WAIT`, and an order that
    finds no shard with room (sold out) never waits."""
    shards = ShardRotation(desk=Desk(number=0, of=2))
    choices = [["quota-a.0"], ["quota-a.1"]]
    own_done = asyncio.Event()

    async def in_flight() -> None:
        with shards.placing():
            shards.give(["quota-a.0"])
            await own_done.wait()

    async def next_order() -> bool:
        with shards.placing():
            await shards.free_shard(choices, within=5)
            return shards.given_here(["quota-a.0"])

    writing = asyncio.create_task(in_flight())
    await asyncio.sleep(0)
    waiting = asyncio.create_task(next_order())
    await asyncio.sleep(OWN_WAIT / 5)
    assert not waiting.done()
    own_done.set()
    assert await asyncio.wait_for(waiting, 1)  # its own, once free
    await writing

    own_done.clear()
    writing = asyncio.create_task(in_flight())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    assert not await asyncio.wait_for(next_order(), 1)  # the other desk's, after a moment
    assert asyncio.get_running_loop().time() - started >= OWN_WAIT * 0.9
    own_done.set()
    await writing
    await asyncio.wait_for(shards.free_shard([], within=5), 0.1)
