"""Room blocks for sponsors' packages, asked by the sponsorship service through its events.

A policy over the `sponsorship.events` topic, run by the projection runner (its checkpoint,
its transaction, its retries). It decodes only `sponsorship.BenefitRequested`, with its own
model reading only the fields it uses, and acts on hotel-rooms benefits: it creates a block
for the sponsor group, `quantity` rooms of the asked room type for the asked nights, with
the id `sponsorship:<package>:<benefit>` so the sponsorship service knows which benefit the
block serves when it reads `hotels.BlockCreated`. When the hotels' own rules refuse (no
allotment for a night, an unknown hotel or room type, a cut-off already past), it records
`hotels.SponsorBlockRefused` with the reason, which the sponsorship service shows on the
sponsor's checklist.

Idempotent: a redelivered request finds its block (or its refusal of that attempt) and
changes nothing; the same benefit asked again after a refusal (the next `attempt`) is tried
afresh.
Everything runs in the runner's transaction, atomically with the consumed offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from fairline_events.decider import Fold
from fairline_events.envelope import Envelope
from fairline_events.errors import DomainError
from fairline_events.policy import policy_commands
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from fairline_events.transact import Streams, command_handler
from pydantic import BaseModel, ConfigDict, ValidationError

from ..domain.blocks import block_stream
from ..domain.commands import CreateBlock
from ..domain.events import HotelsEvent
from ..domain.events import registry as hotels_registry
from ..handlers import create_block

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
CUT_OFF_DAYS = 7
"""A sponsor's block is released a week before its first night, unless that is past."""


# --- what the hotels service records: a sponsor's block it could not make ---------------------


@hotels_registry.event("hotels.SponsorBlockRefused")
class SponsorBlockRefused(HotelsEvent):
    """The block a sponsor's package asked for could not be made, and why."""

    block_id: str
    reason: str
    code: str
    attempt: int = 1
    """The request refused (a benefit asked again after a refusal is decided afresh)."""

    def stream_id(self) -> str:
        return refusal_stream(self.block_id)


def refusal_stream(block_id: str) -> str:
    return f"sponsor-request-{block_id}"


@dataclass(frozen=True)
class Refusal:
    attempts: frozenset[int] = frozenset()
    """The requests refused."""


def _evolve(state: Refusal, event: DomainEvent) -> Refusal:
    if isinstance(event, SponsorBlockRefused):
        return Refusal(state.attempts | {event.attempt})
    return state


REFUSAL: Fold[Refusal] = Fold(lambda stream_id: Refusal(), _evolve)


class RefuseSponsorBlock(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    block_id: str
    reason: str
    code: str
    attempt: int = 1


@command_handler
async def refuse_sponsor_block(command: RefuseSponsorBlock, streams: Streams) -> list[DomainEvent]:
    refusal = await streams(REFUSAL, refusal_stream(command.block_id))
    if command.attempt in refusal.attempts:
        return []
    return [SponsorBlockRefused(block_id=command.block_id, reason=command.reason,
                                code=command.code, attempt=command.attempt)]  # fmt: skip


# --- the sponsorship service's request, as this policy reads it -------------------------------

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


def cut_off(first_night: date, now: datetime) -> datetime:
    at = datetime.combine(first_night - timedelta(days=CUT_OFF_DAYS), time(18), BEIJING)
    return at if at > now else datetime.combine(first_night - timedelta(days=1), time(18), BEIJING)


@sponsorship.on(BenefitRequested)
async def benefit_requested(e: BenefitRequested, env: Envelope, tx: ReadModel) -> None:
    if e.kind != "hotel_rooms" or e.stay is None:
        return
    block_id = f"sponsorship:{e.package_id}:{e.benefit_no}"
    commands = policy_commands(
        tx, hotels_registry, env, actor="system:sponsorship-policy", source="sponsorship"
    )
    store, connection, context = commands.store, commands.connection, commands.context
    existing = await store.read_stream(block_stream(block_id), connection=connection)
    refused, _ = await store.load(refusal_stream(block_id), _evolve, Refusal(), connection)
    if existing or e.attempt in refused.attempts:
        return  # made, or this request refused, on an earlier delivery of it
    try:
        command = CreateBlock(
            block_id=block_id, hotel_code=e.stay.hotel_code, group="sponsor",
            name=f"{e.sponsor_name or e.package_id} (sponsor package)"[:200],
            first_night=e.stay.first_night, last_night=e.stay.last_night,
            rooms={e.stay.room_type: e.quantity},
            cut_off_at=cut_off(e.stay.first_night, context.clock()),
        )  # fmt: skip
        await commands.run(create_block, command)
    except (DomainError, ValidationError) as exc:
        code = exc.code if isinstance(exc, DomainError) else "invalid_request"
        refusal = RefuseSponsorBlock(block_id=block_id, reason=str(exc)[:1000], code=code,
                                     attempt=e.attempt)  # fmt: skip
        await commands.run(refuse_sponsor_block, refusal)
