"""Selling a booth, told as given / when / then over the booth, account and waitlist."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from booths.domain.account import ACCOUNT, Account, account_stream
from booths.domain.booth import BOOTH, Booth, booth_stream
from booths.domain.commands import (
    CancelContract,
    ClaimOffer,
    ConfirmBooth,
    DeclineOffer,
    ExpireHold,
    HoldBooth,
    LapseOffer,
    MoveContract,
    RecordPayment,
    ReleaseHold,
    ReserveBooth,
    WithdrawExhibitor,
)
from booths.domain.events import (
    BoothHeld,
    BoothOffered,
    BoothReserved,
    ContractCancelled,
    ContractFlagged,
    ContractMovedIn,
    ContractMovedOut,
    DepositPaid,
    ExhibitorContractClosed,
    ExhibitorContractMoved,
    ExhibitorContractOpened,
    ExhibitorHoldClosed,
    ExhibitorHoldOpened,
    ExhibitorWithdrawn,
    HallCertified,
    HoldExpired,
    HoldReleased,
    OfferLapsed,
    PaidInFull,
    PaymentReceived,
    WaitlistJoined,
    WaitlistOfferMade,
)
from booths.domain.waitlist import WAITLIST, Waitlist, waitlist_stream
from booths.handlers import (
    cancel_contract,
    claim_offer,
    confirm_booth,
    decline_offer,
    expire_hold,
    hold_booth,
    lapse_offer,
    move_contract,
    record_payment,
    release_hold,
    reserve_booth,
    withdraw_exhibitor,
)
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.registry import DomainEvent
from fairline_events.testing import Scenario, given
from fairline_events.transact import CommandHandler
from unit.booths.factories import (
    CLAIM_WINDOW,
    EDITION,
    HOLD_TTL,
    OPENED,
    T0,
    added,
    admitted,
    spec,
)

HUAWEI, JD, BAIDU = "app-huawei", "app-jd", "app-baidu"


def floor(*events: DomainEvent) -> Scenario:
    """Hall E1 with three shell-scheme booths, SG1 (uncertified) with one raw space."""
    return given(
        *OPENED,
        added("E1-101"),
        added("E1-102", spec(booth_type="raw_space", area="36", sides="corner")),
        added("E1-103"),
        added("SG1-001", spec(hall="SG1", zone="finance", booth_type="raw_space", area="54")),
        admitted(HUAWEI),
        admitted(JD),
        *events,
    )


def booth(world: Scenario, code: str) -> Booth:
    return world.state(BOOTH, booth_stream(EDITION, code))


def account(world: Scenario, exhibitor: str) -> Account:
    return world.state(ACCOUNT, account_stream(exhibitor))


def waitlist(world: Scenario, zone: str = "digital-trust") -> Waitlist:
    return world.state(WAITLIST, waitlist_stream(EDITION, zone))


def hold(
    world: Scenario, code: str, exhibitor: str = HUAWEI, now: datetime = T0, by: str | None = None
) -> list[DomainEvent]:
    command = HoldBooth(edition_code=EDITION, booth_code=code, exhibitor_id=exhibitor, by=by)
    return world.when(hold_booth, command, at=now)


def reserve(
    world: Scenario, code: str, contract: str = "c-1", now: datetime = T0
) -> list[DomainEvent]:
    assert booth(world, code).holder is not None
    command = ReserveBooth(edition_code=EDITION, booth_code=code, contract_id=contract)
    return world.when(reserve_booth, command, at=now)


def pay(world: Scenario, code: str, amount: int, reference: str = "bank-1") -> list[DomainEvent]:
    command = RecordPayment(
        edition_code=EDITION, booth_code=code, amount_fen=amount, reference=reference
    )
    return world.when(record_payment, command)


Freeing = ReleaseHold | ExpireHold | CancelContract | DeclineOffer
FREEING: dict[type[Any], CommandHandler[Any]] = {
    ReleaseHold: release_hold,
    ExpireHold: expire_hold,
    CancelContract: cancel_contract,
    DeclineOffer: decline_offer,
}


def release_like(
    world: Scenario, code: str, command: Freeing, now: datetime = T0
) -> list[DomainEvent]:
    """Commands that may free the booth: they need the holder's account and the waitlist."""
    b = booth(world, code)
    assert b.holder is not None and b.spec is not None
    return world.when(FREEING[type(command)], command, at=now)


