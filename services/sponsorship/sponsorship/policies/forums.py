"""A package's launch slot, booked or refused by the forums service.

The request is a `sponsorship.BenefitRequested` naming the sponsor's exhibitor, the day and
the title; the forums service's sponsorship policy books a launch in a launch hall that day
and answers on `forums.events`, each answer naming the package, the benefit and the request
it answers: `forums.SponsorLaunchBooked` delivers the benefit (the forum, hall and hour as
proof), `forums.SponsorLaunchRefused` fails it with the forums service's own reason.

It decodes only those two events, with its own models reading only the fields it uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from fairline_events.envelope import Envelope
from fairline_events.projection import Projection, ReadModel
from fairline_events.registry import DomainEvent, EventRegistry
from pydantic import ConfigDict

from .answers import confirmed, refused

FAIR_TIME = timezone(timedelta(hours=8), "Asia/Shanghai")

consumed = EventRegistry()


class Answer(DomainEvent):
    model_config = ConfigDict(frozen=True, extra="ignore")

    package_id: str
    benefit_no: int
    attempt: int


@consumed.event("forums.SponsorLaunchBooked", version=1)
class SponsorLaunchBooked(Answer):
    forum_id: str
    room_code: str
    starts_at: datetime
    ends_at: datetime


@consumed.event("forums.SponsorLaunchRefused", version=1)
class SponsorLaunchRefused(Answer):
    reason: str


forums = Projection(
    name="sponsorship_forums",
    topics=["forums.events"],
    registry=consumed,
    tables_sql="SELECT 1;",
)


@forums.on(SponsorLaunchBooked)
async def launch_booked(e: SponsorLaunchBooked, env: Envelope, tx: ReadModel) -> None:
    starts, ends = e.starts_at.astimezone(FAIR_TIME), e.ends_at.astimezone(FAIR_TIME)
    proof = (
        f"forums launch {e.forum_id} in {e.room_code}, {starts:%Y-%m-%d %H:%M}–{ends:%H:%M}"
        " (Beijing time)"
    )
    await confirmed(tx, env, "forums", package_id=e.package_id, benefit_no=e.benefit_no,
                    proof=proof, attempt=e.attempt)  # fmt: skip


@forums.on(SponsorLaunchRefused)
async def launch_refused(e: SponsorLaunchRefused, env: Envelope, tx: ReadModel) -> None:
    await refused(tx, env, "forums", package_id=e.package_id, benefit_no=e.benefit_no,
                  reason=e.reason, attempt=e.attempt)  # fmt: skip
