"""Benefits another service delivers, given / when / then: what the request carries to it, and
how its answer settles the deliverable (never by hand, never an older request's answer)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fairline_events.errors import Conflict, DomainError
from fairline_events.testing import Scenario
from sponsorship.domain.commands import (
    DefineTier,
    DeliverBenefit,
    FailBenefit,
    Launch,
    RequestBenefit,
    ReviseProof,
    WithdrawBenefit,
)
from sponsorship.domain.events import (
    Benefit,
    BenefitProofRevised,
    BenefitRequested,
    BenefitWithdrawn,
)
from sponsorship.domain.package import PACKAGE, Deliverable, package_stream
from sponsorship.handlers import (
    define_tier,
    deliver_benefit,
    fail_benefit,
    offer_package,
    request_benefit,
    revise_proof,
    sign_contract,
    withdraw_benefit,
)
from unit.sponsorship.test_rules import ED, T0, contract, desk, offer

LAUNCH = Launch(day=date(2021, 9, 3), title_zh="鸿蒙发布", title_en="HarmonyOS launch")


def signed() -> Scenario:
    """Huawei's package of a tier with a launch slot (1) and a 30 % booth discount (2)."""
    world = desk()
    world.when(define_tier, DefineTier(
        edition_code=ED, tier_code="partner", name="partner", quantity=2, price_fen=1_000_000,
        benefits=[Benefit(kind="launch_slot"), Benefit(kind="booth_discount", quantity=30)],
    ), at=T0)  # fmt: skip
    world.when(offer_package, offer("huawei", tier="partner", category="telecoms"), at=T0)
    world.when(sign_contract, contract("huawei"), at=T0)
    return world


def benefit(world: Scenario, number: int) -> Deliverable:
    return world.state(PACKAGE, package_stream("huawei")).benefits[number - 1]


def test_a_launch_slot_and_a_booth_discount_go_out_with_the_sponsors_exhibitor() -> None:
    world = signed()
    with pytest.raises(DomainError) as refused:
        world.when(request_benefit, RequestBenefit(package_id="huawei", benefit_no=1), at=T0)
    assert refused.value.code == "launch_needed"
    with pytest.raises(DomainError) as refused:
        world.when(request_benefit, RequestBenefit(package_id="huawei", benefit_no=2), at=T0)
    assert refused.value.code == "exhibitor_needed"
    ask = RequestBenefit(package_id="huawei", benefit_no=1, exhibitor_id="app-huawei",
                         launch=LAUNCH)  # fmt: skip
    [launch] = world.when(request_benefit, ask, at=T0)
    [discount] = world.when(request_benefit, RequestBenefit(
        package_id="huawei", benefit_no=2, exhibitor_id="app-huawei"), at=T0)  # fmt: skip
    assert isinstance(launch, BenefitRequested) and isinstance(discount, BenefitRequested)
    assert (launch.edition_code, launch.exhibitor_id, launch.attempt) == (ED, "app-huawei", 1)
    assert launch.launch is not None and launch.launch.title_en == "HarmonyOS launch"
    assert (discount.kind, discount.quantity) == ("booth_discount", 30)


def test_what_another_service_owns_is_delivered_only_on_its_confirmation() -> None:
    world = signed()
    world.when(request_benefit, RequestBenefit(
        package_id="huawei", benefit_no=2, exhibitor_id="app-huawei"), at=T0)  # fmt: skip
    by_hand = DeliverBenefit(package_id="huawei", benefit_no=2, proof="trust me")
    with pytest.raises(Conflict) as refused:
        world.when(deliver_benefit, by_hand, at=T0)
    assert refused.value.code == "delivered_by_another_service"
    assert refused.value.details["service"] == "booths"
    wrong_service = by_hand.model_copy(update={"confirmed_by": "forums"})
    with pytest.raises(Conflict):
        world.when(deliver_benefit, wrong_service, at=T0)
    proof = "booth E1-101 ¥12,150.00 → ¥8,505.00"
    confirmed = by_hand.model_copy(update={"confirmed_by": "booths", "attempt": 1, "proof": proof})
    world.when(deliver_benefit, confirmed, at=T0)
    assert (benefit(world, 2).standing, benefit(world, 2).note) == ("delivered", proof)
    assert world.when(deliver_benefit, confirmed, at=T0) == []  # the answer again


