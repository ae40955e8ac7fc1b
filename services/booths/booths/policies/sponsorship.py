"""Booth discounts for sponsors' packages, asked by the sponsorship service through its events.

A policy over the `sponsorship.events` topic, run by the projection runner (its checkpoint,
its transaction, its retries). It decodes only `sponsorship.BenefitRequested`, with its own
model reading only the fields it uses, and acts on booth-discount benefits (the benefit's
quantity is the percent): it lowers the sponsor's booth contracts through
`handlers.grant_sponsor_discount` (the rules in `domain/discounts.py`), which answers
`booths.SponsorDiscountGranted` or `booths.SponsorDiscountRefused` for the sponsorship
service to read.

Idempotent by the benefit (package and number) and its attempt: a redelivered request finds
its answer and changes nothing. It runs in the runner's transaction, atomically with the
consumed offset, so a restart mid-way lowers the price exactly once.
"""

from __future__ import annotations

from fairline_events.envelope import Envelope
from fairline_events.policy import policy_commands
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import ConfigDict

from ..domain.commands import GrantSponsorDiscount
from ..domain.events import registry as booths_registry
from ..handlers import grant_sponsor_discount

consumed = EventRegistry()


@consumed.event("sponsorship.BenefitRequested", version=1)
class BenefitRequested(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    package_id: str
    benefit_no: int
    kind: str
    quantity: int
    sponsor_name: str = ""
    edition_code: str = ""
    exhibitor_id: str | None = None
    attempt: int = 1


sponsorship = Projection(
    name="booths_sponsorship",
    topics=["sponsorship.events"],
    registry=consumed,
    tables_sql="SELECT 1;",
)


@sponsorship.on(BenefitRequested)
async def benefit_requested(e: BenefitRequested, env: Envelope, tx: ReadModel) -> None:
    if e.kind != "booth_discount" or not e.exhibitor_id:
        return
    command = GrantSponsorDiscount(
        package_id=e.package_id, benefit_no=e.benefit_no, attempt=e.attempt,
        edition_code=e.edition_code, exhibitor_id=e.exhibitor_id,
        sponsor_name=e.sponsor_name or e.package_id, percent=e.quantity,
    )  # fmt: skip
    commands = policy_commands(
        tx, booths_registry, env, actor="system:sponsorship-policy", source="sponsorship"
    )
    await commands.run(grant_sponsor_discount, command)