# --- holding ------------------------------------------------------------------------------


def test_holding_a_free_booth_prices_it_and_counts_against_the_exhibitor() -> None:
    world = floor()
    events = hold(world, "E1-101")
    [held, opened] = events
    assert isinstance(held, BoothHeld) and isinstance(opened, ExhibitorHoldOpened)
    assert held.exhibitor_id == HUAWEI
    assert held.expires_at == T0 + HOLD_TTL
    assert held.quote.total_fen == 1_215_000  # 9 m² × 1 500 CNY, early bird −10 %
    assert held.quote.rule_version == 1
    assert opened.booth_code == "E1-101"
    assert booth(world, "E1-101").status == "held"
    assert account(world, HUAWEI).holds == {"E1-101"}


def test_a_held_booth_cannot_be_held_by_anyone_else() -> None:
    world = floor()
    hold(world, "E1-101", HUAWEI)
    with pytest.raises(Conflict) as exc:
        hold(world, "E1-101", JD)
    assert exc.value.code == "booth_unavailable" and exc.value.status == 409
    assert exc.value.details["current_status"] == "held"
    with pytest.raises(Conflict):
        hold(world, "E1-101", HUAWEI)


def test_only_exhibitors_approved_for_the_edition_can_hold() -> None:
    world = floor(admitted("app-2020", edition="ciftis-2020"))
    for exhibitor in [BAIDU, "app-2020"]:
        with pytest.raises(Forbidden) as exc:
            hold(world, "E1-101", exhibitor)
        assert exc.value.code == "exhibitor_not_approved"
    assert booth(world, "E1-101").status == "free"


def test_a_company_user_holds_only_for_its_own_exhibitor() -> None:
    world = floor()
    with pytest.raises(Forbidden) as exc:
        hold(world, "E1-101", HUAWEI, by=f"{JD}-staff")
    assert exc.value.code == "not_your_exhibitor"
    assert hold(world, "E1-101", HUAWEI, by=f"{HUAWEI}-staff")


def test_the_hold_cap_stops_hoarding() -> None:
    world = floor(added("E1-104"))
    for code in ["E1-101", "E1-102", "E1-103"]:
        hold(world, code)
    with pytest.raises(Conflict) as exc:
        hold(world, "E1-104")
    assert exc.value.code == "hold_cap_reached"
    assert exc.value.details["cap"] == 3
    release_like(
        world, "E1-101", ReleaseHold(edition_code=EDITION, booth_code="E1-101", reason="x")
    )
    assert hold(world, "E1-104")


def test_the_parks_temporary_halls_sell_only_once_certified() -> None:
    world = floor()
    with pytest.raises(DomainError) as exc:
        hold(world, "SG1-001")
    assert exc.value.code == "hall_not_certified"
    world.given(HallCertified(edition_code=EDITION, hall_code="SG1", certificate_no="BJ-2021-7"))
    [held, _] = hold(world, "SG1-001")
    assert isinstance(held, BoothHeld)
    assert held.quote.total_fen == 5_832_000  # 54 m² × 1 200 CNY, early bird −10 %


def test_an_unknown_booth_is_not_found() -> None:
    with pytest.raises(NotFound) as exc:
        hold(floor(), "E9-999")
    assert exc.value.code == "booth_not_found"


# --- releasing and expiry -----------------------------------------------------------------


def test_the_holder_releases_a_hold() -> None:
    world = floor()
    hold(world, "E1-101")
    command = ReleaseHold(edition_code=EDITION, booth_code="E1-101", reason="not needed")
    events = release_like(world, "E1-101", command)
    assert events == [
        HoldReleased(
            edition_code=EDITION, booth_code="E1-101", exhibitor_id=HUAWEI, reason="not needed"
        ),
        ExhibitorHoldClosed(exhibitor_id=HUAWEI, booth_code="E1-101", outcome="released"),
    ]
    assert booth(world, "E1-101").status == "free"
    assert account(world, HUAWEI).holds == frozenset()


def test_another_company_cannot_release_my_hold() -> None:
    world = floor()
    hold(world, "E1-101")
    command = ReleaseHold(edition_code=EDITION, booth_code="E1-101", reason="x", by=f"{JD}-staff")
    with pytest.raises(Forbidden):
        release_like(world, "E1-101", command)


