"""One handler per command: read the streams its decision needs, then decide.

The rules live in `domain/`, one module per aggregate; a handler only says which streams a
command writes (`streams(...)`, `streams.all(...)`: locked, then read) and which it only
reads (`streams.peek(...)`), and passes each state to the decision by name. Every event
names its own stream (`SponsorshipEvent.stream_id`), so a handler returns the decision's
events as they are: a package's offer writes the package, its tier and its category in one
list, which reads as the rule does.
"""

from __future__ import annotations

from fairline_events.registry import DomainEvent
from fairline_events.transact import Streams, command_handler

from .domain import booking as bookings
from .domain import package as packages
from .domain import placement as placements
from .domain import tier as tiers
from .domain.booking import BOOKING, Booking, booking_stream
from .domain.category import CATEGORY, CategoryHolders, category_stream
from .domain.commands import (
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
    PayBooking,
    RecordPayment,
    ReleaseBooking,
    RequestBenefit,
    ReviewCreative,
    ReviseProof,
    SignContract,
    SubmitCreative,
    WithdrawBenefit,
)
from .domain.package import PACKAGE, Package, package_stream
from .domain.placement import PLACEMENT, placement_stream
from .domain.slot_day import SLOT_DAY, SlotDay
from .domain.tier import TIER, Tier, tier_stream

# --- tiers and packages ----------------------------------------------------------------------


@command_handler
async def define_tier(command: DefineTier, streams: Streams) -> list[DomainEvent]:
    tier = await streams(TIER, tier_stream(command.edition_code, command.tier_code))
    return tiers.define(command, tier=tier)


@command_handler
async def offer_package(command: OfferPackage, streams: Streams) -> list[DomainEvent]:
    """The tier's stream (quantity) and the category's (exclusivity) are locked with the
    package's: two sales people offering the same category queue, the second is refused."""
    package, tier, category = await streams.all(
        (PACKAGE, package_stream(command.package_id)),
        (TIER, tier_stream(command.edition_code, command.tier_code)),
        (CATEGORY, category_stream(command.edition_code, command.category)),
    )
    return packages.offer(command, package=package, tier=tier, category=category,
                          now=streams.now)  # fmt: skip


async def _with_places(streams: Streams, package_id: str) -> tuple[Package, Tier, CategoryHolders]:
    """A package, then the tier and category it holds places in (found from its state)."""
    package = packages.offered(await streams(PACKAGE, package_stream(package_id)))
    tier, category = await streams.all(
        (TIER, tier_stream(package.edition_code, package.tier_code)),
        (CATEGORY, category_stream(package.edition_code, package.category)),
    )
    return package, tier, category


@command_handler
async def sign_contract(command: SignContract, streams: Streams) -> list[DomainEvent]:
    package = await streams(PACKAGE, package_stream(command.package_id))
    return packages.sign(command, package=package, now=streams.now)


@command_handler
async def record_payment(command: RecordPayment, streams: Streams) -> list[DomainEvent]:
    package = await streams(PACKAGE, package_stream(command.package_id))
    return packages.pay(command, package=package, now=streams.now)


@command_handler
async def cancel_package(command: CancelPackage, streams: Streams) -> list[DomainEvent]:
    package, tier, category = await _with_places(streams, command.package_id)
    return packages.cancel(command, package=package, tier=tier, category=category)


@command_handler
async def expire_offer(command: ExpireOffer, streams: Streams) -> list[DomainEvent]:
    package, tier, category = await _with_places(streams, command.package_id)
    return packages.expire(command, package=package, tier=tier, category=category,
                           now=streams.now)  # fmt: skip


@command_handler
async def request_benefit(command: RequestBenefit, streams: Streams) -> list[DomainEvent]:
    package = await streams(PACKAGE, package_stream(command.package_id))
    return packages.request(command, package=package)


@command_handler
async def deliver_benefit(command: DeliverBenefit, streams: Streams) -> list[DomainEvent]:
    package = await streams(PACKAGE, package_stream(command.package_id))
    return packages.deliver(command, package=package)


@command_handler
async def fail_benefit(command: FailBenefit, streams: Streams) -> list[DomainEvent]:
    package = await streams(PACKAGE, package_stream(command.package_id))
    return packages.fail(command, package=package)


@command_handler
async def revise_proof(command: ReviseProof, streams: Streams) -> list[DomainEvent]:
    package = await streams(PACKAGE, package_stream(command.package_id))
    return packages.revise_proof(command, package=package)


@command_handler
async def withdraw_benefit(command: WithdrawBenefit, streams: Streams) -> list[DomainEvent]:
    package = await streams(PACKAGE, package_stream(command.package_id))
    return packages.withdraw(command, package=package)


# --- ad placements and bookings --------------------------------------------------------------


@command_handler
async def define_placement(command: DefinePlacement, streams: Streams) -> list[DomainEvent]:
    placement = await streams(
        PLACEMENT, placement_stream(command.edition_code, command.placement_code)
    )
    return placements.define(command, placement=placement)


@command_handler
async def hold_slot(command: HoldSlot, streams: Streams) -> list[DomainEvent]:
    """Every day of the range is locked: bookings of overlapping dates queue on their first
    common day (locks are taken in one global order, so none deadlock)."""
    placement = placements.known(
        await streams.peek(
            PLACEMENT, placement_stream(command.edition_code, command.placement_code)
        )
    )
    day_ids = bookings.day_streams(
        command.edition_code, command.placement_code, command.first_day, command.last_day
    )
    booking, *days = await streams.all(
        (BOOKING, booking_stream(command.booking_id)), *((SLOT_DAY, d) for d in day_ids)
    )
    return bookings.hold(command, booking=booking, placement=placement, days=days,
                         now=streams.now)  # fmt: skip


async def _with_days(streams: Streams, booking_id: str) -> tuple[Booking, list[SlotDay]]:
    booking = bookings.existing(await streams(BOOKING, booking_stream(booking_id)))
    days = await streams.all(*((SLOT_DAY, d) for d in booking.day_streams()))
    return booking, days


@command_handler
async def confirm_booking(command: ConfirmBooking, streams: Streams) -> list[DomainEvent]:
    booking, days = await _with_days(streams, command.booking_id)
    return bookings.confirm(booking=booking, days=days, now=streams.now)


@command_handler
async def pay_booking(command: PayBooking, streams: Streams) -> list[DomainEvent]:
    booking = await streams(BOOKING, booking_stream(command.booking_id))
    return bookings.pay(command, booking=booking)


@command_handler
async def release_booking(command: ReleaseBooking, streams: Streams) -> list[DomainEvent]:
    booking, days = await _with_days(streams, command.booking_id)
    return bookings.release(command, booking=booking, days=days)


@command_handler
async def lapse_hold(command: LapseHold, streams: Streams) -> list[DomainEvent]:
    booking, days = await _with_days(streams, command.booking_id)
    return bookings.lapse(booking=booking, days=days, now=streams.now)


@command_handler
async def submit_creative(command: SubmitCreative, streams: Streams) -> list[DomainEvent]:
    booking = await streams(BOOKING, booking_stream(command.booking_id))
    return bookings.submit(command, booking=booking)


@command_handler
async def review_creative(command: ReviewCreative, streams: Streams) -> list[DomainEvent]:
    booking = await streams(BOOKING, booking_stream(command.booking_id))
    return bookings.review(command, booking=booking)
