"""Hotel rooms for sponsors, confirmed or refused by the hotels service.

A package's hotel-rooms benefit, once requested, is a `sponsorship.BenefitRequested` event
naming the stay; the hotels service's sponsorship policy turns it into a room block whose id
says which package and benefit it serves (`sponsorship:<package>:<benefit>`). This policy,
over the `hotels.events` topic, closes the loop: the block's `hotels.BlockCreated` marks the
benefit delivered (the block as proof), a `hotels.SponsorBlockRefused` marks it failed with
the hotels service's own reason. Both settle the benefit through `answers.py`, in the runner's
transaction (atomic with the consumed offset) and idempotently, so a redelivery, a rebuild
or a restart of either side changes nothing twice.

It decodes only the events it needs, with its own models reading only the fields it uses.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import ConfigDict

from .answers import confirmed, refused

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
    attempt: int = 1


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


@hotels.on(BlockCreated)
async def block_created(e: BlockCreated, env: Envelope, tx: ReadModel) -> None:
    served = _benefit_of(e.block_id)
    if served is None:
        return
    rooms = ", ".join(f"{n} {room_type}" for room_type, n in sorted(e.rooms.items()))
    proof = f"hotels block {e.block_id} at {e.hotel_code}: {rooms}, {e.first_night}–{e.last_night}"
    await confirmed(tx, env, "hotels", package_id=served[0], benefit_no=served[1], proof=proof)


@hotels.on(SponsorBlockRefused)
async def block_refused(e: SponsorBlockRefused, env: Envelope, tx: ReadModel) -> None:
    served = _benefit_of(e.block_id)
    if served is None:
        return
    await refused(tx, env, "hotels", package_id=served[0], benefit_no=served[1], reason=e.reason,
                  attempt=e.attempt)  # fmt: skip
