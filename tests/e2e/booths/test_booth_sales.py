"""Booth sales end to end over HTTP, with the relay, projections and jobs running."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from e2e.booths.harness import (
    EDITION,
    Api,
    ExhibitorFeed,
    add_booths,
    admitted,
    open_edition,
    running,
)
from fairline_events.settings import ServiceSettings
from support.waiting import eventually

pytestmark = pytest.mark.infra

E = f"/editions/{EDITION}"


@pytest.fixture
async def api(settings: ServiceSettings) -> AsyncIterator[Api]:
    async with running(settings) as api:
        yield api


async def floor(api: Api, hall: str = "E1") -> dict[str, dict[str, object]]:
    response = await api.call("GET", f"{E}/halls/{hall}/floor-plan", "sales")
    if response.status_code == 404:  # the projection has not seen the hall yet
        return {}
    assert response.status_code == 200, response.text
    return {b["booth_code"]: b for b in response.json()["booths"]}


async def test_only_approved_exhibitors_hold_and_the_floor_plan_follows_within_a_second(
    api: Api, settings: ServiceSettings
) -> None:
    feed = ExhibitorFeed(settings)
    await open_edition(api)
    await add_booths(api, "E1", ["E1-101", "E1-102"])
    await eventually(lambda: floor(api), lambda f: len(f) == 2, within=10, what="booths listed")

    early = await api.call(
        "POST", f"{E}/booths/E1-101/hold", "user:huawei-staff", json={"exhibitor_id": "huawei"}
    )
    assert early.status_code == 403, early.text
    assert early.json()["error"]["code"] == "exhibitor_not_approved"

    await feed.approve("huawei", "jd")
    await admitted(api, 2)

    started = time.monotonic()
    held = await api.ok(
        "POST", f"{E}/booths/E1-101/hold", "user:huawei-staff", json={"exhibitor_id": "huawei"}
    )
    assert held["status"] == "held" and held["holder"] == "huawei"
    assert held["hold_quote"]["total_fen"] == 1_350_000 and held["hold_quote"]["rule_version"] == 1
    plan = await eventually(
        lambda: floor(api),
        lambda f: f["E1-101"]["status"] == "held",
        within=5,
        what="the hold on the floor plan",
    )
    assert time.monotonic() - started < 1.0, "the floor plan lagged more than a second"
    assert plan["E1-101"]["exhibitor_id"] == "huawei"
    assert plan["E1-101"]["exhibitor_name_en"] == "huawei Ltd"

    taken = await api.call(
        "POST", f"{E}/booths/E1-101/hold", "user:jd-staff", json={"exhibitor_id": "jd"}
    )
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "booth_unavailable"
    not_mine = await api.call(
        "POST", f"{E}/booths/E1-102/hold", "user:jd-staff", json={"exhibitor_id": "huawei"}
    )
    assert not_mine.status_code == 403 and not_mine.json()["error"]["code"] == "not_your_exhibitor"


async def test_hold_reserve_pay_confirm_then_the_history_and_balance_tell_it(
    api: Api, settings: ServiceSettings
) -> None:
    await open_edition(api)
    await add_booths(api, "E1", ["E1-101"])
    await ExhibitorFeed(settings).approve("huawei")
    await admitted(api, 1)
    await api.ok("POST", f"{E}/booths/E1-101/hold", "sales", json={"exhibitor_id": "huawei"})
    reserved = await api.ok(
        "POST", f"{E}/booths/E1-101/reserve", "sales", json={"contract_id": "c-huawei-1"}
    )
    assert reserved["status"] == "reserved"
    contract = reserved["contract"]
    assert (contract["price_fen"], contract["deposit_fen"]) == (1_350_000, 405_000)

    deposit = await api.ok(
        "POST",
        f"{E}/booths/E1-101/payments",
        "sales",
        json={"amount_fen": 405_000, "reference": "icbc-001"},
    )
    assert deposit["status"] == "deposit_paid"
    again = await api.ok(
        "POST",
        f"{E}/booths/E1-101/payments",
        "sales",
        json={"amount_fen": 405_000, "reference": "icbc-001"},
    )
    assert again["contract"]["paid_fen"] == 405_000, "the same bank reference counted twice"
    too_much = await api.call(
        "POST",
        f"{E}/booths/E1-101/payments",
        "sales",
        json={"amount_fen": 1_000_000, "reference": "icbc-002"},
    )
    assert too_much.status_code == 422
    assert too_much.json()["error"]["code"] == "payment_exceeds_balance"
    early = await api.call("POST", f"{E}/booths/E1-101/confirm", "sales")
    assert early.status_code == 422 and early.json()["error"]["code"] == "not_paid_in_full"

    await api.ok(
        "POST",
        f"{E}/booths/E1-101/payments",
        "sales",
        json={"amount_fen": 945_000, "reference": "icbc-003"},
    )
    confirmed = await api.ok("POST", f"{E}/booths/E1-101/confirm", "sales")
    assert confirmed["status"] == "confirmed"

    history = await api.ok("GET", f"{E}/booths/E1-101/history", "sales")
    assert [h["event_type"] for h in history] == [
        "booths.BoothAdded",
        "booths.BoothHeld",
        "booths.BoothReserved",
        "booths.PaymentReceived",
        "booths.DepositPaid",
        "booths.PaymentReceived",
        "booths.PaidInFull",
        "booths.BoothConfirmed",
    ]
    held = history[1]
    assert (held["exhibitor_id"], held["price_fen"], held["rule_version"]) == (
        "huawei",
        1_350_000,
        1,
    )
    assert history[2]["contract_id"] == "c-huawei-1" and history[2]["actor"] == "user:sales-1"

    account = await eventually(
        lambda: api.ok("GET", "/exhibitors/huawei/account", "user:huawei-staff"),
        lambda a: a["contracts"] and a["contracts"][0]["status"] == "confirmed",
        within=10,
        what="the confirmed contract in the exhibitor's account",
    )
    assert (account["charged_fen"], account["paid_fen"], account["balance_fen"]) == (
        1_350_000,
        1_350_000,
        0,
    )
    other = await api.call("GET", "/exhibitors/huawei/account", "user:jd-staff")
    assert other.status_code == 403


async def test_a_withdrawal_releases_holds_and_flags_contracts(
    api: Api, settings: ServiceSettings
) -> None:
    feed = ExhibitorFeed(settings)
    await open_edition(api)
    await add_booths(api, "E1", ["E1-101", "E1-102"])
    await feed.approve("huawei")
    await admitted(api, 1)
    for code in ["E1-101", "E1-102"]:
        await api.ok("POST", f"{E}/booths/{code}/hold", "sales", json={"exhibitor_id": "huawei"})
    await api.ok("POST", f"{E}/booths/E1-102/reserve", "sales", json={})

    await feed.withdraw("huawei", "budget cut")
    plan = await eventually(
        lambda: floor(api),
        lambda f: f["E1-101"]["status"] == "free" and f["E1-102"]["flag"] is not None,
        within=15,
        what="the hold released and the contract flagged",
    )
    assert plan["E1-102"]["status"] == "reserved"
    assert "budget cut" in str(plan["E1-102"]["flag"])
    refused = await api.call(
        "POST", f"{E}/booths/E1-101/hold", "sales", json={"exhibitor_id": "huawei"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "exhibitor_withdrawn"


async def test_a_booths_holder_and_money_are_seen_by_its_holder_sales_and_ops_only(
    api: Api, settings: ServiceSettings
) -> None:
    await open_edition(api)
    await add_booths(api, "E1", ["E1-101"])
    await ExhibitorFeed(settings).approve("huawei", "jd")
    await admitted(api, 2)
    await api.ok("POST", f"{E}/booths/E1-101/hold", "sales", json={"exhibitor_id": "huawei"})
    await api.ok("POST", f"{E}/booths/E1-101/reserve", "sales", json={"contract_id": "c-hw-1"})

    for who in ("sales", "ops", "user:huawei-staff"):
        full = await api.ok("GET", f"{E}/booths/E1-101", who)
        assert full["holder"] == "huawei" and full["contract"]["price_fen"] == 1_350_000, who
    for who in ("visitor", "user:jd-staff", "recruitment"):
        seen = await api.ok("GET", f"{E}/booths/E1-101", who)
        assert seen["status"] == "reserved" and seen["spec"], who
        hidden = ("holder", "contract", "hold_quote", "hold_expires_at", "offer_until")
        assert all(seen[field] is None for field in hidden), (who, seen)
        assert "huawei" not in str(seen) and "1350000" not in str(seen), who
