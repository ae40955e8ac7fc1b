"""A sponsor's booth discount, given / when / then: the booths handler's own plan, in memory."""

from __future__ import annotations

from datetime import timedelta

from booths.domain.commands import CancelContract, GrantSponsorDiscount, MoveContract
from booths.domain.events import (
    BoothPriceAdjusted,
    ContractCancelled,
    ContractMovedIn,
    PaidInFull,
    SponsorDiscountGranted,
    SponsorDiscountRefused,
)
from booths.handlers import cancel_contract, grant_sponsor_discount, move_contract
from fairline_events.registry import DomainEvent
from fairline_events.testing import Scenario
from unit.booths.factories import EDITION, T0
from unit.booths.test_sales import HUAWEI, JD, booth, floor, hold, pay, reserve


def discount(
    world: Scenario, exhibitor: str = HUAWEI, percent: int = 30, attempt: int = 1
) -> list[DomainEvent]:
    command = GrantSponsorDiscount(package_id="pkg-1", benefit_no=5, attempt=attempt,
                                   edition_code=EDITION, exhibitor_id=exhibitor,
                                   sponsor_name="Huawei", percent=percent)  # fmt: skip
    return world.when(grant_sponsor_discount, command, at=T0)


def contracted(world: Scenario, code: str = "E1-101", contract: str = "c-1") -> None:
    hold(world, code)
    reserve(world, code, contract)


def test_a_discount_lowers_the_sponsors_booth_contract_and_says_for_which_package() -> None:
    world = floor()
    contracted(world)  # 1 215 000 fen, deposit 364 500
    [adjusted, granted] = discount(world)
    assert isinstance(adjusted, BoothPriceAdjusted)
    assert (adjusted.price_before_fen, adjusted.price_after_fen) == (1_215_000, 850_500)
    assert adjusted.adjustment.granted_for == "sponsorship:pkg-1:5"
    assert "Huawei's sponsorship package pkg-1" in adjusted.adjustment.reason
    assert isinstance(granted, SponsorDiscountGranted) and granted.discount_bp == 3_000
    assert [(c.contract_id, c.price_after_fen) for c in granted.contracts] == [("c-1", 850_500)]
    contract = booth(world, "E1-101").contract
    assert contract is not None and contract.outstanding_fen == 850_500
    assert contract.terms.deposit_fen == 364_500


def test_the_fee_and_a_move_follow_the_discounted_price() -> None:
    world = floor()
    contracted(world)
    discount(world)
    command = MoveContract(edition_code=EDITION, booth_code="E1-101", to_booth_code="E1-102",
                           reason="bigger stand")  # fmt: skip
    into = world.when(move_contract, command, at=T0 + timedelta(days=1))[1]
    assert isinstance(into, ContractMovedIn)
    assert into.terms.price_fen == 4_633_200 - 1_389_960  # re-priced, still 30 % off
    cancel = CancelContract(edition_code=EDITION, booth_code="E1-102", reason="budget cut")
    cancelled = world.when(cancel_contract, cancel, at=T0 + timedelta(days=2))[0]
    assert isinstance(cancelled, ContractCancelled)
    assert cancelled.price_fen == 3_243_240 and cancelled.fee_fen == 324_324  # 10 % fee


def test_paid_beyond_the_new_price_the_contract_is_paid_in_full_with_a_refund_due() -> None:
    world = floor()
    contracted(world)
    pay(world, "E1-101", 900_000)
    [adjusted, full, _] = discount(world)
    assert isinstance(adjusted, BoothPriceAdjusted) and adjusted.refund_due_fen == 49_500
    assert isinstance(full, PaidInFull)
    assert booth(world, "E1-101").status == "paid_in_full"


def test_a_company_without_a_booth_contract_is_refused_with_the_booths_reason() -> None:
    world = floor()
    hold(world, "E1-101", JD)  # held, not yet under contract
    [refused] = discount(world, exhibitor=JD)
    assert isinstance(refused, SponsorDiscountRefused) and refused.code == "no_booth_contract"
    assert "exhibitor app-jd holds no booth under contract in ciftis-2021" in refused.reason
    [refused] = discount(world, exhibitor="app-unknown", attempt=2)
    assert isinstance(refused, SponsorDiscountRefused) and refused.code == "exhibitor_not_approved"
    [refused] = discount(world, percent=150, attempt=3)
    assert isinstance(refused, SponsorDiscountRefused) and refused.code == "discount_out_of_range"


def test_a_redelivered_request_lowers_nothing_twice_and_a_new_attempt_is_decided_afresh() -> None:
    world = floor()
    assert isinstance(discount(world)[0], SponsorDiscountRefused)  # nothing signed yet
    assert discount(world) == []  # the same request again
    contracted(world)
    assert isinstance(discount(world, attempt=2)[-1], SponsorDiscountGranted)
    assert discount(world, attempt=2) == [] and discount(world, attempt=3) == []
    contract = booth(world, "E1-101").contract
    assert contract is not None and contract.terms.price_fen == 850_500  # lowered once


def test_once_every_discounted_contract_is_cancelled_a_later_attempt_is_decided_afresh() -> None:
    world = floor()
    contracted(world)
    discount(world)
    assert discount(world, attempt=2) == []  # its contract stands: answered already
    cancel = CancelContract(edition_code=EDITION, booth_code="E1-101", reason="budget cut")
    world.when(cancel_contract, cancel, at=T0 + timedelta(days=1))
    [refused] = discount(world, attempt=2)  # nothing under contract now
    assert isinstance(refused, SponsorDiscountRefused) and refused.code == "no_booth_contract"
    contracted(world, "E1-102", "c-2")
    *_, granted = discount(world, attempt=3)
    assert isinstance(granted, SponsorDiscountGranted)
    assert [c.contract_id for c in granted.contracts] == ["c-2"]
    assert discount(world, attempt=3) == [] and discount(world, attempt=1) == []
