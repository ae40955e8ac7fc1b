"""Launch slots for sponsors' packages, asked by the sponsorship service through its events.

A policy over the `sponsorship.events` topic, run by the projection runner (its checkpoint,
its transaction, its retries). It decodes only `sponsorship.BenefitRequested`, with its own
model reading only the fields it uses, and acts on launch-slot benefits: it books a launch
for the sponsor's company through `handlers.book_sponsor_launch` (the rules in
`domain/sponsored.py`), which answers `forums.SponsorLaunchBooked` or
`forums.SponsorLaunchRefused` for the sponsorship service to read.

Idempotent by the benefit (package and number) and its attempt: a redelivered request finds
its answer and changes nothing. It runs in the runner's transaction, atomically with the
consumed offset, so a restart mid-way books the slot exactly once.
"""

from __future__ import annotations

from datetime import date

from fairline_events.envelope import Envelope
from fairline_events.policy import policy_commands
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import BaseModel, ConfigDict

from ..domain.commands import BookSponsorLaunch
from ..domain.events import registry as forums_registry
from ..handlers import book_sponsor_launch

consumed = EventRegistry()


class LaunchWish(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    day: date
    title_zh: str
    title_en: str


@consumed.event("sponsorship.BenefitRequested", version=1)
class BenefitRequested(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    package_id: str
    benefit_no: int
    kind: str
    sponsor_name: str = ""
    edition_code: str = ""
    exhibitor_id: str | None = None
    launch: LaunchWish | None = None
    attempt: int = 1


sponsorship = Projection(
    name="forums_sponsorship",
    topics=["sponsorship.events"],
    registry=consumed,
    tables_sql="SELECT 1;",
)


@sponsorship.on(BenefitRequested)
async def benefit_requested(e: BenefitRequested, env: Envelope, tx: ReadModel) -> None:
    if e.kind != "launch_slot" or e.launch is None or not e.exhibitor_id:
        return
    command = BookSponsorLaunch(
        package_id=e.package_id, benefit_no=e.benefit_no, attempt=e.attempt,
        edition_code=e.edition_code, exhibitor_id=e.exhibitor_id,
        sponsor_name=e.sponsor_name or e.package_id, day=e.launch.day,
        title_zh=e.launch.title_zh, title_en=e.launch.title_en,
    )  # fmt: skip
    commands = policy_commands(
        tx, forums_registry, env, actor="system:sponsorship-policy", source="sponsorship"
    )
    await commands.run(book_sponsor_launch, command)