def test_a_hold_expires_only_once_due_and_only_once() -> None:
    world = floor()
    hold(world, "E1-101")
    expire = ExpireHold(edition_code=EDITION, booth_code="E1-101")
    assert release_like(world, "E1-101", expire, now=T0 + HOLD_TTL - timedelta(seconds=1)) == []
    events = release_like(world, "E1-101", expire, now=T0 + HOLD_TTL)
    assert [type(e) for e in events] == [HoldExpired, ExhibitorHoldClosed]
    assert booth(world, "E1-101").status == "free"
    assert world.when(expire_hold, expire, at=T0) == []


# --- contracts and payments ---------------------------------------------------------------


def test_reserving_turns_the_hold_into_a_contract_at_the_held_price() -> None:
    world = floor()
    hold(world, "E1-101", now=T0 + timedelta(days=29))  # the last early-bird day
    events = reserve(world, "E1-101", now=T0 + timedelta(days=31))
    [reserved, closed, opened] = events
    assert isinstance(reserved, BoothReserved)
    assert reserved.terms.price_fen == 1_215_000  # the held early-bird price
    assert reserved.terms.deposit_fen == 364_500
    assert reserved.terms.quote.rule_version == 1
    assert reserved.terms.opens_on == date(2021, 9, 2)
    assert closed == ExhibitorHoldClosed(
        exhibitor_id=HUAWEI, booth_code="E1-101", outcome="reserved"
    )
    assert opened == ExhibitorContractOpened(
        exhibitor_id=HUAWEI, contract_id="c-1", booth_code="E1-101"
    )
    assert account(world, HUAWEI).holds == frozenset()
    assert account(world, HUAWEI).contracts == {"c-1": "E1-101"}
    assert reserve(world, "E1-101") == []  # the same contract again changes nothing


def test_a_hold_past_its_expiry_cannot_be_reserved() -> None:
    world = floor()
    hold(world, "E1-101")
    with pytest.raises(Conflict) as exc:
        reserve(world, "E1-101", now=T0 + HOLD_TTL)
    assert exc.value.code == "hold_expired"


def test_payments_move_the_contract_to_deposit_paid_then_paid_in_full() -> None:
    world = floor()
    hold(world, "E1-101")
    reserve(world, "E1-101")
    [received, deposit] = pay(world, "E1-101", 400_000, "bank-1")
    assert isinstance(received, PaymentReceived) and received.paid_total_fen == 400_000
    assert isinstance(deposit, DepositPaid)
    assert booth(world, "E1-101").status == "deposit_paid"
    assert pay(world, "E1-101", 400_000, "bank-1") == []  # the same bank reference again
    with pytest.raises(DomainError) as exc:
        pay(world, "E1-101", 815_001, "bank-2")
    assert exc.value.code == "payment_exceeds_balance"
    assert exc.value.details["outstanding_fen"] == 815_000
    [_, full] = pay(world, "E1-101", 815_000, "bank-2")
    assert isinstance(full, PaidInFull)
    assert booth(world, "E1-101").status == "paid_in_full"


def test_one_payment_of_everything_records_both_milestones() -> None:
    world = floor()
    hold(world, "E1-101")
    reserve(world, "E1-101")
    events = pay(world, "E1-101", 1_215_000)
    assert [type(e) for e in events] == [PaymentReceived, DepositPaid, PaidInFull]


def test_confirmation_needs_full_payment() -> None:
    world = floor()
    hold(world, "E1-101")
    reserve(world, "E1-101")
    confirm = ConfirmBooth(edition_code=EDITION, booth_code="E1-101")
    with pytest.raises(DomainError) as exc:
        world.when(confirm_booth, confirm)
    assert exc.value.code == "not_paid_in_full"
    pay(world, "E1-101", 1_215_000)
    world.when(confirm_booth, confirm)
    assert booth(world, "E1-101").status == "confirmed"
    assert world.when(confirm_booth, confirm) == []


def test_payments_need_a_contract() -> None:
    world = floor()
    hold(world, "E1-101")
    with pytest.raises(Conflict) as exc:
        pay(world, "E1-101", 100)
    assert exc.value.code == "no_contract"


