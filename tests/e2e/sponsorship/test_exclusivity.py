"""Category exclusivity and tier quantities hold under concurrency, over HTTP."""

from __future__ import annotations

import asyncio

import pytest
from support.waiting import eventually

from .conftest import EDITION, Api

pytestmark = pytest.mark.infra


async def test_two_sales_people_selling_one_category_in_one_tier_at_once_get_exactly_one(
    api: Api,
) -> None:
    for attempt in range(5):  # several rounds: each must race, and each must give one
        category = f"banking-{attempt}"
        answers = await asyncio.gather(
            api.offer("sales-1", sponsor_id="icbc", sponsor_name="ICBC", category=category),
            api.offer("sales-2", sponsor_id="boc", sponsor_name="BOC", category=category),
        )
        codes = sorted(a.status_code for a in answers)
        assert codes == [201, 409], [a.text for a in answers]
        refused = next(a for a in answers if a.status_code == 409).json()
        assert refused["error"]["code"] == "category_taken"
        winner = next(a for a in answers if a.status_code == 201).json()
        await api.ok("POST", f"/packages/{winner['package_id']}/cancel", "team",
                     json={"reason": "next round"})  # fmt: skip


async def test_an_edition_exclusive_tier_blocks_the_category_in_every_tier_at_once(
    api: Api,
) -> None:
    answers = await asyncio.gather(
        api.offer("sales-1", tier_code="strategic-partner", sponsor_id="huawei",
                  sponsor_name="Huawei", category="telecoms"),
        api.offer("sales-2", tier_code="gold", sponsor_id="zte", sponsor_name="ZTE",
                  category="telecoms"),
    )  # fmt: skip
    assert sorted(a.status_code for a in answers) == [201, 409]


async def test_a_tier_never_sells_past_its_quantity_under_a_rush(api: Api) -> None:
    answers = await asyncio.gather(*(
        api.offer(f"sales-{n}", sponsor_id=f"s{n}", sponsor_name=f"S{n}", category=f"cat-{n}")
        for n in range(12)
    ))  # fmt: skip
    assert sorted(a.status_code for a in answers).count(201) == 3  # gold's quantity
    sold_out = [a.json()["error"]["code"] for a in answers if a.status_code == 409]
    assert set(sold_out) == {"tier_sold_out"}


async def test_an_offer_signed_paid_and_cancelled_shows_its_fee_and_frees_the_category(
    api: Api,
) -> None:
    package = (await api.offer()).json()
    assert package["status"] == "offered" and package["price_fen"] == 80_000_000
    pid = package["package_id"]
    contract = {"contract_no": "SP-2021-001", "cancellation_fee_percent": 25, "instalments": [
        {"due_on": "2021-07-01", "amount_fen": 30_000_000},
        {"due_on": "2021-08-01", "amount_fen": 50_000_000}]}  # fmt: skip
    signed = await api.ok("POST", f"/packages/{pid}/contract", "team", json=contract)
    assert signed["status"] == "contracted" and len(signed["instalments"]) == 2
    pay = {"payment_id": "bank-77", "amount_fen": 30_000_000}
    await api.ok("POST", f"/packages/{pid}/payments", "team", json=pay)
    again = await api.ok("POST", f"/packages/{pid}/payments", "team", json=pay)
    assert again["paid_fen"] == 30_000_000  # the bank's notice twice counts once
    await api.ok("POST", f"/packages/{pid}/cancel", "team", json={"reason": "merger"})
    checklist = await eventually(
        lambda: api.read(f"/packages/{pid}/checklist", "icbc"),
        lambda c: c is not None and c["status"] == "cancelled",
        within=30,
        what="the cancellation in the checklist",
    )
    assert checklist["paid_fen"] == 30_000_000
    row = await api.runtime.pool.fetchrow(
        "SELECT fee_fen, refund_fen FROM proj_sponsorship_desk.packages WHERE package_id = $1",
        pid,
    )
    assert (row["fee_fen"], row["refund_fen"]) == (20_000_000, 10_000_000)
    assert (await api.offer(sponsor_id="boc", sponsor_name="BOC")).status_code == 201
    revenue = await eventually(
        lambda: api.ok("GET", f"/editions/{EDITION}/revenue", "team"),
        lambda lines: any(r["received_fen"] for r in lines),
        within=30,
        what="revenue",
    )
    gold = [r for r in revenue if (r["by"], r["key"]) == ("tier", "gold")]
    assert sum(r["contracted_fen"] for r in gold) == 20_000_000  # the fee is what remains
    assert sum(r["received_fen"] for r in gold) == 30_000_000
    assert (await api.call("GET", f"/packages/{pid}/checklist", "boc")).status_code == 403
