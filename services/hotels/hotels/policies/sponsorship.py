"""Room blocks for sponsors' packages, asked by the sponsorship service through its events.

A policy over the `sponsorship.events` topic, run by the projection runner (its checkpoint,
its transaction, its retries). It decodes only `sponsorship.BenefitRequested`, with its own
model reading only the fields it uses, and acts on hotel-rooms benefits: it asks for a block
for the sponsor group, `quantity` rooms of the asked room type for the asked nights, with the
id `sponsorship:<package>:<benefit>` so the sponsorship service knows which benefit the block
serves when it reads `hotels.BlockCreated`, through `handlers.create_sponsor_block` (the
rules in `domain/sponsored.py`), which makes the block or records
`hotels.SponsorBlockRefused` with the hotels' own reason (no allotment for a night, an
unknown hotel or room type), which the sponsorship service shows on the sponsor's checklist.

Idempotent by the benefit and its attempt: a redelivered request finds its block (or its
refusal of that attempt) and changes nothing; the same benefit asked again after a refusal
(the next `attempt`) is tried afresh. It runs in the runner's transaction, atomically with
the consumed offset.
"""

from __future__ import annotations

from datetime import date

from fairline_events.envelope import Envelope
from fairline_events.policy import policy_commands
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from ..domain.commands import CreateSponsorBlock
from ..domain.events import registry as hotels_registry
from ..handlers import create_sponsor_block

consumed = EventRegistry()


class Stay(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    hotel_code: str
    room_type: str
    first_night: date
    last_night: date


@consumed.event("sponsorship.BenefitRequested", version=1)
class BenefitRequested(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    package_id: str
    benefit_no: int
    kind: str
    quantity: int
    sponsor_name: str = ""
    stay: Stay | None = None
    attempt: int = 1


sponsorship = Projection(
    name="hotels_sponsorship",
    topics=["sponsorship.events"],
    registry=consumed,
    tables_sql="SELECT 1;",
)


@sponsorship.on(BenefitRequested)
async def benefit_requested(e: BenefitRequested, env: Envelope, tx: ReadModel) -> None:
    if e.kind != "hotel_rooms" or e.stay is None:
        return
    command = CreateSponsorBlock(
        block_id=f"sponsorship:{e.package_id}:{e.benefit_no}", attempt=e.attempt,
        name=f"{e.sponsor_name or e.package_id} (sponsor package)",
        hotel_code=e.stay.hotel_code, room_type=e.stay.room_type, rooms=e.quantity,
        first_night=e.stay.first_night, last_night=e.stay.last_night,
    )  # fmt: skip
    commands = policy_commands(
        tx, hotels_registry, env, actor="system:sponsorship-policy", source="sponsorship"
    )
    await commands.run(create_sponsor_block, command)