# --- cancellation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cancelled_on", "fee_bp"),
    [
        (date(2021, 6, 4), 1_000),  # 90 days before opening
        (date(2021, 6, 5), 3_000),  # 89 days
        (date(2021, 8, 3), 3_000),  # 30 days
        (date(2021, 8, 4), 5_000),  # 29 days
        (date(2021, 9, 2), 5_000),  # the opening day
        (date(2021, 9, 3), 10_000),  # after it opened
    ],
)
def test_the_cancellation_fee_follows_the_contract_terms(cancelled_on: date, fee_bp: int) -> None:
    world = floor()
    hold(world, "E1-101")
    reserve(world, "E1-101")
    pay(world, "E1-101", 364_500)
    when = T0.replace(year=cancelled_on.year, month=cancelled_on.month, day=cancelled_on.day)
    command = CancelContract(edition_code=EDITION, booth_code="E1-101", reason="budget cut")
    [cancelled, closed] = release_like(world, "E1-101", command, now=when)
    assert isinstance(cancelled, ContractCancelled)
    fee = 1_215_000 * fee_bp // 10_000
    assert (cancelled.fee_bp, cancelled.fee_fen) == (fee_bp, fee)
    assert cancelled.refund_due_fen == max(364_500 - fee, 0)
    assert cancelled.owed_fen == max(fee - 364_500, 0)
    assert closed == ExhibitorContractClosed(
        exhibitor_id=HUAWEI, contract_id="c-1", outcome="cancelled"
    )
    assert booth(world, "E1-101").status == "free"
    assert account(world, HUAWEI).contracts == {}


# --- moving -------------------------------------------------------------------------------


def test_moving_re_prices_the_contract_and_carries_the_payments() -> None:
    world = floor()
    hold(world, "E1-101")
    reserve(world, "E1-101")
    pay(world, "E1-101", 1_215_000)
    command = MoveContract(
        edition_code=EDITION, booth_code="E1-101", to_booth_code="E1-102", reason="bigger stand"
    )
    later = T0 + timedelta(days=60)  # past the early-bird deadline: the original day counts
    events = world.when(move_contract, command, at=later)
    [out, into, moved] = events
    assert isinstance(out, ContractMovedOut) and out.to_booth_code == "E1-102"
    assert isinstance(into, ContractMovedIn)
    # 36 m² raw space in the Digital Trust zone at 1 300 CNY, corner +10 %, early bird −10 %
    assert into.terms.price_fen == 4_633_200
    assert into.terms.quote.early_bird and into.terms.quote.quoted_on == T0.date()
    assert into.paid_total_fen == 1_215_000 and into.stage == "reserved"
    assert into.terms.contract_id == "c-1"
    assert moved == ExhibitorContractMoved(
        exhibitor_id=HUAWEI, contract_id="c-1", from_booth_code="E1-101", to_booth_code="E1-102"
    )
    assert booth(world, "E1-101").status == "free"
    assert booth(world, "E1-102").status == "reserved"
    assert account(world, HUAWEI).contracts == {"c-1": "E1-102"}


def test_a_contract_moves_only_to_a_free_booth() -> None:
    world = floor()
    hold(world, "E1-101")
    reserve(world, "E1-101")
    hold(world, "E1-103", JD)
    command = MoveContract(
        edition_code=EDITION, booth_code="E1-101", to_booth_code="E1-103", reason="x"
    )
    with pytest.raises(Conflict) as exc:
        world.when(move_contract, command, at=T0)
    assert exc.value.code == "booth_unavailable"


# --- the waitlist -------------------------------------------------------------------------


def waiting(*exhibitors: str) -> list[DomainEvent]:
    return [
        WaitlistJoined(edition_code=EDITION, zone_code="digital-trust", exhibitor_id=e)
        for e in exhibitors
    ]


def test_a_released_booth_is_offered_to_the_next_in_line_with_a_claim_window() -> None:
    world = floor(admitted(BAIDU), *waiting(JD, BAIDU))
    hold(world, "E1-101")
    command = ReleaseHold(edition_code=EDITION, booth_code="E1-101", reason="x")
    events = release_like(world, "E1-101", command)
    assert events[2:] == [
        BoothOffered(
            edition_code=EDITION,
            booth_code="E1-101",
            exhibitor_id=JD,
            claim_until=T0 + CLAIM_WINDOW,
        ),
        WaitlistOfferMade(
            edition_code=EDITION,
            zone_code="digital-trust",
            exhibitor_id=JD,
            booth_code="E1-101",
            claim_until=T0 + CLAIM_WINDOW,
        ),
    ]
    assert booth(world, "E1-101").status == "offered"
    assert waitlist(world).line == (BAIDU,)
    with pytest.raises(Conflict):
        hold(world, "E1-101", BAIDU)  # not offered to Baidu yet


