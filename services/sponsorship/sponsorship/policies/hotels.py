"""Hotel rooms for sponsors, confirmed or refused by the hotels service.

A package's hotel-rooms benefit, once requested, is a `sponsorship.BenefitRequested` event
naming the stay; the hotels service's sponsorship policy turns it into a room block whose id
says which package and benefit it serves (`sponsorship:<package>:<benefit>`). This policy,
over the `hotels.events` topic, closes the loop: the block's `hotels.BlockCreated` marks the
benefit delivered (the block as proof), a `hotels.SponsorBlockRefused` marks it failed with
the hotels service's own reason. Both are commands on the package's stream in the runner's
transaction (atomic with the consumed offset) and idempotent, so a redelivery, a rebuild or a
restart of either side changes nothing twice.

It decodes only the events it needs, with its own models reading only the fields it uses.
"""

from __future__ import annotations

from typing import cast

import asyncpg
from fairline_events.context import CommandContext, continued_trace
from fairline_events.envelope import Envelope
from fairline_events.errors import DomainError
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.store import EventStore
from pydantic import ConfigDict

from ..domain.commands import DeliverBenefit, FailBenefit
from ..domain.events import registry as sponsorship_registry
from ..handlers import deliver_benefit, fail_benefit

BLOCK_PREFIX = "sponsorship:"

consumed = EventRegistry()


class Consumed(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    block_id: str


@consumed.event("hotels.BlockCreated", version=1)
class BlockCreated(Consumed):
    hotel_code: str
    first_night: str
    last_night: str
    rooms: dict[str, int]


@consumed.event("hotels.SponsorBlockRefused", version=1)
class SponsorBlockRefused(Consumed):
    reason: str
    code: str


hotels = Projection(
    name="sponsorship_hotels",
    topics=["hotels.events"],
    registry=consumed,
    tables_sql="SELECT 1;",
)


def block_id_for(package_id: str, benefit_no: int) -> str:
    return f"{BLOCK_PREFIX}{package_id}:{benefit_no}"


def _benefit_of(block_id: str) -> tuple[str, int] | None:
    """The package and benefit a sponsor's block serves; None for any other block."""
    if not block_id.startswith(BLOCK_PREFIX):
        return None
    package_id, _, number = block_id.removeprefix(BLOCK_PREFIX).rpartition(":")
    return (package_id, int(number)) if number.isdigit() and package_id else None


def _bound(tx: ReadModel) -> tuple[EventStore, asyncpg.Connection]:
    """The sponsorship event store inside the runner's transaction, and that transaction."""
    connection = cast(asyncpg.Connection, tx)  # the runner's pipeline forwards to it
    return EventStore(cast(asyncpg.Pool, connection), sponsorship_registry), connection


def _context(env: Envelope) -> CommandContext:
    return CommandContext(
        actor="system:hotels-policy",
        reason=f"{env.event_type} from the hotels service",
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
        trace_context=continued_trace(env.trace_context),
    )


@hotels.on(BlockCreated)
async def block_created(e: BlockCreated, env: Envelope, tx: ReadModel) -> None:
    served = _benefit_of(e.block_id)
    if served is None:
        return
    rooms = ", ".join(f"{n} {room_type}" for room_type, n in sorted(e.rooms.items()))
    proof = f"hotels block {e.block_id} at {e.hotel_code}: {rooms}, {e.first_night}–{e.last_night}"
    command = DeliverBenefit(package_id=served[0], benefit_no=served[1], proof=proof)
    store, connection = _bound(tx)
    try:
        await deliver_benefit(store, command, _context(env), connection=connection)
    except DomainError:  # a package cancelled meanwhile: nothing left to deliver
        return


@hotels.on(SponsorBlockRefused)
async def block_refused(e: SponsorBlockRefused, env: Envelope, tx: ReadModel) -> None:
    served = _benefit_of(e.block_id)
    if served is None:
        return
    command = FailBenefit(package_id=served[0], benefit_no=served[1], reason=e.reason[:1000])
    store, connection = _bound(tx)
    try:
        await fail_benefit(store, command, _context(env), connection=connection)
    except DomainError:
        return
