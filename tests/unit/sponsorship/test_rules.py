"""The sponsorship desk's rules, given / when / then, in memory: the handlers' own plans."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from fairline_events.errors import Conflict, DomainError, Forbidden, NotFound
from fairline_events.testing import Scenario, given
from sponsorship.domain.booking import BOOKING, booking_stream, serving
from sponsorship.domain.category import CATEGORY, category_stream
from sponsorship.domain.commands import (
    CancelPackage,
    ConfirmBooking,
    DefinePlacement,
    DefineTier,
    DeliverBenefit,
    ExpireOffer,
    FailBenefit,
    HoldSlot,
    LapseHold,
    OfferPackage,
    RecordPayment,
    RequestBenefit,
    ReviewCreative,
    SignContract,
    Stay,
    SubmitCreative,
)
from sponsorship.domain.events import (
    Benefit,
    BenefitRequested,
    Instalment,
    OfferExpired,
    PackageCancelled,
)
from sponsorship.domain.package import PACKAGE, package_stream
from sponsorship.domain.tier import TIER, tier_stream
from sponsorship.handlers import (
    cancel_package,
    confirm_booking,
    define_placement,
    define_tier,
    deliver_benefit,
    expire_offer,
    fail_benefit,
    hold_slot,
    lapse_hold,
    offer_package,
    record_payment,
    request_benefit,
    review_creative,
    sign_contract,
    submit_creative,
)

ED = "ciftis-2021"
T0 = datetime(2021, 6, 1, 9, 0, tzinfo=UTC)
DAY = date(2021, 9, 2)


def desk() -> Scenario:
    world = given()
    world.when(define_tier, DefineTier(
        edition_code=ED, tier_code="gold", name="gold", quantity=2, price_fen=1_000_000,
        benefits=[Benefit(kind="logo"), Benefit(kind="hotel_rooms", quantity=10)],
    ), at=T0)  # fmt: skip
    world.when(define_tier, DefineTier(
        edition_code=ED, tier_code="strategic-partner", name="strategic partner", quantity=3,
        exclusivity="edition", price_fen=5_000_000,
    ), at=T0)  # fmt: skip
    world.when(define_placement, DefinePlacement(
        edition_code=ED, placement_code="home-banner", channel="website", name="home banner",
        price_per_day_fen=10_000,
    ), at=T0)  # fmt: skip
    world.when(define_placement, DefinePlacement(
        edition_code=ED, placement_code="carousel", channel="mini-program", name="carousel",
        kind="shared", shares=2, price_per_day_fen=2_000,
    ), at=T0)  # fmt: skip
    return world


def offer(package_id: str, *, tier: str = "gold", category: str = "banking",
          sponsor: str | None = None) -> OfferPackage:  # fmt: skip
    return OfferPackage(
        package_id=package_id, edition_code=ED, tier_code=tier, sponsor_id=sponsor or package_id,
        sponsor_name=package_id.title(), category=category, by="sales-1",
    )  # fmt: skip


def hold(booking_id: str, first: int, last: int, placement: str = "home-banner") -> HoldSlot:
    return HoldSlot(
        booking_id=booking_id, edition_code=ED, placement_code=placement, sponsor_id="s-1",
        first_day=DAY + timedelta(days=first), last_day=DAY + timedelta(days=last),
        hold_minutes=60, by="sales-1",
    )  # fmt: skip


# --- tiers, categories, packages --------------------------------------------------------------


def test_one_sponsor_per_category_in_a_tier() -> None:
    world = desk()
    world.when(offer_package, offer("icbc"), at=T0)
    with pytest.raises(Conflict) as refused:
        world.when(offer_package, offer("boc"), at=T0)
    assert refused.value.code == "category_taken"
    world.when(offer_package, offer("huawei", category="telecoms"), at=T0)  # another category


def test_an_edition_exclusive_tier_takes_the_category_from_every_tier() -> None:
    world = desk()
    world.when(offer_package, offer("icbc", tier="strategic-partner"), at=T0)
    with pytest.raises(Conflict) as refused:
        world.when(offer_package, offer("boc", tier="gold"), at=T0)
    assert refused.value.details["tier"] == "strategic-partner"


def test_an_edition_exclusive_sale_needs_the_category_free_everywhere() -> None:
    world = desk()
    world.when(offer_package, offer("boc", tier="gold"), at=T0)
    with pytest.raises(Conflict):
        world.when(offer_package, offer("icbc", tier="strategic-partner"), at=T0)


def test_a_tier_sells_no_more_than_its_quantity() -> None:
    world = desk()
    world.when(offer_package, offer("a", category="banking"), at=T0)
    world.when(offer_package, offer("b", category="telecoms"), at=T0)
    with pytest.raises(Conflict) as refused:
        world.when(offer_package, offer("c", category="automotive"), at=T0)
    assert refused.value.code == "tier_sold_out"


def test_an_unknown_tier_is_refused() -> None:
    with pytest.raises(DomainError) as refused:
        desk().when(offer_package, offer("a", tier="diamond"), at=T0)
    assert refused.value.code == "unknown_tier"


def test_an_expired_offer_gives_its_place_and_category_back() -> None:
    world = desk()
    world.when(offer_package, offer("icbc"), at=T0)
    assert world.when(expire_offer, ExpireOffer(package_id="icbc"), at=T0) == []  # not yet due
    later = T0 + timedelta(days=15)
    events = world.when(expire_offer, ExpireOffer(package_id="icbc"), at=later)
    assert isinstance(events[0], OfferExpired)
    assert world.state(TIER, tier_stream(ED, "gold")).holders == frozenset()
    assert world.state(CATEGORY, category_stream(ED, "banking")).holders == {}
    world.when(offer_package, offer("boc"), at=later)  # the category is free again
    with pytest.raises(Conflict) as refused:
        world.when(sign_contract, contract("icbc"), at=later)
    assert refused.value.code == "package_expired"


def contract(package_id: str, *amounts: int) -> SignContract:
    amounts = amounts or (300_000, 700_000)
    return SignContract(
        package_id=package_id, contract_no=f"C-{package_id}",
        instalments=[Instalment(due_on=date(2021, 7 + n, 1), amount_fen=a)
                     for n, a in enumerate(amounts)],
    )  # fmt: skip


def test_a_contract_s_instalments_add_up_to_the_price() -> None:
    world = desk()
    world.when(offer_package, offer("icbc"), at=T0)
    with pytest.raises(DomainError) as refused:
        world.when(sign_contract, contract("icbc", 300_000, 600_000), at=T0)
    assert refused.value.code == "instalments_do_not_add_up"
    world.when(sign_contract, contract("icbc"), at=T0)
    assert world.state(PACKAGE, package_stream("icbc")).status == "contracted"


def test_payments_count_once_and_never_past_the_price() -> None:
    world = desk()
    world.when(offer_package, offer("icbc"), at=T0)
    world.when(sign_contract, contract("icbc"), at=T0)
    pay = RecordPayment(package_id="icbc", payment_id="bank-1", amount_fen=300_000)
    world.when(record_payment, pay, at=T0)
    assert world.when(record_payment, pay, at=T0) == []  # the bank's notice again
    with pytest.raises(DomainError) as refused:
        world.when(record_payment, RecordPayment(
            package_id="icbc", payment_id="bank-2", amount_fen=700_001), at=T0)  # fmt: skip
    assert refused.value.code == "overpayment"
    assert world.state(PACKAGE, package_stream("icbc")).paid_fen == 300_000


def test_a_cancelled_contract_keeps_its_fee_and_refunds_the_rest() -> None:
    world = desk()
    world.when(offer_package, offer("icbc"), at=T0)
    world.when(sign_contract, contract("icbc"), at=T0)
    world.when(record_payment, RecordPayment(
        package_id="icbc", payment_id="bank-1", amount_fen=700_000), at=T0)  # fmt: skip
    events = world.when(cancel_package, CancelPackage(package_id="icbc", reason="budget"), at=T0)
    cancelled = events[0]
    assert isinstance(cancelled, PackageCancelled)
    assert (cancelled.fee_fen, cancelled.refund_fen) == (300_000, 400_000)  # 30 % of 1,000,000
    world.when(offer_package, offer("boc"), at=T0)  # place and category free again


def test_a_withdrawn_offer_costs_nothing() -> None:
    world = desk()
    world.when(offer_package, offer("icbc"), at=T0)
    events = world.when(cancel_package, CancelPackage(package_id="icbc", reason="no"), at=T0)
    assert isinstance(events[0], PackageCancelled) and events[0].fee_fen == 0


def test_benefits_move_pending_requested_delivered_or_failed() -> None:
    world = desk()
    world.when(offer_package, offer("icbc"), at=T0)
    with pytest.raises(Conflict):  # nothing is delivered on an unsigned offer
        world.when(request_benefit, RequestBenefit(package_id="icbc", benefit_no=1), at=T0)
    world.when(sign_contract, contract("icbc"), at=T0)
    world.when(request_benefit, RequestBenefit(package_id="icbc", benefit_no=1), at=T0)
    world.when(deliver_benefit, DeliverBenefit(
        package_id="icbc", benefit_no=1, proof="photo of the backdrop"), at=T0)  # fmt: skip
    with pytest.raises(DomainError) as refused:  # hotel rooms: where and when?
        world.when(request_benefit, RequestBenefit(package_id="icbc", benefit_no=2), at=T0)
    assert refused.value.code == "stay_needed"
    stay = Stay(hotel_code="cncc-grand", room_type="standard", first_night=DAY,
                last_night=DAY + timedelta(days=2))  # fmt: skip
    requested = world.when(
        request_benefit, RequestBenefit(package_id="icbc", benefit_no=2, stay=stay), at=T0
    )
    assert isinstance(requested[0], BenefitRequested) and requested[0].stay is not None
    world.when(fail_benefit, FailBenefit(
        package_id="icbc", benefit_no=2, reason="no rooms left"), at=T0)  # fmt: skip
    benefits = world.state(PACKAGE, package_stream("icbc")).benefits
    assert [(b.standing, b.note) for b in benefits] == [
        ("delivered", "photo of the backdrop"), ("failed", "no rooms left")]  # fmt: skip
    with pytest.raises(NotFound):
        world.when(request_benefit, RequestBenefit(package_id="icbc", benefit_no=3), at=T0)


# --- ad slots ---------------------------------------------------------------------------------


def test_an_exclusive_placement_is_never_held_twice_for_overlapping_days() -> None:
    world = desk()
    world.when(hold_slot, hold("b1", 0, 4), at=T0)
    with pytest.raises(Conflict) as refused:
        world.when(hold_slot, hold("b2", 4, 6), at=T0)
    assert refused.value.details["day"] == (DAY + timedelta(days=4)).isoformat()
    world.when(hold_slot, hold("b3", 5, 6), at=T0)  # the next days are free


def test_a_shared_placement_rotates_up_to_its_shares() -> None:
    world = desk()
    world.when(hold_slot, hold("b1", 0, 1, "carousel"), at=T0)
    world.when(hold_slot, hold("b2", 1, 2, "carousel"), at=T0)
    with pytest.raises(Conflict):
        world.when(hold_slot, hold("b3", 1, 1, "carousel"), at=T0)
    world.when(hold_slot, hold("b4", 2, 2, "carousel"), at=T0)


def test_a_lapsed_hold_frees_its_days_at_once_and_cannot_be_confirmed() -> None:
    world = desk()
    world.when(hold_slot, hold("b1", 0, 2), at=T0)
    later = T0 + timedelta(minutes=61)
    with pytest.raises(Conflict) as refused:
        world.when(confirm_booking, ConfirmBooking(booking_id="b1"), at=later)
    assert refused.value.code == "hold_lapsed"
    world.when(hold_slot, hold("b2", 1, 1), at=later)  # before the job released it
    assert world.when(lapse_hold, LapseHold(booking_id="b1"), at=later)


def test_a_confirmed_booking_is_priced_per_day() -> None:
    world = desk()
    world.when(hold_slot, hold("b1", 0, 2), at=T0)
    world.when(confirm_booking, ConfirmBooking(booking_id="b1"), at=T0)
    booking = world.state(BOOKING, booking_stream("b1"))
    assert (booking.status, booking.price_fen) == ("confirmed", 30_000)
    with pytest.raises(Conflict):  # a confirmed booking never lapses
        world.when(hold_slot, hold("b2", 2, 2), at=T0 + timedelta(days=30))


def test_an_unknown_placement_is_refused() -> None:
    with pytest.raises(NotFound) as refused:
        desk().when(hold_slot, hold("b1", 0, 1, "moon-billboard"), at=T0)
    assert refused.value.code == "unknown_placement"


def test_only_an_approved_version_is_served() -> None:
    world = desk()
    world.when(hold_slot, hold("b1", 0, 2), at=T0)
    creative = {"image_url": "https://cdn.example/a.png", "link_url": "https://icbc.example",
                "alt_text": "ICBC"}  # fmt: skip
    world.when(submit_creative, SubmitCreative(booking_id="b1", **creative), at=T0)
    assert serving(world.state(BOOKING, booking_stream("b1"))) is None
    world.when(
        review_creative,
        ReviewCreative(
            booking_id="b1", version=1, verdict="return", reason="logo too small", by="t"
        ),
        at=T0,
    )
    world.when(submit_creative, SubmitCreative(booking_id="b1", **creative), at=T0)
    world.when(review_creative, ReviewCreative(
        booking_id="b1", version=2, verdict="approve", by="t"), at=T0)  # fmt: skip
    world.when(submit_creative, SubmitCreative(booking_id="b1", **creative), at=T0)
    booking = world.state(BOOKING, booking_stream("b1"))
    served = serving(booking)
    assert served is not None and served.version == 2  # v3 waits for its review
    assert booking.creatives[0].reason == "logo too small"
    with pytest.raises(Forbidden):
        world.when(submit_creative, SubmitCreative(
            booking_id="b1", by_sponsor="someone-else", **creative), at=T0)  # fmt: skip