def test_the_offered_exhibitor_claims_within_the_window() -> None:
    world = floor(*waiting(JD))
    hold(world, "E1-101")
    release_like(
        world, "E1-101", ReleaseHold(edition_code=EDITION, booth_code="E1-101", reason="x")
    )
    claim = ClaimOffer(edition_code=EDITION, booth_code="E1-101")
    later = T0 + CLAIM_WINDOW - timedelta(minutes=1)
    events = world.when(claim_offer, claim, at=later)
    assert [type(e) for e in events] == [BoothHeld, ExhibitorHoldOpened]
    assert booth(world, "E1-101").holder == JD


def test_an_unclaimed_offer_lapses_to_the_next_in_line_then_frees_the_booth() -> None:
    world = floor(admitted(BAIDU), *waiting(JD, BAIDU))
    hold(world, "E1-101")
    release_like(
        world, "E1-101", ReleaseHold(edition_code=EDITION, booth_code="E1-101", reason="x")
    )
    lapse = LapseOffer(edition_code=EDITION, booth_code="E1-101")

    def run(now: datetime) -> list[DomainEvent]:
        return world.when(lapse_offer, lapse, at=now)

    assert run(T0 + CLAIM_WINDOW - timedelta(seconds=1)) == []
    first = run(T0 + CLAIM_WINDOW)
    assert first[0] == OfferLapsed(
        edition_code=EDITION, booth_code="E1-101", exhibitor_id=JD, outcome="lapsed"
    )
    assert booth(world, "E1-101").holder == BAIDU
    run(T0 + 2 * CLAIM_WINDOW)
    assert booth(world, "E1-101").status == "free"
    late = ClaimOffer(edition_code=EDITION, booth_code="E1-101")
    with pytest.raises(Conflict) as exc:
        world.when(claim_offer, late, at=T0)
    assert exc.value.code == "no_offer"


def test_declining_passes_the_offer_on() -> None:
    world = floor(admitted(BAIDU), *waiting(JD, BAIDU))
    hold(world, "E1-101")
    release_like(
        world, "E1-101", ReleaseHold(edition_code=EDITION, booth_code="E1-101", reason="x")
    )
    decline = DeclineOffer(edition_code=EDITION, booth_code="E1-101")
    events = release_like(world, "E1-101", decline)
    assert events[0] == OfferLapsed(
        edition_code=EDITION, booth_code="E1-101", exhibitor_id=JD, outcome="declined"
    )
    assert booth(world, "E1-101").holder == BAIDU


# --- withdrawal ---------------------------------------------------------------------------


def test_a_withdrawal_releases_holds_flags_contracts_and_serves_the_waitlist() -> None:
    world = floor(admitted(BAIDU), *waiting(BAIDU))
    hold(world, "E1-101")
    hold(world, "E1-103")
    reserve(world, "E1-103", "c-9")
    hold(world, "E1-102")
    command = WithdrawExhibitor(exhibitor_id=HUAWEI, reason="budget cut")
    events = world.when(withdraw_exhibitor, command, at=T0)
    assert events[0] == ExhibitorWithdrawn(exhibitor_id=HUAWEI, reason="budget cut")
    released = [e.booth_code for e in events if isinstance(e, HoldReleased)]
    assert released == ["E1-101", "E1-102"]
    [flagged] = [e for e in events if isinstance(e, ContractFlagged)]
    assert flagged.contract_id == "c-9" and "budget cut" in flagged.reason
    assert booth(world, "E1-101").holder == BAIDU and booth(world, "E1-101").status == "offered"
    assert booth(world, "E1-102").status == "free"  # the line was empty by then
    contract = booth(world, "E1-103").contract
    assert contract is not None and contract.flag is not None
    with pytest.raises(Forbidden) as exc:
        hold(world, "E1-102")
    assert exc.value.code == "exhibitor_withdrawn"
    again = world.when(withdraw_exhibitor, command, at=T0)
    assert again == []