def test_an_answer_to_an_older_request_changes_nothing() -> None:
    world = signed()
    ask = RequestBenefit(package_id="huawei", benefit_no=1, exhibitor_id="app-tencent",
                         launch=LAUNCH)  # fmt: skip
    world.when(request_benefit, ask, at=T0)
    refusal = FailBenefit(package_id="huawei", benefit_no=1, attempt=1,
                          reason="company app-tencent is not an approved exhibitor")  # fmt: skip
    world.when(fail_benefit, refusal, at=T0)
    assert benefit(world, 1).standing == "failed"
    # asked again with the right company: attempt 2, which the replayed refusal cannot fail
    [again] = world.when(request_benefit, ask.model_copy(update={"exhibitor_id": "app-huawei"}),
                         at=T0)  # fmt: skip
    assert isinstance(again, BenefitRequested) and again.attempt == 2
    assert world.when(fail_benefit, refusal, at=T0) == []
    booked = DeliverBenefit(package_id="huawei", benefit_no=1, confirmed_by="forums",
                            attempt=1, proof="an old slot")  # fmt: skip
    assert world.when(deliver_benefit, booked, at=T0) == []
    assert (benefit(world, 1).standing, benefit(world, 1).attempt) == ("requested", 2)
    world.when(deliver_benefit, booked.model_copy(update={"attempt": 2, "proof": "slot"}), at=T0)
    assert benefit(world, 1).standing == "delivered"


def test_a_launch_forums_cancels_is_withdrawn_with_who_when_why_and_can_be_asked_again() -> None:
    world = signed()
    ask = RequestBenefit(package_id="huawei", benefit_no=1, exhibitor_id="app-huawei",
                         launch=LAUNCH)  # fmt: skip
    world.when(request_benefit, ask, at=T0)
    booked = DeliverBenefit(package_id="huawei", benefit_no=1, confirmed_by="forums",
                            attempt=1, proof="forums launch sponsor-huawei-1")  # fmt: skip
    world.when(deliver_benefit, booked, at=T0)
    cancelled = WithdrawBenefit(
        package_id="huawei", benefit_no=1, attempt=1, service="forums", withdrawn_by="t-7",
        withdrawn_at=T0 + timedelta(days=2), reason="forums cancelled launch: hall flooded",
    )  # fmt: skip
    # a cancellation of what another service delivered, or of a delivery not yet made, is not it
    for other in ({"service": "booths"}, {"attempt": 2}):
        assert world.when(withdraw_benefit, cancelled.model_copy(update=other), at=T0) == []
    [withdrawn] = world.when(withdraw_benefit, cancelled, at=T0 + timedelta(days=2))
    assert isinstance(withdrawn, BenefitWithdrawn)
    assert (withdrawn.withdrawn_by, withdrawn.withdrawn_at, withdrawn.reason) == (
        "t-7", T0 + timedelta(days=2), "forums cancelled launch: hall flooded")  # fmt: skip
    assert (benefit(world, 1).standing, benefit(world, 1).note) == (
        "withdrawn", "forums cancelled launch: hall flooded")  # fmt: skip
    assert world.when(withdraw_benefit, cancelled, at=T0) == []  # the cancellation again
    # asked again (attempt 2) and booked: the first launch's cancellation, replayed, stays old
    [again] = world.when(request_benefit, ask, at=T0)
    assert isinstance(again, BenefitRequested) and again.attempt == 2
    world.when(deliver_benefit, booked.model_copy(update={"attempt": 2}), at=T0)
    assert world.when(withdraw_benefit, cancelled, at=T0) == []
    assert benefit(world, 1).standing == "delivered"


def test_a_launch_forums_moves_keeps_delivered_with_the_new_proof_once() -> None:
    world = signed()
    ask = RequestBenefit(package_id="huawei", benefit_no=1, exhibitor_id="app-huawei",
                         launch=LAUNCH)  # fmt: skip
    world.when(request_benefit, ask, at=T0)
    booked = DeliverBenefit(package_id="huawei", benefit_no=1, confirmed_by="forums",
                            attempt=1, proof="forums launch sponsor-huawei-1, 09:00")  # fmt: skip
    world.when(deliver_benefit, booked, at=T0)
    move = ReviseProof(package_id="huawei", benefit_no=1, attempt=1, service="forums",
                       proof="forums launch sponsor-huawei-1, 14:00")  # fmt: skip
    # a move of what another service delivered, or of a delivery not made, is not it
    for other in ({"service": "booths"}, {"attempt": 2}):
        assert world.when(revise_proof, move.model_copy(update=other), at=T0) == []
    [revised] = world.when(revise_proof, move, at=T0)
    assert isinstance(revised, BenefitProofRevised) and revised.attempt == 1
    assert (benefit(world, 1).standing, benefit(world, 1).note) == (
        "delivered", "forums launch sponsor-huawei-1, 14:00")  # fmt: skip
    assert world.when(revise_proof, move, at=T0) == []  # the move again
